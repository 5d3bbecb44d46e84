// Package sqlitefile opens the gateway's small SQLite databases (visits.db,
// digest.db, inspect.db): WAL, a busy timeout, immediate write transactions, and
// versioned migrations run at open that refuse a database newer than the program.
package sqlitefile

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"strings"

	_ "modernc.org/sqlite" // the SQLite driver
)

// dsnParams: concurrent readers beside one writer (WAL), writers wait for each other
// rather than fail, and every write transaction takes the write lock at BEGIN. NORMAL
// sync: these files are records kept beside the alert store, whose commits are FULL.
const dsnParams = "?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_txlock=immediate"

// Open opens (creating) the database at path and brings it to the last of
// migrations: migration i takes PRAGMA user_version from i to i+1, each in its own
// transaction. Errors start with component ("visits: open ...").
func Open(component, path string, migrations []string) (*sql.DB, error) {
	if path == "" || strings.ContainsRune(path, '?') {
		return nil, fmt.Errorf("%s: open %q: path must be a file name without '?'", component, path)
	}
	db, err := sql.Open("sqlite", path+dsnParams)
	if err != nil {
		return nil, fmt.Errorf("%s: open %q: %w", component, path, err)
	}
	if err := migrate(context.Background(), db, migrations); err != nil {
		return nil, errors.Join(fmt.Errorf("%s: open %q: %w", component, path, err), db.Close())
	}
	return db, nil
}

// migrate applies the migrations the database has not had yet.
func migrate(ctx context.Context, db *sql.DB, migrations []string) error {
	for {
		done, err := step(ctx, db, migrations)
		if err != nil || done {
			return err
		}
	}
}

// step applies the next migration, or reports done when there is none.
func step(ctx context.Context, db *sql.DB, migrations []string) (bool, error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return false, err
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	var v int
	if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return false, err
	}
	switch {
	case v > len(migrations):
		return false, fmt.Errorf("schema version %d is newer than this program's %d", v, len(migrations))
	case v == len(migrations):
		return true, nil
	}
	if _, err := tx.ExecContext(ctx, migrations[v]); err != nil {
		return false, fmt.Errorf("migration %d: %w", v+1, err)
	}
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", v+1)); err != nil {
		return false, err
	}
	return false, tx.Commit()
}

// OpenIfExists is Open for readers of another component's file (the monthly report
// reading visits.db): ok is false, and nothing is created, when there is no file.
func OpenIfExists(component, path string, migrations []string) (db *sql.DB, ok bool, err error) {
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return nil, false, nil
	}
	db, err = Open(component, path, migrations)
	return db, err == nil, err
}
