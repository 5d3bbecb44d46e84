package spool

import (
	"context"
	"os"
	"testing"
	"time"
)

// FuzzOpenTail appends arbitrary bytes to a segment holding three good records:
// Open must recover, and Read must return the good records first and only
// well-formed records after them.
func FuzzOpenTail(f *testing.F) {
	good := frameBytes([]byte("extra"))
	f.Add([]byte{})
	f.Add(good)
	f.Add(good[:7])
	f.Add(append(append([]byte{}, good...), 0xff, 0, 0, 0))
	f.Fuzz(func(t *testing.T, tail []byte) {
		dir := t.TempDir()
		e := open(t, dir, Options{NoSync: true})
		appendN(t, e.Spool, 0, 3, 20)
		e.Close()
		appendFile(t, segmentPath(dir, 1), tail)
		e = open(t, dir, Options{NoSync: true})
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		var got []string
		for {
			b, err := e.Read(ctx, 100, 1<<20)
			if err != nil {
				break
			}
			for _, r := range b.Records {
				got = append(got, string(r))
			}
		}
		if len(got) < 3 || names(got[:3])[2] != "rec-000002" {
			t.Fatalf("read %q", got)
		}
		if fi, err := os.Stat(segmentPath(dir, 1)); err != nil || fi.Size() > int64(3*36+len(tail)) {
			t.Fatalf("segment grew: %v %v", fi.Size(), err)
		}
	})
}

// FuzzParseFrame checks that parseFrame never panics and only accepts frames whose
// checksum matches.
func FuzzParseFrame(f *testing.F) {
	f.Add(frameBytes([]byte("hello")), int64(100))
	f.Add([]byte{1, 2, 3}, int64(3))
	f.Fuzz(func(t *testing.T, b []byte, avail int64) {
		if avail < int64(len(b)) {
			avail = int64(len(b))
		}
		payload, _, size, err := parseFrame(b, avail)
		if err == nil && (size > len(b) || checkFrame(b[:size]) != nil || len(payload) != size-headerSize) {
			t.Fatalf("accepted bad frame %x", b)
		}
	})
}
