package digest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"carebed/internal/sqlitefile"
)

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
`, `
CREATE TABLE sms (
	id       INTEGER PRIMARY KEY,
	week     TEXT NOT NULL,
	phone    TEXT NOT NULL,
	home     TEXT NOT NULL,
	at_ms    INTEGER NOT NULL,
	failed   INTEGER NOT NULL,
	segments INTEGER NOT NULL
) STRICT;
CREATE INDEX sms_at ON sms(at_ms);
`}

// store is the digest database: who subscribed, which digests went out.
type store struct{ db *sql.DB }

// openStore opens (creating) the digest database at path and migrates it.
func openStore(path string) (*store, error) {
	db, err := sqlitefile.Open("digest", path, migrations)
	if err != nil {
		return nil, err
	}
	return &store{db: db}, nil
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

// logSMS records one digest SMS sent (or failed) with its segments: what the monthly
// report counts.
func (s *store) logSMS(ctx context.Context, week, phone, home string, failed bool, segments int, now time.Time) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO sms(week, phone, home, at_ms, failed, segments) VALUES (?, ?, ?, ?, ?, ?)`,
		week, phone, home, now.UnixMilli(), failed, segments)
	if err != nil {
		return fmt.Errorf("digest: sms: %w", err)
	}
	return nil
}

// smsBetween returns the digest SMS of [from, to): those logged, then the digests
// sent before the log was kept (sent rows without a log row), Old.
func (s *store) smsBetween(ctx context.Context, from, to time.Time) ([]SentSMS, error) {
	var out []SentSMS
	rows, err := s.db.QueryContext(ctx, `SELECT home, at_ms, failed, segments FROM sms WHERE at_ms >= ? AND at_ms < ?
		UNION ALL
		SELECT home, sent_ms, 0, 0 FROM sent t WHERE sent_ms >= ? AND sent_ms < ?
			AND NOT EXISTS (SELECT 1 FROM sms m WHERE m.week = t.week AND m.phone = t.phone AND m.home = t.home)
		ORDER BY 2`, from.UnixMilli(), to.UnixMilli(), from.UnixMilli(), to.UnixMilli())
	if err != nil {
		return nil, fmt.Errorf("digest: sms: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var m SentSMS
		var ms int64
		if err := rows.Scan(&m.Home, &ms, &m.Failed, &m.Segments); err != nil {
			return nil, fmt.Errorf("digest: sms: %w", err)
		}
		m.At, m.Old = time.UnixMilli(ms), m.Segments == 0
		out = append(out, m)
	}
	return out, rows.Err()
}

// FileName is the digest's database in the data folder.
const FileName = "digest.db"

// SentSMS is one digest SMS as the monthly report counts it.
type SentSMS struct {
	Home     string
	At       time.Time
	Failed   bool
	Segments int
	// Old: sent before the gateway logged digests with their outcome and segments;
	// only that it went out is known (failures were not kept).
	Old bool
}

// ReadSMS opens the digest's database in dataDir, if there is one, and returns the
// digest SMS of [from, to). No database: no digest was ever sent.
func ReadSMS(ctx context.Context, dataDir string, from, to time.Time) ([]SentSMS, error) {
	db, ok, err := sqlitefile.OpenIfExists("digest", filepath.Join(dataDir, FileName), migrations)
	if !ok {
		return nil, err
	}
	st := &store{db: db}
	defer st.close()
	return st.smsBetween(ctx, from, to)
}
