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
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
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
	if err := Connect(context.Background(), db); err != nil {
		return nil, errors.Join(fmt.Errorf("%s: open %q: %w", component, path, err), db.Close())
	}
	if err := migrate(context.Background(), db, migrations); err != nil {
		return nil, errors.Join(fmt.Errorf("%s: open %q: %w", component, path, err), db.Close())
	}
	return db, nil
}

// firstConnectWait bounds Connect's retries: the busy timeout every SQLite file of
// the program is opened with (busy_timeout(5000) in this dsnParams, the registry's
// and the alert store's).
const firstConnectWait = 5 * time.Second

// Connect opens db's first connection, and with it applies the DSN's pragmas, waiting
// out another connection (another goroutine or process) that is creating the same file.
// On a new file, PRAGMA journal_mode=WAL answers SQLITE_BUSY at once, without calling
// the busy handler, while another connection is turning that file to WAL; once the file
// is in WAL mode (which it keeps) the pragma changes nothing and never fails so. Connect
// retries a busy connect every few milliseconds for up to the busy timeout; any other
// error is returned at once.
func Connect(ctx context.Context, db *sql.DB) error {
	ctx, cancel := context.WithTimeout(ctx, firstConnectWait)
	defer cancel()
	for {
		err := db.PingContext(ctx)
		if err == nil || !busy(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return errors.Join(err, ctx.Err())
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// busy reports whether err is SQLite's SQLITE_BUSY (any extended code of it).
func busy(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_BUSY
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
