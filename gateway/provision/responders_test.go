package provision

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"carebed/gateway/credential"
	"carebed/gateway/registry"
)

// oldResponderID is how responder ids were made before they were random: an
// unsalted hash of the phone, which anyone can recompute.
func oldResponderID(phone string) string {
	sum := sha256.Sum256([]byte("carebed-responder:" + phone))
	return "r-" + hex.EncodeToString(sum[:8])
}

var responderIDForm = regexp.MustCompile(`^r-[0-9a-f]{16}$`)

// A responder's id cannot be recomputed from the phone: two sites with the same
// ledger give the same phone different ids, neither the old hash.
func TestResponderIDsAreNotDerivedFromPhones(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 29, 8, 0, 0, 0, time.UTC)
	ids := map[string][]string{} // phone -> its id at each site
	for range 2 {
		issued, err := Responders(ctx, openRegistry(t), Options{Now: now})
		if err != nil || len(issued) != 3 {
			t.Fatalf("responders: %+v %v", issued, err)
		}
		for _, i := range issued {
			ids[i.Phone] = append(ids[i.Phone], i.Username)
		}
	}
	for phone, got := range ids {
		if len(got) != 2 || got[0] == got[1] || !responderIDForm.MatchString(got[0]) {
			t.Errorf("phone %s: ids %v, want two different random ids", phone, got)
		}
		for _, id := range got {
			if id == oldResponderID(phone) || strings.Contains(id, strings.TrimPrefix(phone, "+86")) {
				t.Errorf("phone %s: id %s is derived from the phone", phone, id)
			}
		}
	}
}

// downgrade makes the registry file at path look as it did before random responder
// ids (schema version 3: no responders table, nor the later care columns of homes).
func downgrade(t *testing.T, path string) {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// Undo migrations 4 (responders), 5 (care columns of homes), 6 (positions,
	// homes.mobile), 7 (devices.phone) and 8 (the count of changes).
	var undo8 strings.Builder
	for _, table := range []string{"homes", "devices", "contacts", "credentials"} {
		for _, op := range []string{"insert", "update", "delete"} {
			fmt.Fprintf(&undo8, "DROP TRIGGER %s_%s_counted; ", table, op)
		}
	}
	if _, err := db.Exec(undo8.String() + `DROP TABLE changes; DROP INDEX devices_phone; ALTER TABLE devices DROP COLUMN phone;
		DROP TABLE responders; ALTER TABLE homes DROP COLUMN care_group;
		ALTER TABLE homes DROP COLUMN visit_days; ALTER TABLE homes DROP COLUMN round_days;
		DROP TABLE positions; ALTER TABLE homes DROP COLUMN mobile;
		PRAGMA user_version = 3`); err != nil {
		t.Fatal(err)
	}
}

// A registry whose responder apps were provisioned with the old ids keeps them
// working after the upgrade (same username, same password, same topics) until the
// site rotates; the others get random ids.
func TestUpgradeKeepsProvisionedResponders(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 29, 8, 0, 0, 0, time.UTC)
	path := filepath.Join(t.TempDir(), "registry.db")
	reg, err := registry.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := reg.Import(ctx, strings.NewReader(ledger), registry.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	// Before the upgrade the doctor's app was provisioned, under the old id.
	const doctor, visitor = "+8613800000002", "+8613800000001"
	oldID, oldPassword := oldResponderID(doctor), credential.NewPassword()
	if err := reg.SetCredential(ctx, registry.Credential{Principal: oldID, Kind: registry.PrincipalResponder,
		Hash: credential.Hash(oldPassword), Issued: now}); err != nil {
		t.Fatal(err)
	}
	reg.Close()
	downgrade(t, path)

	for range 2 { // the upgrade, and a later restart
		if reg, err = registry.Open(path); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { reg.Close() })
		if id, err := reg.ResponderID(ctx, doctor); err != nil || id != oldID {
			t.Fatalf("the provisioned doctor's id after the upgrade: %s %v, want %s", id, err, oldID)
		}
	}
	if phone, err := reg.ResponderPhone(ctx, oldID); err != nil || phone != doctor {
		t.Errorf("the old id finds %q %v, want the doctor", phone, err)
	}
	if id, _ := reg.ResponderID(ctx, visitor); id == oldResponderID(visitor) || !responderIDForm.MatchString(id) {
		t.Errorf("a responder not yet provisioned got %s, want a random id", id)
	}
	issued, err := Responders(ctx, reg, Options{Now: now})
	if err != nil || len(issued) != 2 || strings.Contains(usernames(issued), oldID) {
		t.Fatalf("provisioning after the upgrade: %s %v, want the two others only", usernames(issued), err)
	}
	exported := exportedResponders(t, reg)
	if !credential.Verify(exported[oldID], oldPassword) {
		t.Errorf("the broker export lost the doctor's old login: %v", exported)
	}
	if legacy, _ := reg.LegacyResponderIDs(ctx); len(legacy) != 1 || legacy[0] != oldID {
		t.Errorf("legacy ids %v, want the doctor's", legacy)
	}

	// Rotating retires the old id: a new random id and password for everyone.
	rotated, err := Responders(ctx, reg, Options{Rotate: true, Now: now})
	if err != nil || len(rotated) != 3 || strings.Contains(usernames(rotated), oldID) {
		t.Fatalf("rotation: %s %v", usernames(rotated), err)
	}
	if _, ok := exportedResponders(t, reg)[oldID]; ok {
		t.Error("the retired old id is still exported")
	}
	if legacy, _ := reg.LegacyResponderIDs(ctx); len(legacy) != 0 {
		t.Errorf("legacy ids after rotation: %v", legacy)
	}
}

// exportedResponders maps the responder usernames of the broker export to their
// password hashes.
func exportedResponders(t *testing.T, reg *registry.Store) map[string]string {
	t.Helper()
	users, err := BrokerUsers(context.Background(), reg, "gateway", "gw-pw")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, u := range users {
		if strings.HasPrefix(u.ID, "r-") {
			out[u.ID] = u.Hash
		}
	}
	return out
}
