package postgres

import (
	"context"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"carebed/alerting"
)

// feed is the store's change feed (alerting.Feed): every write transaction notes its
// changes, and tx publishes them after the commit, so no write can bypass it.
type feed struct {
	// mu is held from the commit to the end of publishing by a transaction that has
	// changes to publish, so subscribers see this process's changes in commit order.
	// It orders the feed only: what may be written is decided by PostgreSQL's locks.
	mu   sync.Mutex
	subs []func(alerting.Change)
}

// Subscribe calls f with every change committed from now on (alerting.Feed).
func (s *Store) Subscribe(f func(alerting.Change)) {
	s.feed.mu.Lock()
	defer s.feed.mu.Unlock()
	s.feed.subs = append(s.feed.subs, f)
}

// txn is one write transaction and the changes it made.
type txn struct {
	pgx.Tx
	changes []alerting.Change
}

// changed notes a change of alert id; tx reads the alert back before the commit.
func (w *txn) changed(what alerting.ChangeKind, id int64, at time.Time, att *alerting.Attempt) {
	w.changes = append(w.changes, alerting.Change{What: what, Alert: alerting.Alert{ID: id}, Attempt: att, At: at})
}

// tx runs f in a write transaction (READ COMMITTED: f locks the rows it decides on),
// commits it and publishes its changes. The fence, when set, runs first, in the
// transaction: a gateway that lost its lease writes nothing.
func (s *Store) tx(ctx context.Context, f func(*txn) error) error {
	t, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.ReadCommitted})
	if err != nil {
		return err
	}
	defer t.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // a no-op after the commit
	if s.fence != nil {
		if err := s.fence(ctx, t); err != nil {
			return err
		}
	}
	w := &txn{Tx: t}
	if err := f(w); err != nil {
		return err
	}
	for i := range w.changes {
		c := &w.changes[i]
		if c.Alert, err = scanAlert(t.QueryRow(ctx, `SELECT `+alertCols+` FROM alerts WHERE id = $1`, c.Alert.ID)); err != nil {
			return err
		}
	}
	if len(w.changes) == 0 {
		return t.Commit(ctx)
	}
	s.feed.mu.Lock()
	defer s.feed.mu.Unlock()
	if err := t.Commit(ctx); err != nil {
		return err
	}
	for _, c := range w.changes {
		for _, f := range s.feed.subs {
			f(c)
		}
	}
	return nil
}

// audit adds a row to an alert's audit trail.
func audit(ctx context.Context, tx *txn, id int64, at time.Time, what, actor, channel, detail string) error {
	_, err := tx.Exec(ctx, `INSERT INTO audit (alert_id, at, what, actor, channel, detail) VALUES ($1, $2, $3, $4, $5, $6)`,
		id, ms(at), what, actor, channel, detail)
	return err
}
