package spool

import (
	"bytes"
	"os"
	"slices"
	"testing"
)

// frameBytes returns the frame of rec stamped t.
func frameBytes(rec []byte) []byte { return appendFrame(nil, rec, 42) }

// appendFile appends b to the file at path.
func appendFile(t *testing.T, path string, b []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(b); err != nil {
		t.Fatal(err)
	}
}

// flipByte inverts the byte at off in the file at path.
func flipByte(t *testing.T, path string, off int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := []byte{0}
	if _, err := f.ReadAt(b, off); err != nil {
		t.Fatal(err)
	}
	b[0] ^= 0xff
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}

func TestTornTailTruncated(t *testing.T) {
	full := frameBytes(rec(99, 100))
	badCRC := slices.Clone(full)
	badCRC[50] ^= 1
	tests := []struct {
		name string
		tail []byte
	}{
		{"partial header", full[:5]},
		{"partial payload", full[:headerSize+40]},
		{"garbage", bytes.Repeat([]byte{0xab}, 37)},
		{"bad checksum", badCRC},
		{"zeros", make([]byte, 4096)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			e := open(t, dir, Options{})
			appendN(t, e.Spool, 0, 5, 100)
			e.Close()
			appendFile(t, segmentPath(dir, 1), tt.tail)
			e = open(t, dir, Options{})
			if n := e.counter("corrupt_total"); n != 1 || e.log.Count("truncating torn tail") != 1 {
				t.Errorf("corrupt_total = %v, log:\n%s", n, e.log.String())
			}
			if fi, _ := os.Stat(segmentPath(dir, 1)); fi.Size() != 5*116 {
				t.Errorf("segment size %d after truncation, want %d", fi.Size(), 5*116)
			}
			appendN(t, e.Spool, 5, 6, 100)
			e = e.reopen(t)
			_, got := readN(t, e.Spool, 6, 100)
			if !slices.Equal(names(got), want(0, 6)) {
				t.Fatalf("read %v", names(got))
			}
			assertEmpty(t, e.Spool)
		})
	}
}

func TestCorruptSegmentSkippedAtOpen(t *testing.T) {
	dir := t.TempDir()
	e := open(t, dir, Options{SegmentBytes: 1024}) // 4 records of 216 bytes per segment
	appendN(t, e.Spool, 0, 20, 200)
	e.Close()
	flipByte(t, segmentPath(dir, 2), 216+20) // record 5
	e = open(t, dir, Options{SegmentBytes: 1024})
	if n := e.counter("corrupt_total"); n != 1 || e.log.Count("corrupt segment") != 1 {
		t.Errorf("corrupt_total = %v, log:\n%s", n, e.log.String())
	}
	if st := e.Stats(); st.Records != 17 {
		t.Errorf("Stats = %+v, want 17 records", st)
	}
	_, got := readN(t, e.Spool, 17, 100)
	if w := append(want(0, 5), want(8, 20)...); !slices.Equal(names(got), w) {
		t.Fatalf("read %v, want %v", names(got), w)
	}
	assertEmpty(t, e.Spool)
}

func TestCorruptionFoundByRead(t *testing.T) {
	tests := []struct {
		name      string
		appended  int
		segment   uint64
		lost      []string
		segsAfter int
	}{
		{"sealed segment", 20, 2, want(5, 8), 6},
		{"active segment", 18, 5, want(17, 18), 6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			e := open(t, dir, Options{SegmentBytes: 1024})
			appendN(t, e.Spool, 0, tt.appended, 200)
			flipByte(t, segmentPath(dir, tt.segment), 216+20)
			kept := slices.DeleteFunc(want(0, tt.appended), func(s string) bool { return slices.Contains(tt.lost, s) })
			bs, got := readN(t, e.Spool, len(kept), 100)
			if !slices.Equal(names(got), kept) {
				t.Fatalf("read %v, want %v", names(got), kept)
			}
			assertEmpty(t, e.Spool)
			for _, b := range bs {
				if err := e.Commit(b); err != nil {
					t.Fatal(err)
				}
			}
			if st := e.Stats(); st.Records != 0 || st.Bytes != 0 || e.counter("corrupt_total") != 1 {
				t.Fatalf("Stats = %+v, corrupt_total %v", st, e.counter("corrupt_total"))
			}
			appendN(t, e.Spool, 100, 102, 200)
			if st := e.Stats(); st.Segments != tt.segsAfter {
				t.Errorf("%d segments, want %d", st.Segments, tt.segsAfter)
			}
			if got, w := recent(t, e.Spool), append(kept, want(100, 102)...); !slices.Equal(got, w) {
				t.Errorf("Recent = %v, want %v", got, w)
			}
			e = e.reopen(t)
			_, got = readN(t, e.Spool, 2, 100)
			if !slices.Equal(names(got), want(100, 102)) {
				t.Fatalf("after reopen read %v", names(got))
			}
		})
	}
}
