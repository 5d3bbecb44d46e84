package spool

import (
	"fmt"
	"os"
)

// load builds the in-memory state from the directory: it reads the cursor, scans
// the unshipped segments, repairs the tail and opens the active segment.
func (s *Spool) load() error {
	ids, err := listSegments(s.opt.Dir)
	if err != nil {
		return err
	}
	cur, ok, err := readCursor(s.opt.Dir)
	if err != nil {
		return err
	}
	if !ok && len(ids) > 0 {
		s.log.Warn("spool: no committed position found; all retained records will be read again")
	}
	for i, id := range ids {
		if err := s.loadSegment(id, cur, i == len(ids)-1); err != nil {
			return err
		}
	}
	if err := s.openActive(); err != nil {
		return err
	}
	s.placeCursor(cur)
	return s.countUnshipped()
}

// loadSegment adds segment id to s.segs. Segments before the cursor are shipped and
// only measured; later ones and the tail are scanned, the tail truncated at a bad
// frame.
func (s *Spool) loadSegment(id uint64, cur pos, tail bool) error {
	if id < cur.seg && !tail {
		fi, err := os.Stat(segmentPath(s.opt.Dir, id))
		if err != nil {
			return fmt.Errorf("spool: stat segment: %w", err)
		}
		s.segs = append(s.segs, &segment{id: id, end: fi.Size(), records: -1, sealed: true})
		return nil
	}
	res, err := scanSegment(s.opt.Dir, id, cur.off)
	if err != nil {
		return err
	}
	if id == cur.seg {
		s.commit = res.at
	}
	s.segs = append(s.segs, &segment{id: id, end: res.end, records: res.records, sealed: !tail})
	if res.bad == nil {
		return nil
	}
	s.m.corrupt.Inc()
	if !tail {
		s.log.Error("spool: corrupt segment; skipping the rest of it", "segment", id,
			"offset", res.end, "lost_bytes", res.size-res.end, "err", res.bad)
		return nil
	}
	s.log.Warn("spool: truncating torn tail", "segment", id, "offset", res.end,
		"bytes", res.size-res.end, "err", res.bad)
	return s.truncate(id, res.end)
}

// truncate cuts segment id to size bytes, durably.
func (s *Spool) truncate(id uint64, size int64) error {
	f, err := os.OpenFile(segmentPath(s.opt.Dir, id), os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("spool: open tail: %w", err)
	}
	defer f.Close()
	if err := f.Truncate(size); err != nil {
		return fmt.Errorf("spool: truncate tail: %w", err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("spool: sync tail: %w", err)
	}
	return nil
}

// openActive opens the last segment for appending, or creates a new one when there
// is none or the last one is full.
func (s *Spool) openActive() error {
	if n := len(s.segs); n > 0 && s.segs[n-1].end < s.opt.SegmentBytes {
		g := s.segs[n-1]
		f, err := os.OpenFile(segmentPath(s.opt.Dir, g.id), os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			return fmt.Errorf("spool: open active segment: %w", err)
		}
		s.active, s.activeID, s.tailSize = f, g.id, g.end
		return nil
	}
	id := uint64(1)
	if n := len(s.segs); n > 0 {
		s.segs[n-1].sealed = true
		id = s.segs[n-1].id + 1
	}
	f, err := createSegment(s.opt.Dir, id, s.opt.NoSync)
	if err != nil {
		return err
	}
	s.segs = append(s.segs, &segment{id: id})
	s.active, s.activeID, s.tailSize = f, id, 0
	return nil
}

// placeCursor sets the committed and read positions from the cursor log's cur,
// which may point before the first segment or into a missing one.
func (s *Spool) placeCursor(cur pos) {
	last := s.segs[len(s.segs)-1]
	switch {
	case cur.seg > last.id:
		s.log.Warn("spool: committed position is past the last segment; starting at the end",
			"segment", cur.seg, "last", last.id)
		s.commit = pos{seg: last.id, off: last.end, idx: last.records}
	case s.commit.seg != cur.seg:
		s.commit = s.norm(pos{seg: cur.seg})
	case s.commit.off != cur.off:
		s.log.Warn("spool: committed position is not at a record; reading from the record before it",
			"segment", cur.seg, "offset", cur.off, "record_offset", s.commit.off)
	}
	s.commit = s.norm(s.commit)
	s.rpos = s.commit
}

// countUnshipped computes the depth and the oldest unshipped record's time.
func (s *Spool) countUnshipped() error {
	for _, g := range s.segs {
		if g.id >= s.commit.seg {
			s.unRecs += g.records
			s.unBytes += g.end
		}
	}
	s.unRecs -= s.commit.idx
	s.unBytes -= s.commit.off
	if s.unRecs == 0 {
		return nil
	}
	t, err := s.peekTime(s.commit)
	s.oldest = t
	return err
}
