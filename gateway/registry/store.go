package registry

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"carebed/internal/sqldb"
	"carebed/internal/sqlitefile"
)

// dsnParams are applied to every connection: WAL, synchronous=NORMAL, a busy timeout,
// foreign keys, and write transactions that take the write lock when they begin.
const dsnParams = "?_pragma=busy_timeout(5000)&_pragma=foreign_keys(1)" +
	"&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_txlock=immediate"

// Store is the registry in one SQLite database file (Open) or a PostgreSQL database
// (OpenPostgres). It is safe for concurrent use.
type Store struct {
	db *sqldb.DB
}

// Open opens the registry database at path, creating the file and bringing its schema
// up to date (tracked in PRAGMA user_version).
func Open(path string) (*Store, error) {
	if path == "" || strings.ContainsRune(path, '?') {
		return nil, fmt.Errorf("registry: open %q: path must be a file name without '?'", path)
	}
	db, err := sql.Open("sqlite", path+dsnParams)
	if err != nil {
		return nil, fmt.Errorf("registry: open %q: %w", path, err)
	}
	if err := sqlitefile.Connect(context.Background(), db); err != nil {
		return nil, errors.Join(fmt.Errorf("registry: open %q: %w", path, err), db.Close())
	}
	if err := migrate(context.Background(), db); err != nil {
		return nil, errors.Join(fmt.Errorf("registry: open %q: %w", path, err), db.Close())
	}
	c := sqldb.SQLite(db)
	if err := adoptLegacyResponders(context.Background(), c); err != nil {
		return nil, errors.Join(fmt.Errorf("registry: open %q: %w", path, err), db.Close())
	}
	return &Store{db: c}, nil
}

// Close closes the database.
func (s *Store) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("registry: close: %w", err)
	}
	return nil
}

