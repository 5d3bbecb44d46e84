package inspect

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"time"

	"carebed/internal/sqldb"
)

// FileName is the draws' database in the data folder.
const FileName = "inspect.db"

// migrations bring the database's user_version from i to i+1. Append only.
var migrations = []string{`
CREATE TABLE draws (
	month    TEXT PRIMARY KEY,
	seed     TEXT NOT NULL,
	scope    TEXT NOT NULL,
	drawn_ms INTEGER NOT NULL
) STRICT;
CREATE TABLE drawn (
	month       TEXT NOT NULL REFERENCES draws(month),
	rank        INTEGER NOT NULL,
	home        TEXT NOT NULL,
	county      TEXT NOT NULL,
	township    TEXT NOT NULL,
	village     TEXT NOT NULL,
	unconfirmed INTEGER NOT NULL,
	overdue     INTEGER NOT NULL,
	slow        INTEGER NOT NULL,
	inspector   TEXT NOT NULL,
	unit        TEXT NOT NULL,
	outcome     TEXT NOT NULL DEFAULT '',
	note        TEXT NOT NULL DEFAULT '',
	result_by   TEXT NOT NULL DEFAULT '',
	result_ms   INTEGER,
	PRIMARY KEY (month, rank),
	UNIQUE (month, home)
) STRICT;
`, `
-- The names the PostgreSQL schema has, where the draws share a database.
ALTER TABLE draws RENAME TO inspect_draws;
ALTER TABLE drawn RENAME TO inspect_drawn;
`}

// pgMigrations are the PostgreSQL schema's versions (internal/pgschema, component
// "inspect"): the SQLite schema at its version 2 with PostgreSQL's types. Append
// only.
var pgMigrations = []string{`
CREATE TABLE inspect_draws (
	month    TEXT PRIMARY KEY,
	seed     TEXT NOT NULL,
	scope    TEXT NOT NULL,
	drawn_ms BIGINT NOT NULL
);
CREATE TABLE inspect_drawn (
	month       TEXT NOT NULL REFERENCES inspect_draws(month),
	rank        INTEGER NOT NULL,
	home        TEXT NOT NULL,
	county      TEXT NOT NULL,
	township    TEXT NOT NULL,
	village     TEXT NOT NULL,
	unconfirmed INTEGER NOT NULL,
	overdue     INTEGER NOT NULL,
	slow        INTEGER NOT NULL,
	inspector   TEXT NOT NULL,
	unit        TEXT NOT NULL,
	outcome     TEXT NOT NULL DEFAULT '',
	note        TEXT NOT NULL DEFAULT '',
	result_by   TEXT NOT NULL DEFAULT '',
	result_ms   BIGINT,
	PRIMARY KEY (month, rank),
	UNIQUE (month, home)
);
`}

// writeLockKey is the PostgreSQL advisory lock of the draws' write transactions.
const writeLockKey = 0x6362696e73706374

// Outcome is what an inspection found.
type Outcome string

// Outcomes of an inspection.
const (
	OutcomePending Outcome = ""     // not inspected yet
	OutcomePass    Outcome = "pass" // 合格
	OutcomeFix     Outcome = "fix"  // 限期整改: to be put right by a date
	OutcomeFail    Outcome = "fail" // 不合格
)

// Chinese is the outcome's name on the page and in the report.
func (o Outcome) Chinese() string {
	switch o {
	case OutcomePass:
		return "合格"
	case OutcomeFix:
		return "限期整改"
	case OutcomeFail:
		return "不合格"
	}
	return "待检查"
}

// ParseOutcome reads an outcome's key.
func ParseOutcome(s string) (Outcome, bool) {
	switch o := Outcome(s); o {
	case OutcomePass, OutcomeFix, OutcomeFail:
		return o, true
	}
	return "", false
}

// Result is an inspection's result.
type Result struct {
	Outcome Outcome
	Note    string
	By      string // the console user who entered it
	At      time.Time
}

// Entry is one home of a stored draw with its result.
type Entry struct {
	Drawn
	Result Result
}

// Record is a month's stored draw.
type Record struct {
	Month Month
	Seed  uint64
	// Scope is the county drawn from, empty for all.
	Scope   string
	DrawnAt time.Time
	Entries []Entry // in the order drawn
}

// Errors of the store.
var (
	ErrNotFound = errors.New("inspect: no draw for that month")
	// ErrDrawn: the month has a different draw stored already.
	ErrDrawn = errors.New("inspect: the month was drawn already, differently")
)

// Store is the draws' database: SQLite (inspect.db in the data folder) or
// PostgreSQL (database.url: both gateways of a pair and the command line see the
// same draws and results); the queries are written once (internal/sqldb).
type Store struct{ db *sqldb.DB }

// schema is the draws' database on either engine, and what a site moving to
// PostgreSQL copies from its inspect.db.
var schema = sqldb.Schema{Component: "inspect", SQLite: migrations, Postgres: pgMigrations, LockKey: writeLockKey,
	Tables: []sqldb.Table{
		{Name: "inspect_draws", Cols: "month, seed, scope, drawn_ms"},
		{Name: "inspect_drawn", Cols: "month, rank, home, county, township, village, unconfirmed, overdue, slow, " +
			"inspector, unit, outcome, note, result_by, result_ms"},
	}}

