package spool

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestOpenValidatesOptions(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		opt  Options
		want string
	}{
		{"no dir", Options{}, "Dir"},
		{"tiny segments", Options{Dir: dir, SegmentBytes: 100}, "SegmentBytes"},
		{"negative max", Options{Dir: dir, MaxBytes: -1}, "MaxBytes"},
		{"negative keep", Options{Dir: dir, KeepShippedBytes: -5}, "KeepShippedBytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Open(tt.opt)
			if !errors.Is(err, errOption) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Open error = %v, want one naming %s", err, tt.want)
			}
		})
	}
}

func TestRoundTrip(t *testing.T) {
	clock := newFakeClock()
	e := openSynced(t, t.TempDir(), Options{Now: clock.Now})
	in := [][]byte{[]byte("a"), {}, []byte(strings.Repeat("x", 5000)), []byte("last")}
	if err := e.Append(in[:2]); err != nil {
		t.Fatal(err)
	}
	if err := e.Append(in[2:]); err != nil {
		t.Fatal(err)
	}
	if st := e.Stats(); st.Records != 4 || st.Bytes != 4*headerSize+5+5000 || st.Oldest.IsZero() {
		t.Fatalf("Stats = %+v", st)
	}
	b, err := e.Read(context.Background(), 100, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.EqualFunc(b.Records, in, func(a, b []byte) bool { return string(a) == string(b) }) {
		t.Fatalf("Read = %q, want %q", b.Records, in)
	}
	if want := time.Unix(1_700_000_001, 0); !b.Oldest.Equal(want) {
		t.Errorf("Oldest = %v, want %v", b.Oldest, want)
	}
	if err := e.Commit(b); err != nil {
		t.Fatal(err)
	}
	if st := e.Stats(); st.Records != 0 || st.Bytes != 0 || !st.Oldest.IsZero() {
		t.Fatalf("Stats after commit = %+v", st)
	}
	assertEmpty(t, e.Spool)
}

func TestReadBatchLimits(t *testing.T) {
	e := open(t, t.TempDir(), Options{})
	appendN(t, e.Spool, 0, 10, 100)
	if err := e.Append([][]byte{rec(10, 3000)}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		maxRecords int
		maxBytes   int
		want       int
	}{
		{"by records", 3, 1 << 20, 3},
		{"by bytes", 100, 3*116 + 50, 3},
		{"rest of the small ones", 100, 4*116 + 100, 4},
		{"one record larger than maxBytes", 100, 10, 1},
	}
	for _, tt := range tests {
		b, err := e.Read(context.Background(), tt.maxRecords, tt.maxBytes)
		if err != nil || len(b.Records) != tt.want {
			t.Fatalf("%s: Read = %d records, %v; want %d", tt.name, len(b.Records), err, tt.want)
		}
	}
	if _, err := e.Read(context.Background(), 0, 1); err == nil {
		t.Error("Read with maxRecords 0 succeeded")
	}
}

func TestReadAheadRewind(t *testing.T) {
	e := open(t, t.TempDir(), Options{})
	appendN(t, e.Spool, 0, 10, 50)
	b1, got1 := readN(t, e.Spool, 3, 3)
	b2, got2 := readN(t, e.Spool, 3, 3)
	if !slices.Equal(names(got1), want(0, 3)) || !slices.Equal(names(got2), want(3, 6)) {
		t.Fatalf("read ahead got %v then %v", names(got1), names(got2))
	}
	if err := e.Commit(b1[0]); err != nil {
		t.Fatal(err)
	}
	e.Rewind()
	_, again := readN(t, e.Spool, 3, 3)
	if !slices.Equal(names(again), want(3, 6)) {
		t.Fatalf("after Rewind got %v, want %v", names(again), want(3, 6))
	}
	if err := e.Commit(b2[0]); err != nil { // read before the Rewind: same records
		t.Fatal(err)
	}
	_, rest := readN(t, e.Spool, 4, 10)
	if !slices.Equal(names(rest), want(6, 10)) {
		t.Fatalf("after commit got %v, want %v", names(rest), want(6, 10))
	}
}

func TestCommitOrder(t *testing.T) {
	// Two batches of two 216-byte records per segment; shipped segments are deleted.
	e := open(t, t.TempDir(), Options{SegmentBytes: 1024, KeepShippedBytes: 1})
	appendN(t, e.Spool, 0, 12, 200)
	bs, _ := readN(t, e.Spool, 12, 2)
	tests := []struct {
		name  string
		batch Batch
		ok    bool
	}{
		{"empty batch", Batch{}, false},
		{"second before first", bs[1], false},
		{"first", bs[0], true},
		{"first again", bs[0], false},
		{"third before second", bs[2], false},
		{"second", bs[1], true},
		{"first of a deleted segment", bs[0], false},
		{"second of a deleted segment", bs[1], false},
		{"third", bs[2], true},
	}
	for _, tt := range tests {
		err := e.Commit(tt.batch)
		if tt.ok != (err == nil) || err != nil && !errors.Is(err, ErrCommitOrder) {
			t.Errorf("%s: Commit = %v", tt.name, err)
		}
	}
	if st := e.Stats(); st.Records != 6 || st.Segments != 2 {
		t.Errorf("Stats = %+v, want 6 records in 2 segments", st)
	}
}

func TestRestartReadsFromCommit(t *testing.T) {
	dir := t.TempDir()
	e := openSynced(t, dir, Options{SegmentBytes: 1024})
	appendN(t, e.Spool, 0, 20, 100)
	bs, _ := readN(t, e.Spool, 7, 7)
	if err := e.Commit(bs[0]); err != nil {
		t.Fatal(err)
	}
	readN(t, e.Spool, 5, 5) // read, never committed
	e = e.reopen(t)
	if st := e.Stats(); st.Records != 13 || st.Bytes != 13*116 {
		t.Fatalf("Stats after restart = %+v, want 13 records", st)
	}
	_, got := readN(t, e.Spool, 13, 100)
	if !slices.Equal(names(got), want(7, 20)) {
		t.Fatalf("after restart read %v, want %v", names(got), want(7, 20))
	}
	appendN(t, e.Spool, 20, 22, 100)
	_, got = readN(t, e.Spool, 2, 100)
	if !slices.Equal(names(got), want(20, 22)) {
		t.Fatalf("new appends read %v", names(got))
	}
}

func TestReadBlocksUntilDataOrEnd(t *testing.T) {
	e := open(t, t.TempDir(), Options{})
	got := make(chan error, 1)
	go func() {
		_, err := e.Read(context.Background(), 10, 1<<20)
		got <- err
	}()
	time.Sleep(10 * time.Millisecond)
	appendN(t, e.Spool, 0, 1, 10)
	if err := <-got; err != nil {
		t.Fatalf("blocked Read = %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if _, err := e.Read(ctx, 10, 1<<20); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Read on empty spool = %v, want deadline", err)
	}
	go func() {
		_, err := e.Read(context.Background(), 10, 1<<20)
		got <- err
	}()
	time.Sleep(10 * time.Millisecond)
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-got; !errors.Is(err, ErrClosed) {
		t.Fatalf("Read blocked at Close = %v, want ErrClosed", err)
	}
	if err := e.Append([][]byte{{1}}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Append after Close = %v", err)
	}
}

func TestFull(t *testing.T) {
	e := open(t, t.TempDir(), Options{MaxBytes: 10 * 116})
	appendN(t, e.Spool, 0, 10, 100)
	for range 3 {
		if err := e.Append([][]byte{rec(10, 100)}); !errors.Is(err, ErrFull) {
			t.Fatalf("Append past MaxBytes = %v, want ErrFull", err)
		}
	}
	if n := e.counter("full_total"); n != 3 {
		t.Errorf("full_total = %v, want 3", n)
	}
	if n := e.log.Count("spool: full"); n != 1 {
		t.Errorf("logged full %d times, want once", n)
	}
	bs, _ := readN(t, e.Spool, 2, 2)
	if err := e.Commit(bs[0]); err != nil {
		t.Fatal(err)
	}
	appendN(t, e.Spool, 10, 12, 100)
	if err := e.Append([][]byte{rec(12, 100)}); !errors.Is(err, ErrFull) {
		t.Fatalf("Append when full again = %v, want ErrFull", err)
	}
	if err := e.Append([][]byte{make([]byte, 2000)}); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Append larger than MaxBytes = %v, want ErrTooLarge", err)
	}
	if err := e.Append([][]byte{make([]byte, DefaultSegmentBytes)}); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Append of a record larger than a segment = %v, want ErrTooLarge", err)
	}
}