// migrations are applied in order; migration i brings user_version from i to i+1.
// Append only: never edit a migration that has shipped. Migration 8 counts the
// changes to the tables the gateway's registry load reads (Changes).
var migrations = []string{`
CREATE TABLE counties (
	name TEXT PRIMARY KEY
) STRICT;
CREATE TABLE townships (
	county       TEXT NOT NULL REFERENCES counties(name),
	name         TEXT NOT NULL,
	clinic_phone TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (county, name)
) STRICT;
CREATE TABLE villages (
	county   TEXT NOT NULL,
	township TEXT NOT NULL,
	name     TEXT NOT NULL,
	PRIMARY KEY (county, township, name),
	FOREIGN KEY (county, township) REFERENCES townships(county, name)
) STRICT;
CREATE TABLE homes (
	id       TEXT PRIMARY KEY,
	county   TEXT NOT NULL,
	township TEXT NOT NULL,
	village  TEXT NOT NULL,
	elder    TEXT NOT NULL,
	address  TEXT NOT NULL,
	lat      REAL,
	lon      REAL,
	FOREIGN KEY (county, township, village) REFERENCES villages(county, township, name)
) STRICT;
CREATE INDEX homes_village ON homes(county, township, village);
CREATE TABLE contacts (
	home  TEXT NOT NULL REFERENCES homes(id) ON DELETE CASCADE,
	pos   INTEGER NOT NULL,
	role  TEXT NOT NULL,
	name  TEXT NOT NULL,
	phone TEXT NOT NULL,
	PRIMARY KEY (home, pos)
) STRICT;
CREATE TABLE devices (
	id          TEXT PRIMARY KEY,
	home        TEXT NOT NULL REFERENCES homes(id),
	kind        TEXT NOT NULL,
	heartbeat_s INTEGER NOT NULL
) STRICT;
CREATE INDEX devices_home ON devices(home);
`, `
CREATE TABLE credentials (
	principal  TEXT PRIMARY KEY,
	kind       TEXT NOT NULL CHECK (kind IN ('device', 'responder')),
	hash       TEXT NOT NULL,
	issued_ms  INTEGER NOT NULL,
	revoked_ms INTEGER
) STRICT;
`, `
CREATE TABLE users (
	name        TEXT PRIMARY KEY,
	display     TEXT NOT NULL,
	role        TEXT NOT NULL,
	county      TEXT NOT NULL,
	township    TEXT NOT NULL DEFAULT '',
	village     TEXT NOT NULL DEFAULT '',
	phone       TEXT NOT NULL DEFAULT '',
	password    TEXT NOT NULL DEFAULT '',
	created_ms  INTEGER NOT NULL,
	disabled_ms INTEGER
) STRICT;
CREATE TABLE tokens (
	hash       TEXT PRIMARY KEY,
	user       TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
	kind       TEXT NOT NULL CHECK (kind IN ('api', 'session')),
	label      TEXT NOT NULL DEFAULT '',
	created_ms INTEGER NOT NULL,
	expires_ms INTEGER NOT NULL
) STRICT;
CREATE INDEX tokens_user ON tokens(user);
`, `
CREATE TABLE responders (
	phone      TEXT PRIMARY KEY,
	id         TEXT NOT NULL UNIQUE,
	legacy     INTEGER NOT NULL DEFAULT 0,
	created_ms INTEGER NOT NULL
) STRICT;
`, `
ALTER TABLE homes ADD COLUMN care_group TEXT NOT NULL DEFAULT '';
ALTER TABLE homes ADD COLUMN visit_days INTEGER NOT NULL DEFAULT 0;
ALTER TABLE homes ADD COLUMN round_days INTEGER NOT NULL DEFAULT 0;
`, `
ALTER TABLE homes ADD COLUMN mobile INTEGER NOT NULL DEFAULT 0;
CREATE TABLE positions (
	device      TEXT PRIMARY KEY,
	lat         REAL NOT NULL,
	lon         REAL NOT NULL,
	acc_m       REAL NOT NULL,
	fix_ms      INTEGER NOT NULL,
	received_ms INTEGER NOT NULL
) STRICT;
`, `
ALTER TABLE devices ADD COLUMN phone TEXT NOT NULL DEFAULT '';
CREATE INDEX devices_phone ON devices(phone) WHERE phone <> '';
`, `
CREATE TABLE changes (
	id INTEGER PRIMARY KEY CHECK (id = 1),
	n  INTEGER NOT NULL
) STRICT;
INSERT INTO changes (id, n) VALUES (1, 0);
CREATE TRIGGER homes_insert_counted AFTER INSERT ON homes BEGIN UPDATE changes SET n = n + 1; END;
CREATE TRIGGER homes_update_counted AFTER UPDATE ON homes BEGIN UPDATE changes SET n = n + 1; END;
CREATE TRIGGER homes_delete_counted AFTER DELETE ON homes BEGIN UPDATE changes SET n = n + 1; END;
CREATE TRIGGER devices_insert_counted AFTER INSERT ON devices BEGIN UPDATE changes SET n = n + 1; END;
CREATE TRIGGER devices_update_counted AFTER UPDATE ON devices BEGIN UPDATE changes SET n = n + 1; END;
CREATE TRIGGER devices_delete_counted AFTER DELETE ON devices BEGIN UPDATE changes SET n = n + 1; END;
CREATE TRIGGER contacts_insert_counted AFTER INSERT ON contacts BEGIN UPDATE changes SET n = n + 1; END;
CREATE TRIGGER contacts_update_counted AFTER UPDATE ON contacts BEGIN UPDATE changes SET n = n + 1; END;
CREATE TRIGGER contacts_delete_counted AFTER DELETE ON contacts BEGIN UPDATE changes SET n = n + 1; END;
CREATE TRIGGER credentials_insert_counted AFTER INSERT ON credentials BEGIN UPDATE changes SET n = n + 1; END;
CREATE TRIGGER credentials_update_counted AFTER UPDATE ON credentials BEGIN UPDATE changes SET n = n + 1; END;
CREATE TRIGGER credentials_delete_counted AFTER DELETE ON credentials BEGIN UPDATE changes SET n = n + 1; END;
`}

// migrate applies the migrations the database has not had yet, each in its own
// transaction together with its user_version bump. The version is read inside the
// (immediate, so write-locked) transaction, so two processes opening a new file at
// once do not both apply the same migration.
func migrate(ctx context.Context, db *sql.DB) error {
	for {
		done, err := migrateStep(ctx, db)
		if err != nil || done {
			return err
		}
	}
}

// migrateStep applies the next migration, or reports done when there is none.
func migrateStep(ctx context.Context, db *sql.DB) (done bool, err error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("migrate: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	var version int
	if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return false, fmt.Errorf("read schema version: %w", err)
	}
	switch {
	case version > len(migrations):
		return false, fmt.Errorf("schema version %d is newer than this program's %d", version, len(migrations))
	case version == len(migrations):
		return true, nil
	}
	if _, err := tx.ExecContext(ctx, migrations[version]); err != nil {
		return false, fmt.Errorf("migration %d: %w", version+1, err)
	}
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", version+1)); err != nil {
		return false, fmt.Errorf("migration %d: set version: %w", version+1, err)
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("migration %d: commit: %w", version+1, err)
	}
	return false, nil
}
