package spool

import (
	"fmt"
	"time"
)

// group is the set of Append calls made durable by one write and fsync. Its
// appenders wait for done to be closed, then read err.
type group struct {
	done chan struct{}
	err  error
}

// pending is a group of encoded frames, written together by the flusher.
type pending struct {
	grp     *group
	funcs   []func(error) // callbacks of AppendAsync
	buf     []byte
	chunks  []chunk
	records int64
	calls   int64 // Append calls in the group
	first   int64 // append time of the first record
}

// chunk is the part of a pending group that goes to one segment.
type chunk struct {
	end     int   // offset in buf where the chunk ends
	records int64 //
	rotate  bool  // the chunk starts a new segment
}

// add encodes rec, stamped t, at the end of p, starting a new segment first if
// rotate is set.
func (p *pending) add(rec []byte, t int64, rotate bool) {
	if p.records == 0 {
		p.first = t
		p.grp = &group{done: make(chan struct{})}
	}
	if len(p.chunks) == 0 || rotate {
		p.chunks = append(p.chunks, chunk{rotate: rotate})
	}
	p.buf = appendFrame(p.buf, rec, t)
	c := &p.chunks[len(p.chunks)-1]
	c.end = len(p.buf)
	c.records++
	p.records++
}

// reset empties p, keeping its buffers.
func (p *pending) reset() {
	clear(p.funcs)
	*p = pending{buf: p.buf[:0], chunks: p.chunks[:0], funcs: p.funcs[:0]}
}

// Append makes recs durable, in order, and returns once they are fsynced (unless
// Options.NoSync). Concurrent calls are written together, one write and one fsync per
// group, by the spool's flusher goroutine. The spool keeps its own copy of recs.
// Append returns ErrFull when the records would take the unshipped data past
// Options.MaxBytes, ErrTooLarge for a record larger than Options.SegmentBytes or
// records larger than MaxBytes in total, ErrClosed after Close; in those cases
// nothing was appended. Any other error is a failed write or fsync: the records may or may
// not be on disk, and every later Append fails too, until the spool is reopened.
func (s *Spool) Append(recs [][]byte) error {
	if len(recs) == 0 {
		return nil
	}
	g, err := s.enqueue(recs, nil)
	if err != nil {
		return err
	}
	<-g.done
	return g.err
}

// AppendAsync is Append without the wait: it returns at once, and done is called
// with nil once recs are durable, or with the write error. done runs on the spool's
// flusher goroutine: it must return quickly and must not call Append or Close
// (AppendAsync is fine). Callbacks run in the order of the AppendAsync calls; with
// no records, done is called at once. When AppendAsync returns an error (ErrFull,
// ErrTooLarge, ErrClosed, an earlier write error) nothing was appended and done is
// never called. Close waits for the pending callbacks.
func (s *Spool) AppendAsync(recs [][]byte, done func(error)) error {
	if len(recs) == 0 {
		done(nil)
		return nil
	}
	_, err := s.enqueue(recs, done)
	return err
}

// enqueue adds recs, and done if not nil, to the pending group, waking the flusher
// when the group was empty.
func (s *Spool) enqueue(recs [][]byte, done func(error)) (*group, error) {
	return s.enqueueWith(recs, done, func() { s.ship.enqueued += int64(len(recs)) })
}

// enqueueWith is enqueue that calls number under s.mu once recs are admitted.
func (s *Spool) enqueueWith(recs [][]byte, done func(error), number func()) (*group, error) {
	s.mu.Lock()
	if err := s.admit(recs); err != nil {
		s.mu.Unlock()
		return nil, err
	}
	number()
	kick := s.pend.records == 0
	g := s.encode(recs)
	if done != nil {
		s.pend.funcs = append(s.pend.funcs, done)
	}
	s.mu.Unlock()
	if kick {
		select {
		case s.kick <- struct{}{}:
		default: // already kicked
		}
	}
	return g, nil
}

// admit checks that recs may be appended now. Callers hold s.mu.
func (s *Spool) admit(recs [][]byte) error {
	switch {
	case s.closed:
		return ErrClosed
	case s.err != nil:
		return s.err
	}
	var size int64
	for _, r := range recs {
		n := frameSize(len(r))
		if n > s.opt.SegmentBytes {
			return fmt.Errorf("%w: %d bytes, SegmentBytes is %d", ErrTooLarge, len(r), s.opt.SegmentBytes)
		}
		size += n
	}
	if size > s.opt.MaxBytes {
		return fmt.Errorf("%w: %d bytes in one call, MaxBytes is %d", ErrTooLarge, size, s.opt.MaxBytes)
	}
	if s.unBytes+s.reserved+size > s.opt.MaxBytes {
		s.noteFull()
		return ErrFull
	}
	return nil
}

// noteFull counts a rejected Append and logs when the spool becomes full.
func (s *Spool) noteFull() {
	s.m.full.Inc()
	if s.full {
		return
	}
	s.full = true
	s.log.Warn("spool: full; rejecting appends until records are shipped",
		"unshipped_bytes", s.unBytes, "max_bytes", s.opt.MaxBytes)
}

