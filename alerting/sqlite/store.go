// Package sqlite keeps alerts, their escalation schedule and their audit trail in
// SQLite (modernc.org/sqlite, WAL, synchronous=FULL: an alert is on disk before the
// message that raised it is acknowledged).
package sqlite

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	_ "modernc.org/sqlite" // the database/sql driver "sqlite"

	"carebed/alerting"
	"carebed/internal/sqlitefile"
)

const dsnParams = "?_pragma=busy_timeout(5000)&_pragma=foreign_keys(1)" +
	"&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_txlock=immediate"

const schema = `
CREATE TABLE IF NOT EXISTS alerts (
	id INTEGER PRIMARY KEY,
	code TEXT NOT NULL UNIQUE,
	kind TEXT NOT NULL,
	severity TEXT NOT NULL,
	state TEXT NOT NULL,
	county TEXT NOT NULL, township TEXT NOT NULL, village TEXT NOT NULL, home TEXT NOT NULL,
	device TEXT NOT NULL,
	event_at INTEGER NOT NULL, late_ms INTEGER NOT NULL,
	opened_at INTEGER NOT NULL, notified_at INTEGER NOT NULL DEFAULT 0,
	acked_at INTEGER NOT NULL DEFAULT 0, resolved_at INTEGER NOT NULL DEFAULT 0,
	acked_by TEXT NOT NULL DEFAULT '', ack_channel TEXT NOT NULL DEFAULT '',
	outcome TEXT NOT NULL DEFAULT '', note TEXT NOT NULL DEFAULT '',
	repeats INTEGER NOT NULL DEFAULT 0,
	hold_until INTEGER NOT NULL DEFAULT 0,
	next_step INTEGER NOT NULL DEFAULT 0,
	next_at INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX IF NOT EXISTS alerts_one_open ON alerts(home, kind) WHERE state != 'resolved';
CREATE INDEX IF NOT EXISTS alerts_due ON alerts(next_at) WHERE state IN ('pending', 'open', 'notified');
CREATE TABLE IF NOT EXISTS audit (
	id INTEGER PRIMARY KEY,
	alert_id INTEGER NOT NULL REFERENCES alerts(id),
	at INTEGER NOT NULL,
	what TEXT NOT NULL,
	actor TEXT NOT NULL DEFAULT '',
	channel TEXT NOT NULL DEFAULT '',
	detail TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS audit_alert ON audit(alert_id, id);
CREATE TABLE IF NOT EXISTS attempts (
	id INTEGER PRIMARY KEY,
	alert_id INTEGER NOT NULL REFERENCES alerts(id),
	step INTEGER NOT NULL,
	person_id TEXT NOT NULL,
	channel TEXT NOT NULL,
	purpose TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	status TEXT NOT NULL,
	provider_id TEXT NOT NULL DEFAULT '',
	error TEXT NOT NULL DEFAULT '',
	tries INTEGER NOT NULL DEFAULT 0,
	UNIQUE(alert_id, step, person_id, channel, purpose)
);
CREATE INDEX IF NOT EXISTS attempts_provider ON attempts(provider_id) WHERE provider_id != '';
CREATE INDEX IF NOT EXISTS attempts_channel ON attempts(channel, id);
CREATE TABLE IF NOT EXISTS device_conditions (
	device TEXT PRIMARY KEY,
	state BLOB NOT NULL,
	saved_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS links (
	id TEXT PRIMARY KEY,
	alert_id INTEGER NOT NULL REFERENCES alerts(id),
	person_id TEXT NOT NULL,
	expires_at INTEGER NOT NULL,
	used_at INTEGER NOT NULL DEFAULT 0
);
`

// Store is the alert store; it implements alerting.Store.
type Store struct {
	db    *sql.DB
	feed  feed
	stmts *stmts
}

var _ alerting.Store = (*Store)(nil)

// Open opens (creating) the store at path.
func Open(path string) (*Store, error) {
	db, err := sql.Open("sqlite", path+dsnParams)
	if err != nil {
		return nil, fmt.Errorf("alert store: %w", err)
	}
	db.SetMaxOpenConns(1) // one writer; reads are short
	if err := sqlitefile.Connect(context.Background(), db); err != nil {
		db.Close()
		return nil, fmt.Errorf("alert store %s: %w", path, err)
	}
	if _, err := db.Exec(schema + messageSchema); err != nil {
		db.Close()
		return nil, fmt.Errorf("alert store %s: %w", path, err)
	}
	return &Store{db: db, stmts: &stmts{db: db}}, nil
}

// Close closes the database.
func (s *Store) Close() error {
	s.stmts.close()
	return s.db.Close()
}

func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromMS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v)
}

// codeAlphabet leaves out letters people mix up (0/O, 1/I/L).
const codeAlphabet = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"

