package spool

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// The committed position is kept in an append-only cursor log of 32-byte records
// (segment uint64, offset int64, CRC-32C of those 16 bytes, 12 bytes zero); the last
// record with a valid CRC wins. Records are sector aligned, and a torn last record
// fails its CRC, so the previous one is used. Open, and every cursorRewriteAt bytes,
// replace the log by a fresh one through a temporary file and a rename.
//
// Every commit is written at once, so it survives a crash of the process; the log
// is fsynced at most once per cursorSyncInterval (and by Close), because an fsync
// costs a few hundred microseconds of CPU and a commit lost to a power failure only
// means that its records are read and shipped again.
const (
	cursorName         = "cursor"
	cursorRecSize      = 32
	cursorRewriteAt    = 1024 * cursorRecSize
	cursorSyncInterval = time.Second
)

// cursorLog appends committed positions.
type cursorLog struct {
	dir      string
	f        *os.File
	size     int64
	noSync   bool
	dirty    bool      // written since the last fsync
	lastSync time.Time // of the log
}

// readCursor returns the last valid position in dir's cursor log; ok is false when
// there is none.
func readCursor(dir string) (p pos, ok bool, err error) {
	b, err := os.ReadFile(filepath.Join(dir, cursorName))
	if errors.Is(err, fs.ErrNotExist) {
		return pos{}, false, nil
	}
	if err != nil {
		return pos{}, false, fmt.Errorf("spool: read cursor: %w", err)
	}
	for ; len(b) >= cursorRecSize; b = b[cursorRecSize:] {
		if binary.LittleEndian.Uint32(b[16:]) == crc32.Checksum(b[:16], castagnoli) {
			p = pos{seg: binary.LittleEndian.Uint64(b), off: int64(binary.LittleEndian.Uint64(b[8:]))}
			ok = true
		}
	}
	return p, ok, nil
}

// cursorRecord encodes p as one cursor log record.
func cursorRecord(p pos) []byte {
	b := make([]byte, cursorRecSize)
	binary.LittleEndian.PutUint64(b, p.seg)
	binary.LittleEndian.PutUint64(b[8:], uint64(p.off))
	binary.LittleEndian.PutUint32(b[16:], crc32.Checksum(b[:16], castagnoli))
	return b
}

// openCursor replaces dir's cursor log by one holding p and opens it for appends.
func openCursor(dir string, p pos, noSync bool) (*cursorLog, error) {
	c := &cursorLog{dir: dir, noSync: noSync}
	if err := c.rewrite(p); err != nil {
		return nil, err
	}
	return c, nil
}

// rewrite atomically replaces the log by one holding p.
func (c *cursorLog) rewrite(p pos) error {
	tmp := filepath.Join(c.dir, cursorName+".tmp")
	if err := c.writeFile(tmp, cursorRecord(p)); err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(c.dir, cursorName)); err != nil {
		return fmt.Errorf("spool: rename cursor: %w", err)
	}
	if !c.noSync {
		if err := syncDir(c.dir); err != nil {
			return err
		}
	}
	f, err := os.OpenFile(filepath.Join(c.dir, cursorName), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return fmt.Errorf("spool: open cursor: %w", err)
	}
	if c.f != nil {
		c.f.Close()
	}
	c.f, c.size, c.dirty, c.lastSync = f, cursorRecSize, false, time.Now()
	return nil
}

// writeFile writes b to a new file at path and fsyncs it.
func (c *cursorLog) writeFile(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("spool: create cursor: %w", err)
	}
	_, err = f.Write(b)
	if err == nil && !c.noSync {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("spool: write cursor: %w", err)
	}
	return nil
}

// write makes p the durable committed position.
func (c *cursorLog) write(p pos) error {
	if c.size >= cursorRewriteAt {
		return c.rewrite(p)
	}
	if _, err := c.f.Write(cursorRecord(p)); err != nil {
		c.size = cursorRewriteAt // a partial record would misalign the rest
		return fmt.Errorf("spool: append cursor: %w", err)
	}
	c.size += cursorRecSize
	c.dirty = true
	if time.Since(c.lastSync) < cursorSyncInterval {
		return nil
	}
	return c.sync()
}

// sync fsyncs the log if it was written since the last fsync.
func (c *cursorLog) sync() error {
	if c.noSync || !c.dirty {
		return nil
	}
	if err := c.f.Sync(); err != nil {
		return fmt.Errorf("spool: sync cursor: %w", err)
	}
	c.dirty, c.lastSync = false, time.Now()
	return nil
}

// close fsyncs and closes the log file.
func (c *cursorLog) close() error {
	err := c.sync()
	if cerr := c.f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("spool: close cursor: %w", cerr)
	}
	return err
}
