package spool

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// Batch is a run of consecutive records returned by Read.
type Batch struct {
	// Records are the payloads, in append order. They share one allocation per
	// batch, are never reused by the spool, and each has its own capacity limit.
	Records [][]byte
	// Oldest is the append time of the first record.
	Oldest time.Time

	start, end pos   // the batch spans [start, end)
	bytes      int64 // frame bytes of the records
}

// Read returns the next durable records after the previous Read's batch (or after
// the committed position, following Open or Rewind): at most maxRecords of them
// and, unless the first record alone is larger, at most maxBytes of frames (a frame
// is a record plus 16 bytes). A batch never spans two segment files. Read blocks until
// at least one record is available; it returns ctx.Err() when ctx ends first and
// ErrClosed when the spool is closed. Corrupt data is skipped, logged and counted.
func (s *Spool) Read(ctx context.Context, maxRecords, maxBytes int) (Batch, error) {
	if maxRecords < 1 || maxBytes < 1 {
		return Batch{}, fmt.Errorf("spool: Read needs maxRecords and maxBytes of at least 1, got %d and %d",
			maxRecords, maxBytes)
	}
	for {
		b, wait, err := s.tryRead(maxRecords, maxBytes)
		if err != nil || wait == nil {
			return b, err
		}
		select {
		case <-ctx.Done():
			return Batch{}, ctx.Err()
		case <-wait:
		}
	}
}

// tryRead reads a batch at the read position; when none is available it returns a
// channel that is closed when that may have changed.
func (s *Spool) tryRead(maxRecords, maxBytes int) (Batch, <-chan struct{}, error) {
	s.rmu.Lock()
	defer s.rmu.Unlock()
	for {
		start, limit, avg, wait, err := s.readable()
		if err != nil || start.off >= limit {
			return Batch{}, wait, err
		}
		size := readSize(limit-start.off, maxRecords, maxBytes, avg)
		b, err := s.readRange(start, limit, maxRecords, size)
		if errors.Is(err, errChecksum) || errors.Is(err, errTruncated) {
			s.skipCorrupt(start, err)
			continue
		}
		if err != nil {
			return Batch{}, nil, err
		}
		s.rpos = b.end
		return b, nil, nil
	}
}

// readable normalizes the read position and returns it with the offset where its
// segment's readable data ends (the durable end, or the next hole) and the average
// size of an unshipped frame. Callers hold s.rmu.
func (s *Spool) readable() (start pos, limit, avg int64, wait <-chan struct{}, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return pos{}, 0, 0, nil, ErrClosed
	}
	if s.unRecs > 0 {
		avg = s.unBytes / s.unRecs
	}
	s.rpos = s.norm(s.rpos)
	i, _ := s.segIndex(s.rpos.seg)
	g := s.segs[i]
	limit = g.end
	for _, h := range g.holes {
		if h.from > s.rpos.off && h.from < limit {
			limit = h.from
		}
	}
	return s.rpos, limit, avg, s.dataCh, nil
}

// readSize is how many bytes to read for a batch: maxBytes, but no more than avail
// nor than maxRecords frames of about the average size (with a quarter to spare).
func readSize(avail int64, maxRecords, maxBytes int, avg int64) int64 {
	n := min(avail, int64(maxBytes))
	if per := avg + avg/4 + headerSize; avg > 0 && int64(maxRecords) < n/per {
		n = int64(maxRecords) * per
	}
	return n
}

// readRange reads up to size bytes of frames from start, in [start.off, limit) of
// segment start.seg, into one new buffer and returns them as a batch. It returns a
// frame error only when the first frame is bad; a later bad frame ends the batch
// before it. Callers hold s.rmu.
func (s *Spool) readRange(start pos, limit int64, maxRecords int, size int64) (Batch, error) {
	f, err := s.readerFile(start.seg)
	if err != nil {
		return Batch{}, err
	}
	buf := make([]byte, size)
	if err := readAt(f, buf, start.off); err != nil {
		return Batch{}, err
	}
	n, err := countFrames(buf, limit-start.off, maxRecords)
	if n == 0 && errors.Is(err, errShort) { // the first record is larger than maxBytes
		if buf, err = readFrameAt(f, start.off, limit-start.off); err != nil {
			return Batch{}, err
		}
		n, err = countFrames(buf, limit-start.off, 1)
	}
	if n == 0 {
		return Batch{}, err
	}
	return makeBatch(buf, start, n), nil
}

