package registry

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"carebed/internal/sqldb"
)

// pgComponent is the registry's name in pgschema's schema_versions table.
const pgComponent = "registry"

// pgText is the type of every text column on PostgreSQL: compared and ordered byte
// by byte, as SQLite does, whatever collation the database was created with (lists
// and ledgers come out in the same order on both engines).
const pgText = `TEXT COLLATE "C"`

// pgMigrations are the PostgreSQL schema's versions in order: pgMigrations[i] takes
// it from version i to i+1 (kept by internal/pgschema). Append only; never edit one
// that has shipped. Version 1 is the SQLite schema at its version 7, with PostgreSQL's
// types: times are BIGINT Unix milliseconds, coordinates DOUBLE PRECISION, mobile a
// BOOLEAN, and tokens' user column quoted ("user" is a reserved word). Version 2 is
// SQLite's migration 8, the count of changes, with a trigger a statement rather than
// a row.
var pgMigrations = []string{strings.ReplaceAll(`
CREATE TABLE counties (
	name TEXT PRIMARY KEY
);
CREATE TABLE townships (
	county       TEXT NOT NULL REFERENCES counties(name),
	name         TEXT NOT NULL,
	clinic_phone TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (county, name)
);
CREATE TABLE villages (
	county   TEXT NOT NULL,
	township TEXT NOT NULL,
	name     TEXT NOT NULL,
	PRIMARY KEY (county, township, name),
	FOREIGN KEY (county, township) REFERENCES townships(county, name)
);
CREATE TABLE homes (
	id         TEXT PRIMARY KEY,
	county     TEXT NOT NULL,
	township   TEXT NOT NULL,
	village    TEXT NOT NULL,
	elder      TEXT NOT NULL,
	address    TEXT NOT NULL,
	lat        DOUBLE PRECISION,
	lon        DOUBLE PRECISION,
	care_group TEXT NOT NULL DEFAULT '',
	visit_days INTEGER NOT NULL DEFAULT 0,
	round_days INTEGER NOT NULL DEFAULT 0,
	mobile     BOOLEAN NOT NULL DEFAULT FALSE,
	FOREIGN KEY (county, township, village) REFERENCES villages(county, township, name)
);
CREATE INDEX homes_village ON homes(county, township, village);
CREATE TABLE contacts (
	home  TEXT NOT NULL REFERENCES homes(id) ON DELETE CASCADE,
	pos   INTEGER NOT NULL,
	role  TEXT NOT NULL,
	name  TEXT NOT NULL,
	phone TEXT NOT NULL,
	PRIMARY KEY (home, pos)
);
CREATE INDEX contacts_phone ON contacts(phone);
CREATE TABLE devices (
	id          TEXT PRIMARY KEY,
	home        TEXT NOT NULL REFERENCES homes(id),
	kind        TEXT NOT NULL,
	heartbeat_s INTEGER NOT NULL,
	phone       TEXT NOT NULL DEFAULT ''
);
CREATE INDEX devices_home ON devices(home);
CREATE INDEX devices_phone ON devices(phone) WHERE phone <> '';
CREATE TABLE credentials (
	principal  TEXT PRIMARY KEY,
	kind       TEXT NOT NULL CHECK (kind IN ('device', 'responder')),
	hash       TEXT NOT NULL,
	issued_ms  BIGINT NOT NULL,
	revoked_ms BIGINT
);
CREATE TABLE users (
	name        TEXT PRIMARY KEY,
	display     TEXT NOT NULL,
	role        TEXT NOT NULL,
	county      TEXT NOT NULL,
	township    TEXT NOT NULL DEFAULT '',
	village     TEXT NOT NULL DEFAULT '',
	phone       TEXT NOT NULL DEFAULT '',
	password    TEXT NOT NULL DEFAULT '',
	created_ms  BIGINT NOT NULL,
	disabled_ms BIGINT
);
CREATE TABLE tokens (
	hash       TEXT PRIMARY KEY,
	"user"     TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
	kind       TEXT NOT NULL CHECK (kind IN ('api', 'session')),
	label      TEXT NOT NULL DEFAULT '',
	created_ms BIGINT NOT NULL,
	expires_ms BIGINT NOT NULL
);
CREATE INDEX tokens_user ON tokens("user");
CREATE TABLE responders (
	phone      TEXT PRIMARY KEY,
	id         TEXT NOT NULL UNIQUE,
	legacy     INTEGER NOT NULL DEFAULT 0,
	created_ms BIGINT NOT NULL
);
CREATE TABLE positions (
	device      TEXT PRIMARY KEY,
	lat         DOUBLE PRECISION NOT NULL,
	lon         DOUBLE PRECISION NOT NULL,
	acc_m       DOUBLE PRECISION NOT NULL,
	fix_ms      BIGINT NOT NULL,
	received_ms BIGINT NOT NULL
);
`, " TEXT ", " "+pgText+" "), `
CREATE TABLE changes (
	id INTEGER PRIMARY KEY CHECK (id = 1),
	n  BIGINT NOT NULL
);
INSERT INTO changes (id, n) VALUES (1, 0);
CREATE FUNCTION registry_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	UPDATE changes SET n = n + 1;
	RETURN NULL;
END
$$;
CREATE TRIGGER homes_counted AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON homes
	FOR EACH STATEMENT EXECUTE FUNCTION registry_changed();
CREATE TRIGGER devices_counted AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON devices
	FOR EACH STATEMENT EXECUTE FUNCTION registry_changed();
CREATE TRIGGER contacts_counted AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON contacts
	FOR EACH STATEMENT EXECUTE FUNCTION registry_changed();
CREATE TRIGGER credentials_counted AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON credentials
	FOR EACH STATEMENT EXECUTE FUNCTION registry_changed();
`}

// writeLockKey is the PostgreSQL advisory lock every registry write transaction
// takes ("cbregist"): two gateways importing at once import one after the other.
const writeLockKey = 0x6362726567697374

// OpenPostgres connects to the PostgreSQL database at url (a postgres:// URL or a
// key=value string), brings the registry's schema up to date under pgschema's lock,
// refusing (pgschema.ErrNewerSchema) a schema newer than this program knows, and
// returns the registry kept there. Several gateways may share it.
func OpenPostgres(ctx context.Context, url string) (*Store, error) {
	db, err := sqldb.OpenPostgres(ctx, url, pgComponent, pgMigrations, writeLockKey)
	if err != nil {
		return nil, fmt.Errorf("registry: %w", err)
	}
	return &Store{db: db}, nil
}

// OpenConfigured opens the registry a gateway's configuration chooses: PostgreSQL at
// url when it is set (database.url), else SQLite at path (registry.path). The
// gateway and its commands (registry import, user ...) open it through here, so
// they always agree on where it is.
//
// On PostgreSQL, when the registry there is still empty and the SQLite file at path
// exists (a site that kept its registry in SQLite before setting database.url), its
// rows are copied over first, once (CopyFrom; the file is left as it was), and
// adopted reports how many.
func OpenConfigured(ctx context.Context, path, url string) (s *Store, adopted int, err error) {
	if url == "" {
		s, err = Open(path)
		return s, 0, err
	}
	s, err = OpenPostgres(ctx, url)
	if err != nil {
		return nil, 0, err
	}
	adopted, err = s.adoptSQLite(ctx, path)
	if err != nil {
		return nil, 0, errors.Join(fmt.Errorf("registry: copying %s into PostgreSQL: %w", path, err), s.Close())
	}
	return s, adopted, nil
}
