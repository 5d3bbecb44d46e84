// Package spool is a durable on-disk FIFO of opaque records with group commit.
//
// Appenders call Append, which returns once their records are fsynced, or
// AppendAsync, which calls back then. A flusher goroutine writes whatever has been
// appended since its last write with one write and one fsync, at most one per
// Options.SyncInterval. One consumer calls Read for consecutive batches, ships
// them, and calls Commit for each shipped batch in order (or Rewind to read again
// from the last commit). After a crash, Read starts again at the last commit:
// delivery is at least once. Records live in segment files of about
// Options.SegmentBytes; shipped segments are kept until Options.KeepShippedBytes of
// them accumulate, so that Recent can replay recent records at startup.
package spool

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"sync"
	"time"
)

// Errors returned by the Spool's methods; test them with errors.Is.
var (
	// ErrFull is returned by Append when its records would take the unshipped data
	// past Options.MaxBytes. Nothing was appended; retry after a Commit.
	ErrFull = errors.New("spool: full")
	// ErrClosed is returned by every method after Close, and by a Read blocked
	// when Close is called.
	ErrClosed = errors.New("spool: closed")
	// ErrTooLarge is returned by Append for a record whose frame exceeds
	// Options.SegmentBytes, or records whose frames exceed Options.MaxBytes in total.
	// Nothing was appended; retrying cannot help.
	ErrTooLarge = errors.New("spool: record too large")
	// ErrCommitOrder is returned by Commit for a batch that does not start at the
	// committed position: batches must be committed once each, in the order read.
	ErrCommitOrder = errors.New("spool: batch committed out of order")
)

// Stats describe the unshipped data of a Spool.
type Stats struct {
	// Records and Bytes count the durable, unshipped records and their size on
	// disk (frame headers included).
	Records, Bytes int64
	// Oldest is the append time of the oldest unshipped record, zero if none.
	Oldest time.Time
	// Segments is the number of segment files, shipped ones included.
	Segments int
}

// Spool is a durable FIFO of records in a directory. All methods are safe for
// concurrent use; Read, Commit and Rewind are meant for a single consumer.
type Spool struct {
	opt  Options
	log  *slog.Logger
	m    *metrics
	lock *os.File

	mu         sync.Mutex
	segs       []*segment    // ascending ids; the last is the active one
	active     *os.File      // the last segment, written only by the flusher
	activeID   uint64        // its id; also owned by the flusher
	pend       *pending      // appended, waiting for the flusher
	spare      *pending      // reused buffer; nil while a flush is in flight
	kick       chan struct{} // tells the flusher that pend is not empty
	quit       chan struct{} // closed by Close
	flushed    chan struct{} // closed when the flusher returns
	err        error         // sticky write error: appends fail from now on
	tailSize   int64         // size of the active segment once pend and the flight are written
	rotateNext bool          // start a new segment before the next record
	reserved   int64         // bytes in pend and in flight
	unRecs     int64         // durable unshipped records
	unBytes    int64         // durable unshipped bytes
	oldest     int64         // append time of the first unshipped record, unix ns
	commit     pos
	full       bool
	closed     bool
	dataCh     chan struct{} // closed when data becomes durable, and by Close

	rmu     sync.Mutex // the reader: rpos and rfile
	rpos    pos
	rfile   *os.File
	rfileID uint64

	cmu    sync.Mutex // Commit
	cursor *cursorLog

	ship shipWait // shipped.go
}

// Open opens or creates the spool in o.Dir and starts its flusher goroutine. It
// recovers from a crash: a torn tail is truncated, a corrupt segment is read up to
// the corruption, and reading resumes at the last committed position. An invalid
// option is reported by an error that names it; a directory in use by another
// Spool is an error too.
func Open(o Options) (*Spool, error) {
	o, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("spool: create dir: %w", err)
	}
	lock, err := lockDir(o.Dir)
	if err != nil {
		return nil, err
	}
	s := newSpool(o, lock)
	if err := s.start(); err != nil {
		s.closeFiles()
		return nil, err
	}
	return s, nil
}