func newCode() string {
	var b [4]byte
	rand.Read(b[:]) //nolint:errcheck // never fails
	out := make([]byte, 4)
	for i, v := range b {
		out[i] = codeAlphabet[int(v)%len(codeAlphabet)]
	}
	return string(out)
}

const alertCols = `id, code, kind, severity, state, county, township, village, home, device,
	event_at, late_ms, opened_at, notified_at, acked_at, resolved_at, acked_by, ack_channel,
	outcome, note, repeats`

// alertColsQualified are alertCols for a query that joins alerts as "a".
var alertColsQualified = "a." + strings.ReplaceAll(strings.Join(strings.Fields(alertCols), " "), ", ", ", a.")

type scanner interface{ Scan(dest ...any) error }

// scanAlert scans the alertCols, then extra columns into extra.
func scanAlert(r scanner, extra ...any) (alerting.Alert, error) {
	var a alerting.Alert
	var eventAt, lateMS, opened, notified, acked, resolved int64
	dest := []any{&a.ID, &a.Code, &a.Kind, &a.Sev, &a.State, &a.Place.County, &a.Place.Township,
		&a.Place.Village, &a.Place.Home, &a.Device, &eventAt, &lateMS, &opened, &notified, &acked,
		&resolved, &a.AckedBy, &a.AckChannel, &a.Outcome, &a.Note, &a.Repeats}
	err := r.Scan(append(dest, extra...)...)
	if err != nil {
		return a, err
	}
	a.EventAt, a.LateBy = fromMS(eventAt), time.Duration(lateMS)*time.Millisecond
	a.OpenedAt, a.NotifiedAt, a.AckedAt, a.ResolvedAt = fromMS(opened), fromMS(notified), fromMS(acked), fromMS(resolved)
	return a, nil
}

// Alert returns one alert by id.
func (s *Store) Alert(ctx context.Context, id int64) (alerting.Alert, error) {
	a, err := scanAlert(s.queryRow(ctx, `SELECT `+alertCols+` FROM alerts WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return a, alerting.ErrNotFound
	}
	return a, err
}

// ByCode returns the open alert with the given short code (case-insensitive).
func (s *Store) ByCode(ctx context.Context, code string) (alerting.Alert, error) {
	a, err := scanAlert(s.queryRow(ctx, `SELECT `+alertCols+` FROM alerts WHERE code = ?`,
		strings.ToUpper(strings.TrimSpace(code))))
	if errors.Is(err, sql.ErrNoRows) {
		return a, alerting.ErrNotFound
	}
	return a, err
}

// OpenCounts counts the alerts not yet resolved by township and severity.
func (s *Store) OpenCounts(ctx context.Context) ([]alerting.OpenCount, error) {
	rows, err := s.query(ctx, `SELECT township, severity, COUNT(*) FROM alerts
		WHERE state != 'resolved' GROUP BY township, severity`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []alerting.OpenCount
	for rows.Next() {
		var c alerting.OpenCount
		if err := rows.Scan(&c.Township, &c.Severity, &c.N); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// List returns alerts matching f, newest first.
func (s *Store) List(ctx context.Context, f alerting.Filter) ([]alerting.Alert, error) {
	q := `SELECT ` + alertCols + ` FROM alerts WHERE 1=1`
	var args []any
	for _, c := range [...]struct{ col, v string }{{"county", f.County}, {"township", f.Township}, {"village", f.Village}} {
		if c.v != "" {
			q, args = q+` AND `+c.col+` = ?`, append(args, c.v)
		}
	}
	if f.State != "" {
		q, args = q+` AND state = ?`, append(args, string(f.State))
	}
	if f.Severity != "" {
		q, args = q+` AND severity = ?`, append(args, string(f.Severity))
	}
	if f.OpenOnly {
		q += ` AND state != 'resolved'`
	}
	if f.Limit <= 0 {
		f.Limit = 200
	}
	q, args = q+` ORDER BY opened_at DESC, id DESC LIMIT ?`, append(args, f.Limit)
	return s.alerts(ctx, q, args...)
}

// OpenedBetween returns the alerts opened in [from, to) in f's place, oldest first.
func (s *Store) OpenedBetween(ctx context.Context, f alerting.Filter, from, to time.Time) ([]alerting.Alert, error) {
	q := `SELECT ` + alertCols + ` FROM alerts WHERE opened_at >= ? AND opened_at < ?`
	args := []any{ms(from), ms(to)}
	for _, c := range [...]struct{ col, v string }{{"county", f.County}, {"township", f.Township}, {"village", f.Village}} {
		if c.v != "" {
			q, args = q+` AND `+c.col+` = ?`, append(args, c.v)
		}
	}
	return s.alerts(ctx, q+` ORDER BY opened_at, id`, args...)
}

// alerts runs a query of alertCols and scans every row.
func (s *Store) alerts(ctx context.Context, q string, args ...any) ([]alerting.Alert, error) {
	rows, err := s.query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []alerting.Alert
	for rows.Next() {
		a, err := scanAlert(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}