// Open opens (creating) the database: in PostgreSQL when databaseURL is set (an
// existing SQLite file at path is copied in once, and left as it was), else at path.
func Open(path, databaseURL string) (*Store, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	db, _, err := sqldb.OpenStore(ctx, databaseURL, path, schema)
	if err != nil {
		return nil, err
	}
	return &Store{db: db}, nil
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// Save stores a month's draw. The same draw again (same seed, scope, homes and
// inspectors: a check of a published draw) changes nothing; a different one is
// ErrDrawn.
func (s *Store) Save(ctx context.Context, r Record) error {
	old, err := s.Month(ctx, r.Month)
	switch {
	case errors.Is(err, ErrNotFound):
	case err != nil:
		return err
	case sameDraw(old, r):
		return nil
	default:
		return fmt.Errorf("%w (seed %d, %s)", ErrDrawn, old.Seed, old.DrawnAt.Format(time.DateTime))
	}
	err = s.db.Write(ctx, func(tx *sqldb.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO inspect_draws(month, seed, scope, drawn_ms) VALUES (?, ?, ?, ?)`,
			r.Month.String(), strconv.FormatUint(r.Seed, 10), r.Scope, r.DrawnAt.UnixMilli()); err != nil {
			return err
		}
		for i, e := range r.Entries {
			p := e.Place
			if _, err := tx.ExecContext(ctx, `INSERT INTO inspect_drawn(month, rank, home, county, township, village,
				unconfirmed, overdue, slow, inspector, unit) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				r.Month.String(), i, p.Home, p.County, p.Township, p.Village, e.Unconfirmed, e.Overdue, e.Slow,
				e.Inspector.Name, e.Inspector.Unit); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("inspect: save: %w", err)
	}
	return nil
}

// sameDraw compares what a draw chose, not when it was made or the results.
func sameDraw(a, b Record) bool {
	if a.Seed != b.Seed || a.Scope != b.Scope || len(a.Entries) != len(b.Entries) {
		return false
	}
	for i := range a.Entries {
		if a.Entries[i].Drawn != b.Entries[i].Drawn {
			return false
		}
	}
	return true
}

// Month returns a month's draw with the results entered so far, or ErrNotFound.
func (s *Store) Month(ctx context.Context, m Month) (Record, error) {
	r := Record{Month: m}
	var seed string
	var drawn int64
	err := s.db.QueryRowContext(ctx, `SELECT seed, scope, drawn_ms FROM inspect_draws WHERE month = ?`, m.String()).
		Scan(&seed, &r.Scope, &drawn)
	if errors.Is(err, sql.ErrNoRows) {
		return r, ErrNotFound
	}
	if err != nil {
		return r, fmt.Errorf("inspect: %w", err)
	}
	r.Seed, _ = strconv.ParseUint(seed, 10, 64)
	r.DrawnAt = time.UnixMilli(drawn)
	rows, err := s.db.QueryContext(ctx, `SELECT home, county, township, village, unconfirmed, overdue, slow,
		inspector, unit, outcome, note, result_by, result_ms FROM inspect_drawn WHERE month = ? ORDER BY rank`, m.String())
	if err != nil {
		return r, fmt.Errorf("inspect: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var e Entry
		var at sql.NullInt64
		p := &e.Place
		if err := rows.Scan(&p.Home, &p.County, &p.Township, &p.Village, &e.Unconfirmed, &e.Overdue, &e.Slow,
			&e.Inspector.Name, &e.Inspector.Unit, &e.Result.Outcome, &e.Result.Note, &e.Result.By, &at); err != nil {
			return r, fmt.Errorf("inspect: %w", err)
		}
		if at.Valid {
			e.Result.At = time.UnixMilli(at.Int64)
		}
		r.Entries = append(r.Entries, e)
	}
	return r, rows.Err()
}

// SetResult records the result of a drawn home's inspection (again: the new one
// replaces it). ErrNotFound when the home was not drawn that month.
func (s *Store) SetResult(ctx context.Context, m Month, home string, r Result) error {
	if _, ok := ParseOutcome(string(r.Outcome)); !ok {
		return fmt.Errorf("inspect: outcome %q: want pass, fix or fail", r.Outcome)
	}
	res, err := s.db.ExecContext(ctx, `UPDATE inspect_drawn SET outcome = ?, note = ?, result_by = ?, result_ms = ?
		WHERE month = ? AND home = ?`, string(r.Outcome), r.Note, r.By, r.At.UnixMilli(), m.String(), home)
	if err != nil {
		return fmt.Errorf("inspect: result: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// ReadMonth returns a month's draw with its results, what the monthly report shows,
// from PostgreSQL when databaseURL is set, else from the draws' database in dataDir,
// if there is one. ErrNotFound when the month was not drawn (or nothing ever was).
func ReadMonth(ctx context.Context, dataDir, databaseURL string, m Month) (Record, error) {
	db, ok, err := sqldb.OpenToRead(ctx, databaseURL, filepath.Join(dataDir, FileName), schema)
	switch {
	case err != nil:
		return Record{Month: m}, err
	case !ok:
		return Record{Month: m}, ErrNotFound
	}
	s := &Store{db: db}
	defer s.Close()
	return s.Month(ctx, m)
}
