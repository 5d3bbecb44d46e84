package visits

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"carebed/internal/sqlitefile"
)

// migrations bring the visits database's user_version from i to i+1. Append only.
var migrations = []string{`
CREATE TABLE visits (
	id          INTEGER PRIMARY KEY,
	kind        TEXT NOT NULL CHECK (kind IN ('visit', 'round')),
	home        TEXT NOT NULL,
	county      TEXT NOT NULL,
	township    TEXT NOT NULL,
	village     TEXT NOT NULL,
	at_ms       INTEGER NOT NULL,
	source      TEXT NOT NULL,
	by_role     TEXT NOT NULL DEFAULT '',
	by_phone    TEXT NOT NULL DEFAULT '',
	device      TEXT NOT NULL DEFAULT '',
	seq         INTEGER,
	state       TEXT NOT NULL DEFAULT '',
	note        TEXT NOT NULL DEFAULT '',
	sbp         INTEGER,
	dbp         INTEGER,
	glucose     REAL,
	hr          INTEGER,
	confirmed   INTEGER NOT NULL DEFAULT 0,
	recorded_ms INTEGER NOT NULL
) STRICT;
CREATE INDEX visits_home ON visits(home, kind, at_ms);
CREATE UNIQUE INDEX visits_device_seq ON visits(device, seq) WHERE seq IS NOT NULL;
CREATE TABLE schedule_start (
	home TEXT NOT NULL,
	kind TEXT NOT NULL,
	day  INTEGER NOT NULL,
	PRIMARY KEY (home, kind)
) STRICT;
CREATE TABLE lists_sent (
	day     INTEGER NOT NULL,
	purpose TEXT NOT NULL,
	phone   TEXT NOT NULL,
	sent_ms INTEGER NOT NULL,
	PRIMARY KEY (day, purpose, phone)
) STRICT;
CREATE TABLE links (
	hash       TEXT PRIMARY KEY,
	phone      TEXT NOT NULL,
	kind       TEXT NOT NULL,
	expires_ms INTEGER NOT NULL
) STRICT;
`, `
CREATE TABLE list_sms (
	id       INTEGER PRIMARY KEY,
	day      INTEGER NOT NULL,
	purpose  TEXT NOT NULL,
	phone    TEXT NOT NULL,
	county   TEXT NOT NULL,
	township TEXT NOT NULL,
	at_ms    INTEGER NOT NULL,
	failed   INTEGER NOT NULL,
	segments INTEGER NOT NULL
) STRICT;
CREATE INDEX list_sms_at ON list_sms(at_ms);
`}

// Visit is one recorded visit or round. ByPhone and Note are personal data.
type Visit struct {
	ID                        int64
	Kind                      Kind
	Home                      string
	County, Township, Village string
	At                        time.Time
	Source                    string // sms, link, console, device
	ByRole, ByPhone           string
	Device                    string
	Seq                       uint64 // of a device check-in; 0 otherwise
	State                     State
	Note                      string
	Vitals                    Vitals
	Confirmed                 bool
}

// store is the visits database.
type store struct{ db *sql.DB }

// openStore opens (creating) the visits database at path and migrates it.
func openStore(path string) (*store, error) {
	db, err := sqlitefile.Open("visits", path, migrations)
	if err != nil {
		return nil, err
	}
	return &store{db: db}, nil
}

func (s *store) close() error { return s.db.Close() }

// nullInt and nullFloat write optional values.
func nullInt(p *int) any {
	if p == nil {
		return nil
	}
	return *p
}

func nullFloat(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}

// insert records a visit and returns its id; a device check-in already recorded
// (same device and seq) returns added false.
func (s *store) insert(ctx context.Context, v *Visit, now time.Time) (added bool, err error) {
	var seq any
	if v.Device != "" {
		seq = int64(v.Seq) //nolint:gosec // stored as the bit pattern; only compared
	}
	res, err := s.db.ExecContext(ctx, `INSERT INTO visits(kind, home, county, township, village, at_ms, source,
		by_role, by_phone, device, seq, state, note, sbp, dbp, glucose, hr, confirmed, recorded_ms)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
		string(v.Kind), v.Home, v.County, v.Township, v.Village, v.At.UnixMilli(), v.Source,
		v.ByRole, v.ByPhone, v.Device, seq, string(v.State), v.Note,
		nullInt(v.Vitals.SBP), nullInt(v.Vitals.DBP), nullFloat(v.Vitals.Glucose), nullInt(v.Vitals.HR),
		v.Confirmed, now.UnixMilli())
	if err != nil {
		return false, fmt.Errorf("visits: record: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return false, nil
	}
	v.ID, err = res.LastInsertId()
	return err == nil, err
}

// confirm marks a visit confirmed.
func (s *store) confirm(ctx context.Context, id int64) error {
	_, err := s.db.ExecContext(ctx, `UPDATE visits SET confirmed = 1 WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("visits: confirm %d: %w", id, err)
	}
	return nil
}

