// Package sqldb lets a store keep one implementation of its queries for SQLite and
// PostgreSQL behind database/sql: the queries are written once, with ? placeholders
// and SQL both engines read alike, and DB rewrites the placeholders to $1, $2 ... for
// PostgreSQL (once per query text, cached), makes each write transaction take the
// store's advisory lock (so writers queue as on SQLite's write lock), and gives
// read transactions one snapshot. The gateway's registry, visits, family digest and
// inspection draws use it.
package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"

	"carebed/internal/pgschema"
	"carebed/internal/sqlitefile"
)

// DB is a store's database, SQLite or PostgreSQL. It is safe for concurrent use.
type DB struct {
	db *sql.DB
	pg bool
	// lockKey is the advisory lock every write transaction takes on PostgreSQL.
	lockKey int64
	// pool is PostgreSQL's connection pool under db (nil on SQLite).
	pool *pgxpool.Pool
	// rebound caches the PostgreSQL text of each query (string to string).
	rebound sync.Map
}

// SQLite wraps a SQLite database whose write transactions lock when they begin
// (modernc's _txlock=immediate).
func SQLite(db *sql.DB) *DB { return &DB{db: db} }

// SQL returns the database/sql handle, for what only one engine does (its
// migrations, PRAGMA).
func (c *DB) SQL() *sql.DB { return c.db }

// Postgres reports whether the database is PostgreSQL.
func (c *DB) Postgres() bool { return c.pg }

// query returns q in the engine's dialect.
func (c *DB) query(q string) string {
	if !c.pg {
		return q
	}
	if v, ok := c.rebound.Load(q); ok {
		return v.(string)
	}
	r := rebind(q)
	c.rebound.Store(q, r)
	return r
}

// rebind rewrites the ? placeholders of q to $1, $2 ..., leaving alone what is
// inside quotes ('text', "identifier") and comments.
func rebind(q string) string {
	var b strings.Builder
	b.Grow(len(q) + 16)
	n := 0
	for i := 0; i < len(q); i++ {
		ch := q[i]
		switch {
		case ch == '\'' || ch == '"':
			end := strings.IndexByte(q[i+1:], ch)
			if end < 0 {
				b.WriteString(q[i:])
				return b.String()
			}
			b.WriteString(q[i : i+end+2])
			i += end + 1
		case ch == '-' && strings.HasPrefix(q[i:], "--"):
			end := strings.IndexByte(q[i:], '\n')
			if end < 0 {
				b.WriteString(q[i:])
				return b.String()
			}
			b.WriteString(q[i : i+end+1])
			i += end
		case ch == '?':
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
		default:
			b.WriteByte(ch)
		}
	}
	return b.String()
}

// ExecContext runs a statement outside a transaction.
func (c *DB) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return c.db.ExecContext(ctx, c.query(q), args...)
}

// QueryContext runs a query outside a transaction.
func (c *DB) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return c.db.QueryContext(ctx, c.query(q), args...)
}

// QueryRowContext runs a one-row query outside a transaction.
func (c *DB) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	return c.db.QueryRowContext(ctx, c.query(q), args...)
}

// BeginWrite starts a write transaction: on SQLite it holds the write lock from its
// start (the DSN's _txlock=immediate), on PostgreSQL it takes the store's advisory
// lock first, released at its end.
func (c *DB) BeginWrite(ctx context.Context) (*Tx, error) {
	t, err := c.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	if c.pg {
		if _, err := t.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, c.lockKey); err != nil {
			t.Rollback() //nolint:errcheck // the lock's error is the one to report
			return nil, fmt.Errorf("write lock: %w", err)
		}
	}
	return &Tx{Tx: t, c: c}, nil
}

