package sqlitefile

import (
	"context"
	"database/sql"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"carebed/internal/sqlitefile/opentest"
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

// Processes and goroutines opening one new file at once all open it: SQLite answers
// the first connections' PRAGMA journal_mode=WAL with SQLITE_BUSY, without waiting,
// while another is turning the file to WAL (about one round in eight of four openers
// failed before Connect), so the race is run many times over.
func TestOpenConcurrentlyOnANewFile(t *testing.T) {
	migrations := []string{`CREATE TABLE a (x INTEGER) STRICT;`}
	opentest.Concurrently(t, 40, 6, func(path string) (io.Closer, error) { return Open("test", path, migrations) })
}

// Connect gives up at once on what waiting cannot mend, such as a file in a folder
// that does not exist.
func TestConnectReturnsOtherErrorsAtOnce(t *testing.T) {
	db, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "missing", "x.db")+dsnParams)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	start := time.Now()
	err = Connect(context.Background(), db)
	if err == nil || busy(err) {
		t.Fatalf("Connect = %v, want the open's own error", err)
	}
	if waited := time.Since(start); waited > firstConnectWait/2 {
		t.Errorf("Connect waited %v on an error that is not SQLITE_BUSY", waited)
	}
}