// readFrameAt reads the whole frame at off, of which avail bytes are valid data.
func readFrameAt(f *os.File, off, avail int64) ([]byte, error) {
	var h [headerSize]byte
	if err := readAt(f, h[:min(avail, headerSize)], off); err != nil {
		return nil, err
	}
	n, _, err := parseHeader(h[:], avail)
	if err != nil {
		return nil, err
	}
	buf := make([]byte, frameSize(n))
	return buf, readAt(f, buf, off)
}

// readAt fills b from f at off. A file shorter than the spool wrote it (cut by
// someone else) is reported as a truncated frame, so that Read skips it.
func readAt(f *os.File, b []byte, off int64) error {
	_, err := f.ReadAt(b, off)
	if errors.Is(err, io.EOF) {
		return fmt.Errorf("%w: %s ends before offset %d", errTruncated, f.Name(), off+int64(len(b)))
	}
	if err != nil {
		return fmt.Errorf("spool: read %s: %w", f.Name(), err)
	}
	return nil
}

// countFrames checks up to maxN frames at the start of b (of which avail bytes are
// valid data) and returns how many are good, and the error that stopped it early.
func countFrames(b []byte, avail int64, maxN int) (n int, err error) {
	off := 0
	for n < maxN && off < len(b) {
		_, _, size, err := parseFrame(b[off:], avail-int64(off))
		if err != nil {
			return n, err
		}
		off += size
		n++
	}
	return n, nil
}

// makeBatch slices the first n frames of buf, already checked, into a batch.
func makeBatch(buf []byte, start pos, n int) Batch {
	b := Batch{Records: make([][]byte, n), start: start}
	off := 0
	for i := range n {
		payload, t, size, _ := parseFrame(buf[off:], int64(len(buf)-off))
		if i == 0 {
			b.Oldest = time.Unix(0, t)
		}
		b.Records[i] = payload
		off += size
	}
	b.bytes = int64(off)
	b.end = pos{seg: start.seg, off: start.off + int64(off), idx: start.idx + int64(n)}
	return b
}

// skipCorrupt records a hole from the bad frame at p to the current end of its
// segment (or to the next known hole), drops the records in it from the depth, and makes the next append start
// a new segment so that the hole never grows. (A group already being written still
// goes to the old segment: readable now, but cut off by the corruption after a
// restart. Corruption of written data is rare enough to accept that.) Callers hold
// s.rmu.
func (s *Spool) skipCorrupt(p pos, cause error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, _ := s.segIndex(p.seg)
	g := s.segs[i]
	h := hole{from: p.off, fromIdx: p.idx, to: g.end, toIdx: g.records}
	for _, later := range g.holes { // found before, after a Rewind
		if later.from > h.from && later.from < h.to {
			h.to, h.toIdx = later.from, later.fromIdx
		}
	}
	g.holes = append(g.holes, h)
	lostRecs, lostBytes := h.toIdx-h.fromIdx, h.to-h.from
	s.unRecs -= lostRecs
	go s.ship.settle(lostRecs) // under s.mu here; settle calls back
	s.unBytes -= lostBytes
	s.rotateNext = s.rotateNext || !g.sealed
	s.m.corrupt.Inc()
	s.log.Error("spool: corrupt record; skipping the rest of the segment", "segment", p.seg,
		"offset", p.off, "lost_records", lostRecs, "lost_bytes", lostBytes, "err", cause)
}

// readerFile returns the open file of segment id for reading. Callers hold s.rmu.
func (s *Spool) readerFile(id uint64) (*os.File, error) {
	if s.rfile != nil && s.rfileID == id {
		return s.rfile, nil
	}
	if s.rfile != nil {
		s.rfile.Close()
		s.rfile = nil
	}
	f, err := os.Open(segmentPath(s.opt.Dir, id))
	if err != nil {
		return nil, fmt.Errorf("spool: open segment: %w", err)
	}
	s.rfile, s.rfileID = f, id
	return f, nil
}

// Rewind moves the read position back to the committed position, so that the next
// Read returns the first uncommitted records again (after a failed shipment).
func (s *Spool) Rewind() {
	s.rmu.Lock()
	defer s.rmu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rpos = s.commit
}
