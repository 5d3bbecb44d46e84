package spool

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
)

// Commit marks every record up to the end of b as shipped; after a restart, Read
// starts after b. The position is written at once, so it survives a crash of the
// process, and fsynced at most once a second: after a power failure the last
// second of commits may be lost, and their records are read again (delivery is at
// least once anyway). Batches must be committed in the order Read
// returned them, each once: otherwise Commit returns ErrCommitOrder. Shipped
// segments beyond Options.KeepShippedBytes are deleted, oldest first.
func (s *Spool) Commit(b Batch) error {
	if len(b.Records) == 0 {
		return fmt.Errorf("%w: empty batch", ErrCommitOrder)
	}
	s.cmu.Lock()
	defer s.cmu.Unlock()
	if err := s.checkCommit(b); err != nil {
		return err
	}
	if err := s.cursor.write(b.end); err != nil {
		return err
	}
	expired := s.advance(b)
	s.rmu.Lock()
	s.mu.Lock()
	if s.rpos.before(s.commit) { // b was read before a Rewind
		s.rpos = s.commit
	}
	s.mu.Unlock()
	s.rmu.Unlock()
	s.remove(expired)
	s.ship.settle(int64(len(b.Records)))
	return nil
}

// checkCommit verifies that b starts at the committed position.
func (s *Spool) checkCommit(b Batch) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	start, commit := s.norm(b.start), s.norm(s.commit)
	// The second test rejects an old batch of a deleted segment, whose start
	// normalizes to the first segment's start.
	if start.seg != commit.seg || start.off != commit.off || !commit.before(b.end) {
		return fmt.Errorf("%w: batch %d:%d-%d:%d, committed position is %d:%d", ErrCommitOrder,
			b.start.seg, b.start.off, b.end.seg, b.end.off, commit.seg, commit.off)
	}
	return nil
}

// advance moves the committed position to the end of b, updates the depth and
// returns the ids of the shipped segments to delete, which it forgets.
func (s *Spool) advance(b Batch) []uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.commit = s.norm(b.end)
	s.unRecs -= int64(len(b.Records))
	s.unBytes -= b.bytes
	s.updateOldest()
	if s.full && s.unBytes+s.reserved <= s.opt.MaxBytes/10*9 {
		s.full = false
		s.log.Info("spool: no longer full", "unshipped_bytes", s.unBytes)
	}
	return s.expire()
}

// updateOldest reads the append time of the first unshipped record. Callers hold
// s.mu.
func (s *Spool) updateOldest() {
	if s.unRecs <= 0 {
		return
	}
	t, err := s.peekTime(s.commit)
	if err != nil {
		s.log.Warn("spool: cannot read the oldest record's time", "err", err)
		return
	}
	s.oldest = t
}

// expire forgets the oldest fully shipped segments while more than
// KeepShippedBytes of them are kept, and returns their ids. Callers hold s.mu.
func (s *Spool) expire() []uint64 {
	var shipped int64
	n := 0
	for _, g := range s.segs {
		if g.id >= s.commit.seg {
			break
		}
		shipped += g.end
		n++
	}
	var ids []uint64
	for _, g := range s.segs[:n] {
		if shipped <= s.opt.KeepShippedBytes {
			break
		}
		ids = append(ids, g.id)
		shipped -= g.end
	}
	s.segs = slices.Delete(s.segs, 0, len(ids))
	return ids
}

// remove deletes the files of expired segments. Failures are logged: the data is
// shipped, and a leftover file is only disk space.
func (s *Spool) remove(ids []uint64) {
	for _, id := range ids {
		if err := os.Remove(segmentPath(s.opt.Dir, id)); err != nil {
			s.log.Warn("spool: cannot delete shipped segment", "segment", id, "err", err)
		}
	}
}

// Recent calls fn for every record of every retained segment, shipped and
// unshipped, in append order, stopping at the first error fn returns, which it
// returns. The slice passed to fn is valid only during the call. Corrupt data is
// skipped, logged and counted.
func (s *Spool) Recent(fn func(rec []byte) error) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	snap := make([]segment, len(s.segs))
	for i, g := range s.segs {
		snap[i] = *g
		snap[i].holes = slices.Clone(g.holes)
	}
	s.mu.Unlock()
	for i := range snap {
		if err := s.recentSegment(&snap[i], fn); err != nil {
			return err
		}
	}
	return nil
}

// recentSegment calls fn for the records of one segment, up to g.end.
func (s *Spool) recentSegment(g *segment, fn func(rec []byte) error) error {
	f, err := os.Open(segmentPath(s.opt.Dir, g.id))
	if errors.Is(err, os.ErrNotExist) { // deleted since the snapshot: shipped
		return nil
	}
	if err != nil {
		return fmt.Errorf("spool: open segment: %w", err)
	}
	defer f.Close()
	fr := newFrameReader(f, 0, g.end)
	for {
		rec, err := s.nextRecent(g, fr)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := fn(rec); err != nil {
			return err
		}
	}
}

// nextRecent returns the next record of g for Recent, jumping over holes. At
// corruption it logs, counts and returns io.EOF: the rest of g is skipped.
func (s *Spool) nextRecent(g *segment, fr *frameReader) ([]byte, error) {
	for h, ok := g.holeAt(fr.off); ok; h, ok = g.holeAt(fr.off) {
		if err := fr.skipTo(h.to); err != nil {
			return nil, err
		}
	}
	rec, _, err := fr.next()
	if errors.Is(err, errChecksum) || errors.Is(err, errTruncated) {
		s.m.corrupt.Inc()
		s.log.Error("spool: corrupt record in Recent; skipping the rest of the segment",
			"segment", g.id, "offset", fr.off, "err", err)
		return nil, io.EOF
	}
	return rec, err
}
