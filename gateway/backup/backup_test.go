package backup

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	asqlite "carebed/alerting/sqlite"
	"carebed/gateway/registry"
	"carebed/gateway/spool"
)

const ledger = "county,township,village,home_id,elder_name,address,lat,lon,device_id,device_kind,visitor_name,visitor_phone,doctor_name,doctor_phone,family_phone\n" +
	"和静县,巴伦台镇,巴伦台村,H-1,老人甲,地址甲,42.7,86.3,bed-0001,bed_sensor,探访员,13800000001,村医,13800000002,13900000003\n"

func user(name string) registry.User {
	return registry.User{Name: name, Display: name, Role: "county_admin", County: "和静县", Created: time.Now()}
}

// liveData makes a data folder with a registry (kept open, as a running gateway
// keeps it, with its WAL) and an alert store.
func liveData(t *testing.T) (string, *registry.Store) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "data")
	if err := os.MkdirAll(dir, 0o750); err != nil {
		t.Fatal(err)
	}
	reg, err := registry.Open(filepath.Join(dir, "registry.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { reg.Close() })
	if _, err := reg.Import(context.Background(), strings.NewReader(ledger), registry.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := reg.PutUser(context.Background(), user("before")); err != nil {
		t.Fatal(err)
	}
	al, err := asqlite.Open(filepath.Join(dir, "alerts.db"))
	if err != nil {
		t.Fatal(err)
	}
	al.Close()
	for _, name := range []string{"visits.db", "digest.db", "inspect.db"} {
		db, err := sql.Open("sqlite", filepath.Join(dir, name)) // any store: a backup copies it whole
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if _, err := db.Exec(`CREATE TABLE visits (home TEXT); INSERT INTO visits VALUES ('H-0001')`); err != nil {
			t.Fatal(err)
		}
	}
	return dir, reg
}

func TestTakeAndRestore(t *testing.T) {
	ctx := context.Background()
	data, reg := liveData(t)
	out := filepath.Join(t.TempDir(), "backup")
	taken, err := Take(ctx, data, out, time.Now())
	if err != nil || len(taken) != 5 {
		t.Fatalf("Take: %v %v", taken, err)
	}
	if err := reg.PutUser(ctx, user("after")); err != nil { // a change after the backup
		t.Fatal(err)
	}
	reg.Close()
	restored, err := Restore(ctx, out, data, time.Now())
	if err != nil || len(restored) != 5 {
		t.Fatalf("Restore: %v %v", restored, err)
	}
	reg, err = registry.Open(filepath.Join(data, "registry.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	if _, err := reg.User(ctx, "before"); err != nil {
		t.Errorf("data from before the backup: %v", err)
	}
	if _, err := reg.User(ctx, "after"); err == nil {
		t.Error("the restored registry has a user added after the backup")
	}
	if n, err := reg.Summary(ctx); err != nil || n.Devices != 1 {
		t.Errorf("restored registry: %+v %v", n, err)
	}
	for _, name := range []string{"visits.db", "digest.db", "inspect.db"} {
		db, err := sql.Open("sqlite", filepath.Join(data, name))
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		var home string
		if err := db.QueryRow(`SELECT home FROM visits`).Scan(&home); err != nil || home != "H-0001" {
			t.Errorf("restored %s: %q %v", name, home, err)
		}
	}
	old, _ := filepath.Glob(filepath.Join(data, "registry.db.before-restore-*"))
	if len(old) == 0 {
		t.Error("the replaced registry was not kept")
	}
}

func TestRestoreRefuses(t *testing.T) {
	ctx := context.Background()
	data, reg := liveData(t)
	out := filepath.Join(t.TempDir(), "backup")
	if _, err := Take(ctx, data, out, time.Now()); err != nil {
		t.Fatal(err)
	}
	reg.Close()

	sp, err := spool.Open(spool.Options{Dir: filepath.Join(data, "spool")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Restore(ctx, out, data, time.Now()); err == nil || !strings.Contains(err.Error(), "running") {
		t.Errorf("restore under a running gateway: %v", err)
	}
	sp.Close()

	b, _ := os.ReadFile(filepath.Join(out, "alerts.db"))
	b[len(b)/2] ^= 0xff
	if err := os.WriteFile(filepath.Join(out, "alerts.db"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Restore(ctx, out, data, time.Now()); err == nil || !strings.Contains(err.Error(), "manifest") {
		t.Errorf("restore of a damaged backup: %v", err)
	}
	if _, err := Take(ctx, data, out, time.Now()); err == nil {
		t.Error("Take wrote into an existing folder")
	}
	if _, err := Restore(ctx, t.TempDir(), data, time.Now()); err == nil {
		t.Error("restore from a folder that is no backup")
	}
}