// newSpool returns an empty Spool for o.
func newSpool(o Options, lock *os.File) *Spool {
	s := &Spool{opt: o, log: o.Logger.With("component", "spool", "dir", o.Dir), lock: lock,
		pend: &pending{}, spare: &pending{}, dataCh: make(chan struct{}),
		kick: make(chan struct{}, 1), quit: make(chan struct{}), flushed: make(chan struct{})}
	s.m = newMetrics(s)
	return s
}

// start loads the directory, rewrites the cursor and registers the metrics.
func (s *Spool) start() error {
	if err := s.load(); err != nil {
		return err
	}
	c, err := openCursor(s.opt.Dir, s.commit, s.opt.NoSync)
	if err != nil {
		return err
	}
	s.cursor = c
	s.ship.enqueued = s.unRecs // recovered unshipped records are read, and shipped, first
	if err := s.m.register(s.opt.Registerer); err != nil {
		return err
	}
	go s.flusher()
	return nil
}

// Stats returns the current depth of the spool.
func (s *Spool) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := Stats{Records: s.unRecs, Bytes: s.unBytes, Segments: len(s.segs)}
	if s.unRecs > 0 {
		st.Oldest = time.Unix(0, s.oldest)
	}
	return st
}

// Close writes pending appends, wakes blocked readers with ErrClosed and closes the
// files. It returns ErrClosed if the spool is already closed.
func (s *Spool) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	s.closed = true
	s.mu.Unlock()
	close(s.quit)
	<-s.flushed
	s.mu.Lock()
	close(s.dataCh)
	s.mu.Unlock()
	s.m.unregister()
	s.ship.fail(ErrClosed)
	s.cmu.Lock()
	defer s.cmu.Unlock()
	s.rmu.Lock()
	defer s.rmu.Unlock()
	return s.closeFiles()
}

// closeFiles syncs and closes every open file, returning the first error.
func (s *Spool) closeFiles() error {
	var errs []error
	if s.active != nil {
		if !s.opt.NoSync {
			errs = append(errs, s.active.Sync())
		}
		errs = append(errs, s.active.Close())
	}
	if s.cursor != nil {
		errs = append(errs, s.cursor.close())
	}
	if s.rfile != nil {
		errs = append(errs, s.rfile.Close())
	}
	errs = append(errs, s.lock.Close())
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("spool: close: %w", err)
	}
	return nil
}

// segIndex returns the index in s.segs of segment id, or of the first later one.
func (s *Spool) segIndex(id uint64) (int, bool) {
	return slices.BinarySearchFunc(s.segs, id, func(g *segment, id uint64) int {
		return cmp.Compare(g.id, id)
	})
}

// norm moves p past holes, and from the end of a sealed segment to the start of the
// next one, so that equal positions compare equal. Callers hold s.mu.
func (s *Spool) norm(p pos) pos {
	for {
		i, ok := s.segIndex(p.seg)
		if !ok && i == len(s.segs) { // past the end: cannot happen, stay safe
			g := s.segs[i-1]
			return pos{seg: g.id, off: g.end, idx: g.records}
		}
		if !ok { // deleted (fully shipped) or missing: the next segment's start
			p = pos{seg: s.segs[i].id}
		}
		g := s.segs[i]
		if h, ok := g.holeAt(p.off); ok {
			p.off, p.idx = h.to, h.toIdx
			continue
		}
		if p.off < g.end || !g.sealed || i+1 == len(s.segs) {
			return p
		}
		p = pos{seg: s.segs[i+1].id}
	}
}

// peekTime returns the append time of the frame at p, which callers (holding s.mu)
// have normalized and know to exist.
func (s *Spool) peekTime(p pos) (int64, error) {
	f, err := os.Open(segmentPath(s.opt.Dir, p.seg))
	if err != nil {
		return 0, fmt.Errorf("spool: open segment: %w", err)
	}
	defer f.Close()
	var h [headerSize]byte
	if _, err := f.ReadAt(h[:], p.off); err != nil {
		return 0, fmt.Errorf("spool: read header: %w", err)
	}
	return int64(binary.LittleEndian.Uint64(h[8:])), nil
}
