// Package postgres keeps alerts, their escalation schedule and their audit trail in
// PostgreSQL (github.com/jackc/pgx/v5): the same semantics as alerting/sqlite, for
// sites where several gateways share one database. A commit returns once PostgreSQL
// has it on disk (synchronous_commit on, the server's default), so an alert is durable
// before the message that raised it is acknowledged.
//
// Concurrency is PostgreSQL's own, not a lock in this process: transactions run at
// READ COMMITTED, a decision taken on a row's state locks the row first (SELECT ...
// FOR UPDATE) or is a single conditional UPDATE (PostgreSQL re-checks its WHERE
// against the committed row), and "one open alert per home and kind" and "one reply
// per MessageSid" are unique indexes. Two gateways sharing the database therefore
// never claim one escalation step twice, never open two alerts for one home and kind,
// and never act twice on one SMS reply.
package postgres

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"carebed/alerting"
)

// Store is the alert store; it implements alerting.Store.
type Store struct {
	pool *pgxpool.Pool
	feed feed
	// fence, when set, runs first in every write transaction and fails it when this
	// process may no longer write (see Options.Fence).
	fence func(ctx context.Context, tx pgx.Tx) error
}

var _ alerting.Store = (*Store)(nil)

// Options are the store's optional settings.
type Options struct {
	// Fence, when set, is called at the start of every write transaction, in it,
	// before anything is read or written; an error rolls the transaction back and is
	// returned to the writer. It is where a gateway of an active/standby pair checks
	// that its lease's fencing token is still the current one (for example
	// SELECT ... FROM lease WHERE token = $1 FOR SHARE), so a stale active that wakes
	// from a pause pages nobody and changes no alert. Nil: no check (one gateway).
	Fence func(ctx context.Context, tx pgx.Tx) error
}

// Open connects to the database at url (a PostgreSQL URL or key=value string),
// brings its schema up to date (refusing a schema newer than this code knows) and
// returns the store.
func Open(ctx context.Context, url string, o Options) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("alert store: database url: %w", redact(err))
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("alert store: %w", err)
	}
	if err := migrate(ctx, pool); err != nil {
		pool.Close()
		return nil, fmt.Errorf("alert store %s: %w", where(cfg), err)
	}
	return &Store{pool: pool, fence: o.Fence}, nil
}

// redact drops the text of a URL parse error, which may quote the password.
func redact(err error) error {
	if strings.Contains(err.Error(), "://") {
		return errors.New("cannot parse the URL (its text is left out: it may hold a password)")
	}
	return err
}

// where names the database for messages, without the password.
func where(cfg *pgxpool.Config) string {
	return fmt.Sprintf("postgres://%s@%s:%d/%s", cfg.ConnConfig.User, cfg.ConnConfig.Host,
		cfg.ConnConfig.Port, cfg.ConnConfig.Database)
}

// Close closes the connections.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
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

// scanAlert scans the alertCols, then extra columns into extra.
func scanAlert(r pgx.Row, extra ...any) (alerting.Alert, error) {
	var a alerting.Alert
	var kind, sev, state, outcome string
	var eventAt, lateMS, opened, notified, acked, resolved int64
	dest := []any{&a.ID, &a.Code, &kind, &sev, &state, &a.Place.County, &a.Place.Township,
		&a.Place.Village, &a.Place.Home, &a.Device, &eventAt, &lateMS, &opened, &notified, &acked,
		&resolved, &a.AckedBy, &a.AckChannel, &outcome, &a.Note, &a.Repeats}
	if err := r.Scan(append(dest, extra...)...); err != nil {
		return a, err
	}
	a.Kind, a.Sev, a.State, a.Outcome = alerting.Kind(kind), alerting.Severity(sev), alerting.State(state), alerting.Outcome(outcome)
	a.EventAt, a.LateBy = fromMS(eventAt), time.Duration(lateMS)*time.Millisecond
	a.OpenedAt, a.NotifiedAt, a.AckedAt, a.ResolvedAt = fromMS(opened), fromMS(notified), fromMS(acked), fromMS(resolved)
	return a, nil
}

func notFound(err error) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return alerting.ErrNotFound
	}
	return err
}

