package sqlite

import (
	"context"
	"database/sql"
	"sync"
	"time"

	"carebed/alerting"
)

// feed is the store's change feed (alerting.Feed): every write transaction notes its
// changes, and tx publishes them after the commit, so no write can bypass it.
type feed struct {
	// mu is held from the commit to the end of publishing, so subscribers see
	// changes in commit order.
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
	*sql.Tx
	stmts   *stmts
	changes []alerting.Change
}

// changed notes a change of alert id; tx reads the alert back before the commit.
func (w *txn) changed(what alerting.ChangeKind, id int64, at time.Time, att *alerting.Attempt) {
	w.changes = append(w.changes, alerting.Change{What: what, Alert: alerting.Alert{ID: id}, Attempt: att, At: at})
}

// tx runs f in a write transaction, commits it and publishes its changes.
func (s *Store) tx(ctx context.Context, f func(*txn) error) error {
	t, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer s.stmts.prepareWanted(ctx) // once the transaction let go of the connection
	w := &txn{Tx: t, stmts: s.stmts}
	if err := f(w); err != nil {
		t.Rollback() //nolint:errcheck // the error that matters is f's
		return err
	}
	for i := range w.changes {
		c := &w.changes[i]
		if c.Alert, err = scanAlert(w.QueryRowContext(ctx, `SELECT `+alertCols+` FROM alerts WHERE id = ?`, c.Alert.ID)); err != nil {
			t.Rollback() //nolint:errcheck // reporting the read's error
			return err
		}
	}
	s.feed.mu.Lock()
	defer s.feed.mu.Unlock()
	if err := t.Commit(); err != nil {
		return err
	}
	for _, c := range w.changes {
		for _, f := range s.feed.subs {
			f(c)
		}
	}
	return nil
}
