package sqlite

import (
	"context"
	"database/sql"
	"sync"
)

// stmts keeps the store's prepared statements by their text. modernc's driver
// parses a query's SQL anew on every call otherwise: a third of the rules' work for
// a device going offline and back (BenchmarkPowerCut in alerting/rules), which a
// township's reconnect storm does for thousands of devices at once.
type stmts struct {
	db     *sql.DB
	mu     sync.Mutex
	m      map[string]*sql.Stmt
	wanted map[string]bool // asked for inside a transaction: prepared after it
}

// maxStmts bounds the cache: the store's queries are fixed texts but for a few
// built from a filter's parts.
const maxStmts = 256

// get returns q prepared, or nil when it is not (the caller runs q unprepared,
// which reports any error). Inside a transaction (inTx) nothing is prepared: the
// store has one connection, which the transaction holds; q is prepared once the
// transaction ends (prepareWanted). Preparing takes that connection, so it is never
// done while holding mu, which a transaction may be waiting for.
func (c *stmts) get(ctx context.Context, q string, inTx bool) *sql.Stmt {
	c.mu.Lock()
	st, ok := c.m[q]
	full := len(c.m) >= maxStmts
	if !ok && !full && inTx {
		if c.wanted == nil {
			c.wanted = map[string]bool{}
		}
		c.wanted[q] = true
	}
	c.mu.Unlock()
	if ok || full || inTx {
		return st
	}
	return c.prepare(ctx, q)
}

// prepare prepares q into the cache (or returns the one another goroutine put
// there meanwhile).
func (c *stmts) prepare(ctx context.Context, q string) *sql.Stmt {
	st, err := c.db.PrepareContext(ctx, q)
	if err != nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if had, ok := c.m[q]; ok {
		st.Close()
		return had
	}
	if c.m == nil {
		c.m = map[string]*sql.Stmt{}
	}
	c.m[q] = st
	return st
}

// prepareWanted prepares what transactions asked for; call it outside any.
func (c *stmts) prepareWanted(ctx context.Context) {
	c.mu.Lock()
	var qs []string
	for q := range c.wanted {
		if _, ok := c.m[q]; !ok {
			qs = append(qs, q)
		}
		delete(c.wanted, q)
	}
	c.mu.Unlock()
	for _, q := range qs {
		c.prepare(ctx, q)
	}
}

// close closes the prepared statements.
func (c *stmts) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, st := range c.m {
		st.Close()
	}
	c.m = nil
}

// ExecContext runs q in the transaction, prepared once.
func (w *txn) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	if st := w.stmts.get(ctx, q, true); st != nil {
		return w.Tx.StmtContext(ctx, st).ExecContext(ctx, args...)
	}
	return w.Tx.ExecContext(ctx, q, args...)
}

// QueryContext runs q in the transaction, prepared once.
func (w *txn) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if st := w.stmts.get(ctx, q, true); st != nil {
		return w.Tx.StmtContext(ctx, st).QueryContext(ctx, args...)
	}
	return w.Tx.QueryContext(ctx, q, args...)
}

// QueryRowContext runs q in the transaction, prepared once.
func (w *txn) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	if st := w.stmts.get(ctx, q, true); st != nil {
		return w.Tx.StmtContext(ctx, st).QueryRowContext(ctx, args...)
	}
	return w.Tx.QueryRowContext(ctx, q, args...)
}

// queryRow runs q outside a transaction, prepared once.
func (s *Store) queryRow(ctx context.Context, q string, args ...any) *sql.Row {
	if st := s.stmts.get(ctx, q, false); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return s.db.QueryRowContext(ctx, q, args...)
}

// query runs q outside a transaction, prepared once.
func (s *Store) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if st := s.stmts.get(ctx, q, false); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return s.db.QueryContext(ctx, q, args...)
}
