package spool

import "sync"

// shipWait lets AppendShippedAsync's callers wait until their records have left the
// spool: committed as shipped (or lost to a corrupt segment, which reading reports).
// Records are numbered in the order they are appended, which is the order Read
// returns and Commit ships them, so one count of settled records says which
// waiters may go.
type shipWait struct {
	mu       sync.Mutex
	enqueued int64 // records numbered so far, the recovered unshipped ones first (under Spool.mu)
	settled  int64 // records committed or lost
	waiters  []shipWaiter
}

type shipWaiter struct {
	upTo int64
	done func(error)
}

// AppendShippedAsync is AppendAsync whose done is called only once recs are durable
// in the spool and then shipped (a Commit covered them): the gateway of an
// active/standby pair acknowledges a message only when it is in InfluxDB, so a
// machine that dies with its disk loses nothing acknowledged. done(err) when the
// write fails; done runs on the flusher's or the committer's goroutine and must be
// quick. Records lost to a corrupt segment count as shipped (the read logs them).
func (s *Spool) AppendShippedAsync(recs [][]byte, done func(error)) error {
	if len(recs) == 0 {
		done(nil)
		return nil
	}
	var upTo int64
	_, err := s.enqueueNumbered(recs, func(err error) {
		if err != nil {
			done(err)
			return
		}
		s.ship.wait(upTo, done)
	}, &upTo)
	return err
}

// enqueueNumbered is enqueue that also numbers the records: *upTo is set, before
// done can run, to the number of the last of them.
func (s *Spool) enqueueNumbered(recs [][]byte, done func(error), upTo *int64) (*group, error) {
	return s.enqueueWith(recs, done, func() {
		s.ship.enqueued += int64(len(recs))
		*upTo = s.ship.enqueued
	})
}

// wait calls done now if the records up to upTo have settled, else when they do.
func (w *shipWait) wait(upTo int64, done func(error)) {
	w.mu.Lock()
	if w.settled >= upTo {
		w.mu.Unlock()
		done(nil)
		return
	}
	w.waiters = append(w.waiters, shipWaiter{upTo: upTo, done: done})
	w.mu.Unlock()
}

// settle counts n more records as shipped and releases the waiters they cover.
func (w *shipWait) settle(n int64) {
	w.mu.Lock()
	w.settled += n
	i := 0
	for i < len(w.waiters) && w.waiters[i].upTo <= w.settled {
		i++
	}
	ready := w.waiters[:i:i]
	w.waiters = w.waiters[i:]
	w.mu.Unlock()
	for _, r := range ready {
		r.done(nil)
	}
}

// fail releases every waiter with err (the spool closes).
func (w *shipWait) fail(err error) {
	w.mu.Lock()
	ready := w.waiters
	w.waiters = nil
	w.mu.Unlock()
	for _, r := range ready {
		r.done(err)
	}
}