// BeginRead starts a read-only transaction that sees one snapshot of the database
// (SQLite's transactions always do; PostgreSQL's need REPEATABLE READ).
func (c *DB) BeginRead(ctx context.Context) (*Tx, error) {
	opts := &sql.TxOptions{ReadOnly: true}
	if c.pg {
		opts.Isolation = sql.LevelRepeatableRead
	}
	t, err := c.db.BeginTx(ctx, opts)
	if err != nil {
		return nil, err
	}
	return &Tx{Tx: t, c: c}, nil
}

// Tx is a transaction of DB, taking queries in the one dialect.
type Tx struct {
	*sql.Tx
	c *DB
}

// ExecContext runs a statement in the transaction.
func (t *Tx) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return t.Tx.ExecContext(ctx, t.c.query(q), args...)
}

// QueryContext runs a query in the transaction.
func (t *Tx) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return t.Tx.QueryContext(ctx, t.c.query(q), args...)
}

// QueryRowContext runs a one-row query in the transaction.
func (t *Tx) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	return t.Tx.QueryRowContext(ctx, t.c.query(q), args...)
}

// PrepareContext prepares a statement in the transaction.
func (t *Tx) PrepareContext(ctx context.Context, q string) (*sql.Stmt, error) {
	return t.Tx.PrepareContext(ctx, t.c.query(q))
}

// Close closes the database.
func (c *DB) Close() error {
	err := c.db.Close()
	if c.pool != nil {
		c.pool.Close()
	}
	return err
}

// OpenPostgres connects to the PostgreSQL database at url (a postgres:// URL or a
// key=value string), brings component's schema up to date with pgschema (refusing,
// with pgschema.ErrNewerSchema, a schema newer than migrations) and returns the
// database, whose write transactions take the advisory lock lockKey. Its errors
// name the database without the password.
func OpenPostgres(ctx context.Context, url, component string, migrations []string, lockKey int64) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		if strings.Contains(err.Error(), "://") {
			err = errors.New("cannot parse the URL (its text is left out: it may hold a password)")
		}
		return nil, fmt.Errorf("database url: %w", err)
	}
	where := fmt.Sprintf("postgres://%s@%s:%d/%s", cfg.ConnConfig.User, cfg.ConnConfig.Host,
		cfg.ConnConfig.Port, cfg.ConnConfig.Database)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	if err := pgschema.Migrate(ctx, pool, component, migrations); err != nil {
		pool.Close()
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	return &DB{db: stdlib.OpenDBFromPool(pool), pg: true, lockKey: lockKey, pool: pool}, nil
}

// CopyTable copies every row of table (the columns cols, comma-separated) from src
// into tx, and returns how many it copied: a site moving a store from SQLite to
// PostgreSQL. The columns named in bools hold SQLite's 0/1 and become PostgreSQL's
// BOOLEAN.
func CopyTable(ctx context.Context, src *DB, tx *Tx, table, cols string, bools ...string) (int, error) {
	names := strings.Split(cols, ", ")
	ins, err := tx.PrepareContext(ctx, "INSERT INTO "+table+" ("+cols+") VALUES (?"+strings.Repeat(", ?", len(names)-1)+")")
	if err != nil {
		return 0, err
	}
	defer ins.Close()
	rows, err := src.QueryContext(ctx, "SELECT "+cols+" FROM "+table)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	vals := make([]any, len(names))
	ptrs := make([]any, len(names))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	n := 0
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return n, err
		}
		if tx.c.pg {
			for i, name := range names {
				if v, ok := vals[i].(int64); ok && slices.Contains(bools, name) {
					vals[i] = v != 0
				}
			}
		}
		if _, err := ins.ExecContext(ctx, vals...); err != nil {
			return n, err
		}
		n++
	}
	return n, rows.Err()
}

// Write runs f in a write transaction and commits it; when f fails it rolls back and
// returns f's error.
func (c *DB) Write(ctx context.Context, f func(*Tx) error) error {
	tx, err := c.BeginWrite(ctx)
	if err != nil {
		return err
	}
	if err := f(tx); err != nil {
		if rbErr := tx.Rollback(); rbErr != nil && !errors.Is(rbErr, sql.ErrTxDone) {
			return errors.Join(err, rbErr)
		}
		return err
	}
	return tx.Commit()
}