func TestSecondOpenOfDirFails(t *testing.T) {
	dir := t.TempDir()
	open(t, dir, Options{})
	if s, err := Open(Options{Dir: dir}); err == nil {
		s.Close()
		t.Fatal("second Open of the same directory succeeded")
	}
}

func TestStatsOldest(t *testing.T) {
	clock := newFakeClock()
	e := open(t, t.TempDir(), Options{Now: clock.Now})
	appendN(t, e.Spool, 0, 3, 10) // stamped at +1s, +2s, +3s
	at := func(sec int64) time.Time { return time.Unix(1_700_000_000+sec, 0) }
	if st := e.Stats(); !st.Oldest.Equal(at(1)) {
		t.Fatalf("Oldest = %v, want %v", st.Oldest, at(1))
	}
	bs, _ := readN(t, e.Spool, 1, 1)
	if err := e.Commit(bs[0]); err != nil {
		t.Fatal(err)
	}
	if st := e.Stats(); !st.Oldest.Equal(at(2)) || st.Records != 2 {
		t.Fatalf("after commit Stats = %+v, want oldest %v", st, at(2))
	}
	e = e.reopen(t)
	if st := e.Stats(); !st.Oldest.Equal(at(2)) || st.Records != 2 {
		t.Fatalf("after reopen Stats = %+v, want oldest %v", st, at(2))
	}
}
