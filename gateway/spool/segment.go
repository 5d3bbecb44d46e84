package spool

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

const segmentExt = ".seg"

// pos is a position in the spool: a frame boundary in segment seg. idx counts the
// frames (and skipped ones) before off, so record counts follow from positions.
type pos struct {
	seg      uint64
	off, idx int64
}

// before reports whether p is strictly before q.
func (p pos) before(q pos) bool {
	return p.seg < q.seg || p.seg == q.seg && p.off < q.off
}

// hole is a corrupt range of a segment found while reading; readers jump from
// offset from to offset to. Both are frame boundaries, with fromIdx and toIdx
// frames before them.
type hole struct {
	from, fromIdx, to, toIdx int64
}

// segment is the in-memory state of one segment file.
type segment struct {
	id      uint64
	end     int64 // bytes of valid, durable frames
	records int64 // frames in [0, end); -1 when not scanned (fully shipped at Open)
	sealed  bool  // no more appends: not the active segment
	holes   []hole
}

// holeAt returns the hole that starts at off, if any.
func (g *segment) holeAt(off int64) (hole, bool) {
	for _, h := range g.holes {
		if h.from == off {
			return h, true
		}
	}
	return hole{}, false
}

// segmentPath is the file name of segment id in dir.
func segmentPath(dir string, id uint64) string {
	return filepath.Join(dir, fmt.Sprintf("%020d%s", id, segmentExt))
}

// listSegments returns the ids of the segment files in dir, ascending.
func listSegments(dir string) ([]uint64, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("spool: list %s: %w", dir, err)
	}
	var ids []uint64
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), segmentExt)
		if !ok || !e.Type().IsRegular() {
			continue
		}
		if id, err := strconv.ParseUint(name, 10, 64); err == nil && id > 0 {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids, nil
}

// scanResult is what scanSegment learned about a segment file.
type scanResult struct {
	size    int64 // file size
	end     int64 // end of the last valid frame before any bad one
	records int64 // valid frames in [0, end)
	bad     error // why the frame at end is invalid; nil if end == size
	at      pos   // the last frame boundary at or before the requested offset
}

// scanSegment reads and checks every frame of segment id. It also locates the frame
// boundary at or before offset at (the committed cursor).
func scanSegment(dir string, id uint64, at int64) (scanResult, error) {
	f, err := os.Open(segmentPath(dir, id))
	if err != nil {
		return scanResult{}, fmt.Errorf("spool: open segment: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return scanResult{}, fmt.Errorf("spool: stat segment: %w", err)
	}
	res := scanResult{size: fi.Size(), at: pos{seg: id}}
	fr := newFrameReader(f, 0, fi.Size())
	for {
		_, _, err := fr.next()
		if errors.Is(err, io.EOF) {
			return res, nil
		}
		if errors.Is(err, errTruncated) || errors.Is(err, errChecksum) {
			res.bad = err
			return res, nil
		}
		if err != nil {
			return scanResult{}, fmt.Errorf("spool: scan segment %d: %w", id, err)
		}
		res.end, res.records = fr.off, res.records+1
		if res.end <= at {
			res.at = pos{seg: id, off: res.end, idx: res.records}
		}
	}
}

// createSegment creates an empty segment file and makes its name durable.
func createSegment(dir string, id uint64, noSync bool) (*os.File, error) {
	f, err := os.OpenFile(segmentPath(dir, id), os.O_CREATE|os.O_EXCL|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("spool: create segment: %w", err)
	}
	if !noSync {
		if err := syncDir(dir); err != nil {
			f.Close()
			return nil, err
		}
	}
	return f, nil
}

// syncDir fsyncs a directory so that creates, renames and deletes in it are durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("spool: open dir: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("spool: sync dir: %w", err)
	}
	return nil
}
