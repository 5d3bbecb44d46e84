package digest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// dsnParams: WAL, a busy timeout, and write transactions that lock when they begin.
const dsnParams = "?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_txlock=immediate"

// migrations bring the digest database's user_version from i to i+1. Append only.
var migrations = []string{`
CREATE TABLE subscriptions (
	phone      TEXT PRIMARY KEY,
	subscribed INTEGER NOT NULL,
	since_ms   INTEGER NOT NULL,
	changed_ms INTEGER NOT NULL
) STRICT;
CREATE TABLE sent (
	week    TEXT NOT NULL,
	phone   TEXT NOT NULL,
	home    TEXT NOT NULL,
	sent_ms INTEGER NOT NULL,
	PRIMARY KEY (week, phone, home)
) STRICT;
`}

// store is the digest database: who subscribed, which digests went out.
type store struct{ db *sql.DB }

// openStore opens (creating) the digest database at path and migrates it.
func openStore(path string) (*store, error) {
	if path == "" || strings.ContainsRune(path, '?') {
		return nil, fmt.Errorf("digest: open %q: path must be a file name without '?'", path)
	}
	db, err := sql.Open("sqlite", path+dsnParams)
	if err != nil {
		return nil, fmt.Errorf("digest: open %q: %w", path, err)
	}
	if err := migrate(context.Background(), db); err != nil {
		return nil, errors.Join(fmt.Errorf("digest: open %q: %w", path, err), db.Close())
	}
	return &store{db: db}, nil
}

func migrate(ctx context.Context, db *sql.DB) error {
	for {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		var v int
		if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
			tx.Rollback() //nolint:errcheck // reporting err
			return err
		}
		if v >= len(migrations) {
			tx.Rollback() //nolint:errcheck // nothing written
			if v > len(migrations) {
				return fmt.Errorf("schema version %d is newer than this program's %d", v, len(migrations))
			}
			return nil
		}
		if _, err := tx.ExecContext(ctx, migrations[v]); err != nil {
			tx.Rollback() //nolint:errcheck // reporting err
			return fmt.Errorf("migration %d: %w", v+1, err)
		}
		if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", v+1)); err != nil {
			tx.Rollback() //nolint:errcheck // reporting err
			return err
		}
		if err := tx.Commit(); err != nil {
			return err
		}
	}
}

func (s *store) close() error { return s.db.Close() }

// setSubscribed records a phone's choice. since (the time the current subscription
// began) changes only when a phone that was not subscribed subscribes.
func (s *store) setSubscribed(ctx context.Context, phone string, on bool, now time.Time) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO subscriptions(phone, subscribed, since_ms, changed_ms) VALUES (?, ?, ?, ?)
		ON CONFLICT (phone) DO UPDATE SET
			since_ms = CASE WHEN excluded.subscribed = 1 AND subscriptions.subscribed = 0 THEN excluded.since_ms ELSE subscriptions.since_ms END,
			subscribed = excluded.subscribed, changed_ms = excluded.changed_ms`,
		phone, on, now.UnixMilli(), now.UnixMilli())
	if err != nil {
		return fmt.Errorf("digest: subscription: %w", err)
	}
	return nil
}

// subscribedBefore returns the phones subscribed now whose subscription began at or
// before t.
func (s *store) subscribedBefore(ctx context.Context, t time.Time) (map[string]bool, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT phone FROM subscriptions WHERE subscribed = 1 AND since_ms <= ?`, t.UnixMilli())
	if err != nil {
		return nil, fmt.Errorf("digest: subscriptions: %w", err)
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var p string
		if err := rows.Scan(&p); err != nil {
			return nil, fmt.Errorf("digest: subscriptions: %w", err)
		}
		out[p] = true
	}
	return out, rows.Err()
}

// subscribed reports whether phone is subscribed now.
func (s *store) subscribed(ctx context.Context, phone string) (bool, error) {
	var on bool
	err := s.db.QueryRowContext(ctx, `SELECT subscribed FROM subscriptions WHERE phone = ?`, phone).Scan(&on)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("digest: subscription: %w", err)
	}
	return on, nil
}

// claim records that the week's digest of home goes to phone; false when it already
// went (or was claimed by a run that crashed: at most once).
func (s *store) claim(ctx context.Context, week, phone, home string, now time.Time) (bool, error) {
	res, err := s.db.ExecContext(ctx, `INSERT INTO sent(week, phone, home, sent_ms) VALUES (?, ?, ?, ?)
		ON CONFLICT DO NOTHING`, week, phone, home, now.UnixMilli())
	if err != nil {
		return false, fmt.Errorf("digest: sent: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// sentIn returns the (phone, home) pairs the week's digest went to.
func (s *store) sentIn(ctx context.Context, week string) (map[[2]string]bool, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT phone, home FROM sent WHERE week = ?`, week)
	if err != nil {
		return nil, fmt.Errorf("digest: sent: %w", err)
	}
	defer rows.Close()
	out := map[[2]string]bool{}
	for rows.Next() {
		var k [2]string
		if err := rows.Scan(&k[0], &k[1]); err != nil {
			return nil, fmt.Errorf("digest: sent: %w", err)
		}
		out[k] = true
	}
	return out, rows.Err()
}

// unclaim forgets a digest that could not be sent, so the next tick tries again.
func (s *store) unclaim(ctx context.Context, week, phone, home string) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM sent WHERE week = ? AND phone = ? AND home = ?`, week, phone, home)
	if err != nil {
		return fmt.Errorf("digest: sent: %w", err)
	}
	return nil
}
