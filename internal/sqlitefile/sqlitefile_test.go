package sqlitefile

import (
	"path/filepath"
	"strings"
	"testing"
)

// A database is brought to the last migration once; reopened with fewer migrations
// (an older program) it is refused, naming both versions; a bad path is refused.
func TestOpenMigrates(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.db")
	two := []string{`CREATE TABLE a (x INTEGER) STRICT;`, `ALTER TABLE a ADD COLUMN y TEXT NOT NULL DEFAULT '';`}
	for range 2 { // the second open finds nothing to do
		db, err := Open("test", path, two)
		if err != nil {
			t.Fatal(err)
		}
		var v int
		if err := db.QueryRow("PRAGMA user_version").Scan(&v); err != nil || v != 2 {
			t.Fatalf("user_version %d %v, want 2", v, err)
		}
		if _, err := db.Exec(`INSERT INTO a (x, y) VALUES (1, 'y')`); err != nil {
			t.Fatal(err)
		}
		db.Close()
	}
	if _, err := Open("test", path, two[:1]); err == nil || !strings.Contains(err.Error(), "schema version 2 is newer than this program's 1") {
		t.Errorf("older program: %v", err)
	}
	if _, err := Open("test", path+"?mode=ro", two); err == nil || !strings.HasPrefix(err.Error(), "test: open") {
		t.Errorf("path with '?': %v", err)
	}
	bad := append(two, `NOT SQL`)
	if _, err := Open("test", path, bad); err == nil || !strings.Contains(err.Error(), "migration 3") {
		t.Errorf("bad migration: %v", err)
	}
}