// visitCols are the columns scanVisit reads.
const visitCols = `id, kind, home, county, township, village, at_ms, source, by_role, by_phone, device,
	COALESCE(seq, 0), state, note, sbp, dbp, glucose, hr, confirmed`

func scanVisit(row interface{ Scan(...any) error }) (Visit, error) {
	var v Visit
	var at, seq int64
	var sbp, dbp, hr sql.NullInt64
	var g sql.NullFloat64
	err := row.Scan(&v.ID, &v.Kind, &v.Home, &v.County, &v.Township, &v.Village, &at, &v.Source, &v.ByRole,
		&v.ByPhone, &v.Device, &seq, &v.State, &v.Note, &sbp, &dbp, &g, &hr, &v.Confirmed)
	v.At, v.Seq = time.UnixMilli(at), uint64(seq) //nolint:gosec // the bit pattern stored
	for _, p := range []struct {
		n   sql.NullInt64
		dst **int
	}{{sbp, &v.Vitals.SBP}, {dbp, &v.Vitals.DBP}, {hr, &v.Vitals.HR}} {
		if p.n.Valid {
			x := int(p.n.Int64)
			*p.dst = &x
		}
	}
	if g.Valid {
		v.Vitals.Glucose = &g.Float64
	}
	return v, err
}

// list returns visits matching where, newest first.
func (s *store) list(ctx context.Context, where string, args ...any) ([]Visit, error) {
	return s.listN(ctx, -1, where, args...)
}

// listN is list with at most limit visits (-1: all).
func (s *store) listN(ctx context.Context, limit int, where string, args ...any) ([]Visit, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+visitCols+` FROM visits `+where+` ORDER BY at_ms DESC, id DESC LIMIT ?`,
		append(args, limit)...)
	if err != nil {
		return nil, fmt.Errorf("visits: list: %w", err)
	}
	defer rows.Close()
	var out []Visit
	for rows.Next() {
		v, err := scanVisit(rows)
		if err != nil {
			return nil, fmt.Errorf("visits: list: %w", err)
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// lastVisits returns the time of each home's latest visit or round, by kind.
func (s *store) lastVisits(ctx context.Context) (map[key]time.Time, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT home, kind, MAX(at_ms) FROM visits GROUP BY home, kind`)
	if err != nil {
		return nil, fmt.Errorf("visits: latest: %w", err)
	}
	defer rows.Close()
	out := map[key]time.Time{}
	for rows.Next() {
		var k key
		var at int64
		if err := rows.Scan(&k.home, &k.kind, &at); err != nil {
			return nil, fmt.Errorf("visits: latest: %w", err)
		}
		out[k] = time.UnixMilli(at)
	}
	return out, rows.Err()
}

// key is a home's schedule of one kind.
type key struct {
	home string
	kind Kind
}

// startDays returns the day each home's schedule began, recording today for those
// not seen before.
func (s *store) startDays(ctx context.Context, keys []key, today int) (map[key]int, error) {
	out := map[key]int{}
	err := inTx(ctx, s.db, func(tx *sql.Tx) error {
		for _, k := range keys {
			if _, err := tx.ExecContext(ctx, `INSERT INTO schedule_start(home, kind, day) VALUES (?, ?, ?)
				ON CONFLICT DO NOTHING`, k.home, string(k.kind), today); err != nil {
				return err
			}
		}
		rows, err := tx.QueryContext(ctx, `SELECT home, kind, day FROM schedule_start`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var k key
			var d int
			if err := rows.Scan(&k.home, &k.kind, &d); err != nil {
				return err
			}
			out[k] = d
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("visits: schedule start: %w", err)
	}
	return out, nil
}

// claimList records that the list of purpose for phone goes out on day; false when
// it already went.
func (s *store) claimList(ctx context.Context, day int, purpose, phone string, now time.Time) (bool, error) {
	res, err := s.db.ExecContext(ctx, `INSERT INTO lists_sent(day, purpose, phone, sent_ms) VALUES (?, ?, ?, ?)
		ON CONFLICT DO NOTHING`, day, purpose, phone, now.UnixMilli())
	if err != nil {
		return false, fmt.Errorf("visits: list sent: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// unclaimList forgets a list that could not be sent, so the next tick tries again.
func (s *store) unclaimList(ctx context.Context, day int, purpose, phone string) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM lists_sent WHERE day = ? AND purpose = ? AND phone = ?`, day, purpose, phone)
	return err
}

// logListSMS records one list SMS sent (or failed), with the township it is for
// and its segments: what the monthly report counts.
func (s *store) logListSMS(ctx context.Context, day int, purpose, phone, county, township string, failed bool,
	segments int, now time.Time) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO list_sms(day, purpose, phone, county, township, at_ms, failed, segments)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, day, purpose, phone, county, township, now.UnixMilli(), failed, segments)
	if err != nil {
		return fmt.Errorf("visits: list sms: %w", err)
	}
	return nil
}

