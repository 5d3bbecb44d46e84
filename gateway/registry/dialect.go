package registry

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5/pgxpool"
)

// conn is the registry's database, SQLite or PostgreSQL, behind database/sql. The
// registry's queries are written once, with ? placeholders and SQL both engines
// read alike; for PostgreSQL conn rewrites the placeholders to $1, $2 ... (once per
// query text, cached) and makes every write transaction take the registry's advisory
// lock, so that writers queue as they do on SQLite's write lock (two gateways
// importing at once import one after the other).
type conn struct {
	db *sql.DB
	pg bool
	// pool is PostgreSQL's connection pool under db (nil on SQLite).
	pool *pgxpool.Pool
	// rebound caches the PostgreSQL text of each query (string to string).
	rebound sync.Map
}

// writeLockKey is the PostgreSQL advisory lock key held by every registry write
// transaction ("carebed registry" cut to 8 bytes: "cbregist").
const writeLockKey = 0x6362726567697374

// query returns q in the engine's dialect.
func (c *conn) query(q string) string {
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
func (c *conn) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return c.db.ExecContext(ctx, c.query(q), args...)
}

// QueryContext runs a query outside a transaction.
func (c *conn) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return c.db.QueryContext(ctx, c.query(q), args...)
}

// QueryRowContext runs a one-row query outside a transaction.
func (c *conn) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	return c.db.QueryRowContext(ctx, c.query(q), args...)
}

// beginWrite starts a write transaction: on SQLite it holds the write lock from its
// start (the DSN's _txlock=immediate), on PostgreSQL it takes the registry's advisory
// lock first, released at its end.
func (c *conn) beginWrite(ctx context.Context) (*txn, error) {
	t, err := c.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	if c.pg {
		if _, err := t.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(writeLockKey)); err != nil {
			t.Rollback() //nolint:errcheck // the lock's error is the one to report
			return nil, fmt.Errorf("registry write lock: %w", err)
		}
	}
	return &txn{Tx: t, c: c}, nil
}

// beginRead starts a read-only transaction that sees one snapshot of the registry
// (SQLite's transactions always do; PostgreSQL's need REPEATABLE READ).
func (c *conn) beginRead(ctx context.Context) (*txn, error) {
	opts := &sql.TxOptions{ReadOnly: true}
	if c.pg {
		opts.Isolation = sql.LevelRepeatableRead
	}
	t, err := c.db.BeginTx(ctx, opts)
	if err != nil {
		return nil, err
	}
	return &txn{Tx: t, c: c}, nil
}

// txn is a transaction of conn, taking queries in the registry's one dialect.
type txn struct {
	*sql.Tx
	c *conn
}

// ExecContext runs a statement in the transaction.
func (t *txn) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return t.Tx.ExecContext(ctx, t.c.query(q), args...)
}

// QueryContext runs a query in the transaction.
func (t *txn) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return t.Tx.QueryContext(ctx, t.c.query(q), args...)
}

// QueryRowContext runs a one-row query in the transaction.
func (t *txn) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	return t.Tx.QueryRowContext(ctx, t.c.query(q), args...)
}

// PrepareContext prepares a statement in the transaction.
func (t *txn) PrepareContext(ctx context.Context, q string) (*sql.Stmt, error) {
	return t.Tx.PrepareContext(ctx, t.c.query(q))
}

// close closes the database.
func (c *conn) close() error {
	err := c.db.Close()
	if c.pool != nil {
		c.pool.Close()
	}
	return err
}
