// Package pgschema runs the versioned schema migrations of carebed's PostgreSQL
// stores: each component (the alert store, the lease, later the registry) keeps its
// version in one table, schema_versions, and its migrations as a list of SQL
// scripts, append only. A database at a version newer than the code knows is refused
// (ErrNewerSchema), so an older gateway never writes to a schema it does not know.
package pgschema

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// ErrNewerSchema means the database was migrated by a newer gateway than this one.
var ErrNewerSchema = errors.New("the database's schema is newer than this gateway knows")

// lockKey is the key of the advisory lock that keeps two gateways starting at once
// from migrating together ("carebed" in ASCII, as a number).
const lockKey = 0x63617265626564

// Migrate brings component's schema up to len(steps): steps[i] takes it from version
// i to i+1, each in a transaction of its own under an advisory lock. It refuses (with
// ErrNewerSchema, changing nothing) a database at a version above len(steps).
func Migrate(ctx context.Context, pool *pgxpool.Pool, component string, steps []string) error {
	for {
		done, err := migrateOne(ctx, pool, component, steps)
		if err != nil || done {
			return err
		}
	}
}

// Version returns component's schema version (0: none yet).
func Version(ctx context.Context, q interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}, component string) (int, error) {
	var v int
	err := q.QueryRow(ctx, `SELECT version FROM schema_versions WHERE component = $1`, component).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	return v, err
}

// migrateOne applies the next missing step, if any, in one transaction, and reports
// whether the schema was already up to date.
func migrateOne(ctx context.Context, pool *pgxpool.Pool, component string, steps []string) (upToDate bool, err error) {
	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(lockKey)); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_versions (
			component TEXT PRIMARY KEY, version INTEGER NOT NULL, migrated_at TIMESTAMPTZ NOT NULL DEFAULT now())`); err != nil {
			return err
		}
		v, err := Version(ctx, tx, component)
		if err != nil {
			return err
		}
		switch {
		case v > len(steps):
			return fmt.Errorf("%w: %s schema version %d, this gateway knows up to %d; run the newer gateway "+
				"(or restore a backup taken before the upgrade)", ErrNewerSchema, component, v, len(steps))
		case v == len(steps):
			upToDate = true
			return nil
		}
		if _, err := tx.Exec(ctx, steps[v]); err != nil {
			return fmt.Errorf("%s migration %d: %w", component, v+1, err)
		}
		_, err = tx.Exec(ctx, `INSERT INTO schema_versions (component, version) VALUES ($1, $2)
			ON CONFLICT (component) DO UPDATE SET version = excluded.version, migrated_at = now()`, component, v+1)
		return err
	})
	return upToDate, err
}
