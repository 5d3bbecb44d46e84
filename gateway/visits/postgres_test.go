package visits

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"carebed/alerting/policy"
)

// TestPostgresAdoptsSQLiteVisits: the first start on PostgreSQL of a site whose visits
// were in SQLite copies them over, once; a check-in recorded afterwards gets an id
// of its own.
func TestPostgresAdoptsSQLiteVisits(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, smallLedger, nil) // SQLite
	if _, _, err := f.svc.HandleSMS(ctx, visitorJia, "到 H-0001"); err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("%+v", f.visitsOf(t, "H-0001"))
	url := sharedPostgres(t).NewDatabase(t)
	open := func() *Service {
		t.Helper()
		svc, err := New(Options{Path: f.svc.o.Path, DatabaseURL: url, Homes: f.reg, Schedule: policy.Default().Visits(),
			Location: beijing, Registerer: prometheus.NewRegistry(), Now: f.clock.Now})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { svc.Close() })
		return svc
	}
	on := open()
	got, err := on.st.list(ctx, `WHERE home = ?`, "H-0001")
	if err != nil || fmt.Sprintf("%+v", got) != want {
		t.Fatalf("on PostgreSQL: %+v, %v\nin SQLite: %s", got, err, want)
	}
	if _, _, err := on.HandleSMS(ctx, visitorJia, "到 H-0002"); err != nil {
		t.Fatalf("a check-in after the copy: %v", err)
	}
	again := open()
	all, err := again.st.list(ctx, ``)
	if err != nil || len(all) != 2 || all[0].ID == all[1].ID {
		t.Errorf("after a second start: %+v, %v; want the copied visit and the new one, once each", all, err)
	}
}

// TestLinksKeptByTheRename: a visits database of schema version 1 keeps its one-tap
// links when migration 2 renames their table to visit_links (the name it has on
// PostgreSQL, beside the alert store's links).
func TestLinksKeptByTheRename(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "visits.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{migrations[0], "PRAGMA user_version = 1",
		`INSERT INTO links(hash, phone, kind, expires_ms) VALUES ('h1', '+8613800000001', 'visit', 4102444800000)`} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(q, err)
		}
	}
	db.Close()
	st, err := openStore(path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.close()
	if phone, kind, _, found, err := st.link(ctx, "h1"); err != nil || !found || phone != "+8613800000001" || kind != KindVisit {
		t.Errorf("link after the migration: %q %q %v %v", phone, kind, found, err)
	}
}