// listSMS returns the list SMS of [from, to): those logged, then the lists sent
// before the log was kept (lists_sent rows without a log row), Unrecorded.
func (s *store) listSMS(ctx context.Context, from, to time.Time) ([]ListSMS, error) {
	var out []ListSMS
	rows, err := s.db.QueryContext(ctx, `SELECT purpose, county, township, at_ms, failed, segments FROM list_sms
		WHERE at_ms >= ? AND at_ms < ? ORDER BY at_ms, id`, from.UnixMilli(), to.UnixMilli())
	if err != nil {
		return nil, fmt.Errorf("visits: list sms: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var l ListSMS
		var ms int64
		if err := rows.Scan(&l.Purpose, &l.County, &l.Township, &ms, &l.Failed, &l.Segments); err != nil {
			return nil, fmt.Errorf("visits: list sms: %w", err)
		}
		l.At = time.UnixMilli(ms)
		out = append(out, l)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("visits: list sms: %w", err)
	}
	old, err := s.db.QueryContext(ctx, `SELECT purpose, sent_ms FROM lists_sent l WHERE sent_ms >= ? AND sent_ms < ?
		AND NOT EXISTS (SELECT 1 FROM list_sms m WHERE m.day = l.day AND m.purpose = l.purpose AND m.phone = l.phone)
		ORDER BY sent_ms`, from.UnixMilli(), to.UnixMilli())
	if err != nil {
		return nil, fmt.Errorf("visits: lists sent: %w", err)
	}
	defer old.Close()
	for old.Next() {
		l := ListSMS{Unrecorded: true}
		var ms int64
		if err := old.Scan(&l.Purpose, &ms); err != nil {
			return nil, fmt.Errorf("visits: lists sent: %w", err)
		}
		l.At = time.UnixMilli(ms)
		out = append(out, l)
	}
	return out, old.Err()
}

func inTx(ctx context.Context, db *sql.DB, f func(*sql.Tx) error) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := f(tx); err != nil {
		return errors.Join(err, tx.Rollback())
	}
	return tx.Commit()
}

// putLink stores a link's token hash for a phone and kind until expires, and drops
// the links that expired.
func (s *store) putLink(ctx context.Context, hash, phone string, kind Kind, expires, now time.Time) error {
	return inTx(ctx, s.db, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM links WHERE expires_ms < ?`, now.UnixMilli()); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO links(hash, phone, kind, expires_ms) VALUES (?, ?, ?, ?)`,
			hash, phone, string(kind), expires.UnixMilli())
		return err
	})
}

// link returns the phone, kind and expiry of a token hash; found false when unknown.
func (s *store) link(ctx context.Context, hash string) (phone string, kind Kind, expires time.Time, found bool, err error) {
	var ms int64
	err = s.db.QueryRowContext(ctx, `SELECT phone, kind, expires_ms FROM links WHERE hash = ?`, hash).Scan(&phone, &kind, &ms)
	if errors.Is(err, sql.ErrNoRows) {
		return "", "", time.Time{}, false, nil
	}
	return phone, kind, time.UnixMilli(ms), err == nil, err
}

// FileName is the visits' database in the data folder.
const FileName = "visits.db"

// ListSMS is one morning list SMS (due visits, due rounds, overdue homes to the
// clinic) as the monthly report counts it.
type ListSMS struct {
	Purpose string // visit_due, round_due, overdue
	// County and Township are where the list's homes are (most of them).
	County, Township string
	At               time.Time
	Failed           bool
	Segments         int
	// Unrecorded: sent before the gateway logged lists with their township, outcome
	// and segments; only that a list went out is known.
	Unrecorded bool
}

// ReadSMS opens the visits' database in dataDir, if there is one, and returns the
// list SMS of [from, to). No database: no lists were ever sent.
func ReadSMS(ctx context.Context, dataDir string, from, to time.Time) ([]ListSMS, error) {
	db, ok, err := sqlitefile.OpenIfExists("visits", filepath.Join(dataDir, FileName), migrations)
	if !ok {
		return nil, err
	}
	st := &store{db: db}
	defer st.close()
	return st.listSMS(ctx, from, to)
}