// Table is a table to copy: its name and its columns, comma-separated.
type Table struct{ Name, Cols string }

// Adopt copies tables from src (a store's SQLite database) into c (the same store
// on PostgreSQL) in one transaction, when none of them holds a row in c yet, and
// returns how many rows it copied: a site's first start on PostgreSQL. The columns
// named in bools hold SQLite's 0/1 and become BOOLEAN; a table whose first column
// is id has its identity moved past the copied ids.
func (c *DB) Adopt(ctx context.Context, src *DB, tables []Table, bools ...string) (int, error) {
	n := 0
	err := c.Write(ctx, func(tx *Tx) error {
		for _, t := range tables {
			var held bool
			if err := tx.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM "+t.Name+")").Scan(&held); err != nil || held {
				return err
			}
		}
		for _, t := range tables {
			copied, err := CopyTable(ctx, src, tx, t.Name, t.Cols, bools...)
			n += copied
			if err != nil {
				return fmt.Errorf("copy %s: %w", t.Name, err)
			}
			if strings.HasPrefix(t.Cols, "id, ") {
				// The copied ids were given, not drawn: the next drawn one follows them.
				if _, err := tx.ExecContext(ctx, "SELECT setval(pg_get_serial_sequence('"+t.Name+"', 'id'), "+
					"coalesce(max(id), 0) + 1, false) FROM "+t.Name); err != nil {
					return err
				}
			}
		}
		return nil
	})
	return n, err
}

// Schema is how a store's database is made on either engine: its component name (in
// PostgreSQL's schema_versions), its migrations on each and its advisory lock; and
// what a site moving to PostgreSQL copies from its SQLite file (Adopt).
type Schema struct {
	Component        string
	SQLite, Postgres []string
	LockKey          int64
	// Tables are copied once from the SQLite file; the columns named in Bools are
	// SQLite's 0/1 for PostgreSQL's BOOLEAN.
	Tables []Table
	Bools  []string
}

// OpenStore opens (creating and migrating) a store's database: PostgreSQL when url
// is set, else the SQLite file at path. On PostgreSQL an existing SQLite file at
// path is copied in once, while PostgreSQL holds none of its rows (adopted: the rows
// copied; the file is left as it was).
func OpenStore(ctx context.Context, url, path string, s Schema) (db *DB, adopted int, err error) {
	if url == "" {
		sdb, err := sqlitefile.Open(s.Component, path, s.SQLite)
		if err != nil {
			return nil, 0, err
		}
		return SQLite(sdb), 0, nil
	}
	if db, err = OpenPostgres(ctx, url, s.Component, s.Postgres, s.LockKey); err != nil {
		return nil, 0, err
	}
	src, ok, err := sqlitefile.OpenIfExists(s.Component, path, s.SQLite)
	if ok {
		defer src.Close()
		adopted, err = db.Adopt(ctx, SQLite(src), s.Tables, s.Bools...)
	}
	if err != nil {
		return nil, 0, errors.Join(fmt.Errorf("%s: copying %s into PostgreSQL: %w", s.Component, path, err), db.Close())
	}
	return db, adopted, nil
}

// OpenToRead opens a store's database for a reader that must not create it (the
// monthly report): PostgreSQL when url is set, else the SQLite file at path if it
// exists; ok is false when there is none (nothing was ever written).
func OpenToRead(ctx context.Context, url, path string, s Schema) (db *DB, ok bool, err error) {
	if url != "" {
		db, err := OpenPostgres(ctx, url, s.Component, s.Postgres, s.LockKey)
		return db, err == nil, err
	}
	sdb, ok, err := sqlitefile.OpenIfExists(s.Component, path, s.SQLite)
	if !ok {
		return nil, false, err
	}
	return SQLite(sdb), true, nil
}