// Alert returns one alert by id.
func (s *Store) Alert(ctx context.Context, id int64) (alerting.Alert, error) {
	a, err := scanAlert(s.pool.QueryRow(ctx, `SELECT `+alertCols+` FROM alerts WHERE id = $1`, id))
	return a, notFound(err)
}

// ByCode returns the alert with the given short code (case-insensitive).
func (s *Store) ByCode(ctx context.Context, code string) (alerting.Alert, error) {
	a, err := scanAlert(s.pool.QueryRow(ctx, `SELECT `+alertCols+` FROM alerts WHERE code = $1`,
		strings.ToUpper(strings.TrimSpace(code))))
	return a, notFound(err)
}

// OpenAlert returns the open alert of a home and kind, or alerting.ErrNotFound.
func (s *Store) OpenAlert(ctx context.Context, home string, kind alerting.Kind) (alerting.Alert, error) {
	a, err := scanAlert(s.pool.QueryRow(ctx, `SELECT `+alertCols+` FROM alerts
		WHERE home = $1 AND kind = $2 AND state <> 'resolved'`, home, string(kind)))
	return a, notFound(err)
}

// OpenCounts counts the alerts not yet resolved by township and severity.
func (s *Store) OpenCounts(ctx context.Context) ([]alerting.OpenCount, error) {
	rows, err := s.pool.Query(ctx, `SELECT township, severity, COUNT(*) FROM alerts
		WHERE state <> 'resolved' GROUP BY township, severity`)
	if err != nil {
		return nil, err
	}
	return collect(rows, func(r pgx.CollectableRow) (alerting.OpenCount, error) {
		var c alerting.OpenCount
		var sev string
		err := r.Scan(&c.Township, &sev, &c.N)
		c.Severity = alerting.Severity(sev)
		return c, err
	})
}

// List returns alerts matching f, newest first.
func (s *Store) List(ctx context.Context, f alerting.Filter) ([]alerting.Alert, error) {
	q := `SELECT ` + alertCols + ` FROM alerts WHERE true`
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	for _, c := range [...]struct{ col, v string }{{"county", f.County}, {"township", f.Township}, {"village", f.Village}} {
		if c.v != "" {
			q += ` AND ` + c.col + ` = ` + arg(c.v)
		}
	}
	if f.State != "" {
		q += ` AND state = ` + arg(string(f.State))
	}
	if f.Severity != "" {
		q += ` AND severity = ` + arg(string(f.Severity))
	}
	if f.OpenOnly {
		q += ` AND state <> 'resolved'`
	}
	if f.Limit <= 0 {
		f.Limit = 200
	}
	q += ` ORDER BY opened_at DESC, id DESC LIMIT ` + arg(f.Limit)
	return s.alerts(ctx, q, args...)
}

// OpenedBetween returns the alerts opened in [from, to) in f's place, oldest first.
func (s *Store) OpenedBetween(ctx context.Context, f alerting.Filter, from, to time.Time) ([]alerting.Alert, error) {
	q := `SELECT ` + alertCols + ` FROM alerts WHERE opened_at >= $1 AND opened_at < $2`
	args := []any{ms(from), ms(to)}
	for _, c := range [...]struct{ col, v string }{{"county", f.County}, {"township", f.Township}, {"village", f.Village}} {
		if c.v != "" {
			args = append(args, c.v)
			q += fmt.Sprintf(" AND %s = $%d", c.col, len(args))
		}
	}
	return s.alerts(ctx, q+` ORDER BY opened_at, id`, args...)
}

// alerts runs a query of alertCols and scans every row.
func (s *Store) alerts(ctx context.Context, q string, args ...any) ([]alerting.Alert, error) {
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	return collect(rows, func(r pgx.CollectableRow) (alerting.Alert, error) { return scanAlert(r) })
}

// collect scans every row with f; nil when there are none, as alerting/sqlite returns.
func collect[T any](rows pgx.Rows, f pgx.RowToFunc[T]) ([]T, error) {
	out, err := pgx.CollectRows(rows, f)
	if len(out) == 0 {
		out = nil
	}
	return out, err
}
