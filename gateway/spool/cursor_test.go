package spool

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func TestReadCursor(t *testing.T) {
	valid := func(ps ...pos) []byte {
		var b []byte
		for _, p := range ps {
			b = append(b, cursorRecord(p)...)
		}
		return b
	}
	bad := cursorRecord(pos{seg: 9, off: 9})
	bad[3] ^= 1
	three := valid(pos{seg: 1, off: 32}, pos{seg: 1, off: 64}, pos{seg: 2, off: 16})
	tests := []struct {
		name string
		file []byte // nil: no file
		want pos
		ok   bool
	}{
		{"no file", nil, pos{}, false},
		{"empty file", []byte{}, pos{}, false},
		{"last record wins", three, pos{seg: 2, off: 16}, true},
		{"torn last record", append(bytes.Clone(three), cursorRecord(pos{seg: 3})[:10]...), pos{seg: 2, off: 16}, true},
		{"corrupt last record", append(bytes.Clone(three), bad...), pos{seg: 2, off: 16}, true},
		{"zeros after the records", append(bytes.Clone(three), make([]byte, 64)...), pos{seg: 2, off: 16}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if tt.file != nil {
				if err := os.WriteFile(filepath.Join(dir, cursorName), tt.file, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			got, ok, err := readCursor(dir)
			if err != nil || ok != tt.ok || got != tt.want {
				t.Fatalf("readCursor = %+v, %v, %v; want %+v, %v", got, ok, err, tt.want, tt.ok)
			}
		})
	}
}

func TestCursorLogRewrites(t *testing.T) {
	dir := t.TempDir()
	c, err := openCursor(dir, pos{seg: 1}, true)
	if err != nil {
		t.Fatal(err)
	}
	defer c.close()
	for i := range cursorRewriteAt/cursorRecSize + 5 {
		if err := c.write(pos{seg: 1, off: int64(i)}); err != nil {
			t.Fatal(err)
		}
	}
	fi, err := os.Stat(filepath.Join(dir, cursorName))
	if err != nil || fi.Size() > 8*cursorRecSize {
		t.Fatalf("cursor log not rewritten: %v bytes, %v", fi.Size(), err)
	}
	if got, ok, _ := readCursor(dir); !ok || got.off != cursorRewriteAt/cursorRecSize+4 {
		t.Fatalf("readCursor = %+v, %v", got, ok)
	}
}
