package spool

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"
)

func TestConcurrentAppenders(t *testing.T) {
	const writers, each = 8, 250
	e := open(t, t.TempDir(), Options{SegmentBytes: 4096})
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				if err := e.Append([][]byte{fmt.Appendf(nil, "%02d-%06d", w, i)}); err != nil {
					t.Errorf("writer %d: Append %d: %v", w, i, err)
					return
				}
			}
		})
	}
	next := make([]int, writers)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for n := 0; n < writers*each; {
		b, err := e.Read(ctx, 64, 1<<20)
		if err != nil {
			t.Fatalf("Read after %d records: %v", n, err)
		}
		for _, r := range b.Records {
			var w, i int
			if _, err := fmt.Sscanf(string(r), "%02d-%06d", &w, &i); err != nil || i != next[w] {
				t.Fatalf("record %q out of order, want %02d-%06d", r, w, next[w])
			}
			next[w]++
		}
		n += len(b.Records)
		if err := e.Commit(b); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	appends, fsyncs := e.counter("appends_total"), e.counter("fsyncs_total")
	t.Logf("%v appends in %v group commits", appends, fsyncs)
	if appends != writers*each || fsyncs > appends || fsyncs < 1 {
		t.Errorf("appends_total %v, fsyncs_total %v", appends, fsyncs)
	}
	if st := e.Stats(); st.Records != 0 {
		t.Errorf("Stats after all commits = %+v", st)
	}
}

// segmentFiles counts the segment files in dir.
func segmentFiles(t *testing.T, dir string) int {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*"+segmentExt))
	if err != nil {
		t.Fatal(err)
	}
	return len(m)
}

// recent returns the names of the records Recent visits.
func recent(t *testing.T, s *Spool) []string {
	t.Helper()
	var got []string
	if err := s.Recent(func(r []byte) error {
		got = append(got, string(r))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return names(got)
}

func TestRotationAndRetention(t *testing.T) {
	dir := t.TempDir()
	// 4 records of 216 bytes (864) per segment; two shipped segments fit in 2048.
	e := open(t, dir, Options{SegmentBytes: 1024, KeepShippedBytes: 2048})
	appendN(t, e.Spool, 0, 40, 200)
	if st := e.Stats(); st.Segments != 10 || segmentFiles(t, dir) != 10 {
		t.Fatalf("Stats = %+v, %d files, want 10 segments", st, segmentFiles(t, dir))
	}
	bs, _ := readN(t, e.Spool, 40, 5) // batches end with their segment: 10 of 4 records
	tests := []struct {
		commits, segments int
	}{
		{1, 10}, // segment 1 shipped, kept
		{4, 8},  // segments 1-4 shipped, 3 and 4 kept
		{10, 3}, // all shipped: 8 and 9 kept, 10 is active
	}
	done := 0
	for _, tt := range tests {
		for ; done < tt.commits; done++ {
			if err := e.Commit(bs[done]); err != nil {
				t.Fatal(err)
			}
		}
		if st := e.Stats(); st.Segments != tt.segments || segmentFiles(t, dir) != tt.segments {
			t.Fatalf("after %d commits: Stats = %+v, %d files, want %d", tt.commits, st,
				segmentFiles(t, dir), tt.segments)
		}
	}
	if got := recent(t, e.Spool); !slices.Equal(got, want(28, 40)) {
		t.Fatalf("Recent = %v, want %v", got, want(28, 40))
	}
	e = e.reopen(t)
	if st := e.Stats(); st.Segments != 3 || st.Records != 0 {
		t.Fatalf("after reopen Stats = %+v", st)
	}
	if got := recent(t, e.Spool); !slices.Equal(got, want(28, 40)) {
		t.Fatalf("Recent after reopen = %v", got)
	}
}

func TestRecent(t *testing.T) {
	e := open(t, t.TempDir(), Options{SegmentBytes: 1024})
	appendN(t, e.Spool, 0, 10, 200)
	bs, _ := readN(t, e.Spool, 4, 4)
	if err := e.Commit(bs[0]); err != nil {
		t.Fatal(err)
	}
	if got := recent(t, e.Spool); !slices.Equal(got, want(0, 10)) {
		t.Fatalf("Recent = %v, want shipped and unshipped records", got)
	}
	stop := errors.New("stop")
	calls := 0
	err := e.Recent(func([]byte) error {
		if calls++; calls == 3 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || calls != 3 {
		t.Fatalf("Recent = %v after %d calls, want stop after 3", err, calls)
	}
}

func TestMetricsSurviveReopen(t *testing.T) {
	e := open(t, t.TempDir(), Options{})
	appendN(t, e.Spool, 0, 3, 10)
	reg := e.reg
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	s, err := Open(Options{Dir: e.opt.Dir, Registerer: reg})
	if err != nil {
		t.Fatalf("reopen with the same registry: %v", err)
	}
	defer s.Close()
	mfs, _ := reg.Gather()
	for _, mf := range mfs {
		if mf.GetName() == "carebed_spool_depth_records" && mf.GetMetric()[0].GetGauge().GetValue() != 3 {
			t.Errorf("depth_records = %v, want 3", mf.GetMetric()[0].GetGauge().GetValue())
		}
	}
	if _, err := os.Stat(filepath.Join(e.opt.Dir, cursorName)); err != nil {
		t.Error(err)
	}
}

func TestAppendAsync(t *testing.T) {
	e := openSynced(t, t.TempDir(), Options{SegmentBytes: 4096, MaxBytes: 100 * 116, SyncInterval: time.Millisecond})
	var mu sync.Mutex
	var order []int
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Add(1)
		err := e.AppendAsync([][]byte{rec(i, 100)}, func(err error) {
			defer wg.Done()
			if err != nil {
				t.Errorf("record %d: %v", i, err)
			}
			mu.Lock()
			order = append(order, i)
			mu.Unlock()
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	if !slices.IsSorted(order) || len(order) != 50 {
		t.Fatalf("callbacks ran in order %v", order)
	}
	_, got := readN(t, e.Spool, 50, 100)
	if !slices.Equal(names(got), want(0, 50)) {
		t.Fatalf("read %v", names(got))
	}
	big := make([][]byte, 51)
	for i := range big {
		big[i] = rec(i, 100)
	}
	err := e.AppendAsync(big, func(error) { t.Error("callback of a rejected append ran") })
	if !errors.Is(err, ErrFull) {
		t.Fatalf("AppendAsync past MaxBytes = %v, want ErrFull", err)
	}
}

func TestCloseWaitsForPendingAppends(t *testing.T) {
	e := openSynced(t, t.TempDir(), Options{SyncInterval: 50 * time.Millisecond})
	appendN(t, e.Spool, 0, 1, 10) // the next group waits for the interval
	called := make(chan error, 1)
	if err := e.AppendAsync([][]byte{rec(1, 10)}, func(err error) { called <- err }); err != nil {
		t.Fatal(err)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-called:
		if err != nil {
			t.Fatalf("callback error %v", err)
		}
	default:
		t.Fatal("Close returned before the pending append was written")
	}
	o := e.opt
	o.Logger, o.Registerer = nil, nil
	e = openSynced(t, o.Dir, o)
	if st := e.Stats(); st.Records != 2 {
		t.Fatalf("after Close and reopen Stats = %+v, want 2 records", st)
	}
}