// encode adds recs to the pending group and returns the group. Callers hold s.mu.
func (s *Spool) encode(recs [][]byte) *group {
	t := s.opt.Now().UnixNano()
	for _, r := range recs {
		n := frameSize(len(r))
		rotate := s.tailSize > 0 && (s.rotateNext || s.tailSize+n > s.opt.SegmentBytes)
		if rotate {
			s.tailSize, s.rotateNext = 0, false
		}
		s.pend.add(r, t, rotate)
		s.tailSize += n
		s.reserved += n
	}
	s.pend.calls++
	return s.pend.grp
}

// flusher writes the pending groups, at most one fsync per Options.SyncInterval,
// until Close; it then writes what is left and returns.
func (s *Spool) flusher() {
	defer close(s.flushed)
	var last time.Time
	for {
		select {
		case <-s.kick:
		case <-s.quit:
		}
		if wait := s.opt.SyncInterval - time.Since(last); wait > 0 && !s.opt.NoSync {
			time.Sleep(wait)
		}
		last = time.Now()
		p, more := s.take()
		if p != nil {
			s.complete(p, s.write(p))
		}
		if !more {
			return
		}
	}
}

// take swaps out the pending group; p is nil when there is none, and more is
// false once the spool is closed and nothing is pending.
func (s *Spool) take() (p *pending, more bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pend.records == 0 {
		return nil, !s.closed
	}
	p = s.pend
	s.pend, s.spare = s.spare, nil
	return p, true
}

// complete records the outcome of writing p, wakes its appenders, calls its
// callbacks and recycles it.
func (s *Spool) complete(p *pending, err error) {
	s.mu.Lock()
	s.finish(p, err)
	p.grp.err = err
	close(p.grp.done)
	s.mu.Unlock()
	for _, f := range p.funcs {
		f(err)
	}
	s.mu.Lock()
	p.reset()
	s.spare = p
	s.mu.Unlock()
}

// write writes p's chunks, rotating segments between them, and fsyncs. It runs on
// the flusher without s.mu; only the flusher touches s.active. After a failed write
// it writes nothing.
func (s *Spool) write(p *pending) error {
	if err := s.stickyErr(); err != nil {
		return err
	}
	start := 0
	for _, c := range p.chunks {
		if c.rotate {
			if err := s.rotate(); err != nil {
				return err
			}
		}
		if _, err := s.active.Write(p.buf[start:c.end]); err != nil {
			return fmt.Errorf("spool: write segment: %w", err)
		}
		start = c.end
	}
	return s.sync()
}

// stickyErr returns the error of a failed write, if any.
func (s *Spool) stickyErr() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// sync fsyncs the active segment and times it.
func (s *Spool) sync() error {
	if s.opt.NoSync {
		return nil
	}
	t0 := time.Now()
	if err := s.active.Sync(); err != nil {
		return fmt.Errorf("spool: sync segment: %w", err)
	}
	s.m.fsyncSeconds.Observe(time.Since(t0).Seconds())
	return nil
}

// rotate seals the active segment durably and starts the next one. It runs on the
// flusher without s.mu; finish records the new segment.
func (s *Spool) rotate() error {
	if err := s.sync(); err != nil {
		return err
	}
	if err := s.active.Close(); err != nil {
		return fmt.Errorf("spool: close segment: %w", err)
	}
	s.active = nil
	f, err := createSegment(s.opt.Dir, s.activeID+1, s.opt.NoSync)
	if err != nil {
		return err
	}
	s.active = f
	s.activeID++
	return nil
}

// finish records the outcome of writing p: on success its frames become readable.
// Callers hold s.mu.
func (s *Spool) finish(p *pending, err error) {
	s.reserved -= int64(len(p.buf))
	if err != nil {
		if s.err == nil {
			s.err = err
			s.log.Error("spool: write failed; appends fail until the spool is reopened", "err", err)
		}
		return
	}
	s.extend(p)
	if s.unRecs == 0 {
		s.oldest = p.first
	}
	s.unRecs += p.records
	s.unBytes += int64(len(p.buf))
	s.m.appends.Add(float64(p.calls))
	s.m.appendRecords.Add(float64(p.records))
	s.m.fsyncs.Inc()
	close(s.dataCh)
	s.dataCh = make(chan struct{})
}

// extend adds p's frames to the segments, and the segments that the flusher
// started. Callers hold s.mu.
func (s *Spool) extend(p *pending) {
	start := 0
	for _, c := range p.chunks {
		if c.rotate {
			last := s.segs[len(s.segs)-1]
			last.sealed = true
			s.segs = append(s.segs, &segment{id: last.id + 1})
		}
		g := s.segs[len(s.segs)-1]
		g.end += int64(c.end - start)
		g.records += c.records
		start = c.end
	}
}
