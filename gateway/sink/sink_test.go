package sink

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	influxhttp "github.com/influxdata/influxdb-client-go/v2/api/http"

	"carebed/gateway/deadletter"
	"carebed/gateway/points"
	"carebed/gateway/spool"
)

// fakeWriter answers writes with fn and keeps the lines it accepted.
type fakeWriter struct {
	mu       sync.Mutex
	fn       func(lines []string) error
	calls    int
	accepted []string
}

func (w *fakeWriter) WriteRecord(_ context.Context, lines ...string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.calls++
	if err := w.fn(lines); err != nil {
		return err
	}
	for _, l := range lines {
		l = strings.Clone(l) // the sink reuses the memory after the call
		w.accepted = append(w.accepted, strings.Split(strings.TrimSuffix(l, "\n"), "\n")...)
	}
	return nil
}

func (w *fakeWriter) n() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.calls
}

type fakeDead struct {
	mu      sync.Mutex
	entries []deadletter.Entry
}

func (d *fakeDead) Write(e deadletter.Entry) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.entries = append(d.entries, e)
	return nil
}

func record(i int) []byte {
	rec := points.AppendRecordHeader(nil, "bed-0001", uint64(i))
	return append(rec, fmt.Sprintf("telemetry,device=bed-0001 seq=%di %d\n", i, i)...)
}

// recordWithPosition is record, and every tenth (3, 13, ...) carries a position too,
// which must never reach the dead-letter log.
func recordWithPosition(i int) []byte {
	rec := record(i)
	if i%10 == 3 {
		rec = append(rec, fmt.Sprintf("position,device=bed-0001 lat=42.87,lon=83.71,acc_m=5.0,seq=%di %d\n", i, i)...)
	}
	return rec
}

func openSpool(t *testing.T, n int) *spool.Spool {
	t.Helper()
	return openSpoolWith(t, n, record)
}

func openSpoolWith(t *testing.T, n int, record func(int) []byte) *spool.Spool {
	t.Helper()
	sp, err := spool.Open(spool.Options{Dir: t.TempDir(), NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sp.Close() })
	recs := make([][]byte, n)
	for i := range recs {
		recs[i] = record(i)
	}
	if err := sp.Append(recs); err != nil {
		t.Fatal(err)
	}
	return sp
}

func status(code int) error {
	return &influxhttp.Error{StatusCode: code, Message: http.StatusText(code)}
}

func TestFlush(t *testing.T) {
	hasBad := func(lines []string) bool {
		for _, l := range lines {
			if strings.Contains(l, "seq=13i") || strings.Contains(l, "seq=40i") {
				return true
			}
		}
		return false
	}
	cases := []struct {
		name      string
		fn        func(calls int, lines []string) error
		wantLines int
		wantDead  int
	}{
		{"all accepted", func(int, []string) error { return nil }, 55, 0},
		{"server errors then ok", func(calls int, _ []string) error {
			if calls < 3 {
				return status(http.StatusServiceUnavailable)
			}
			return nil
		}, 55, 0},
		{"unreachable then ok", func(calls int, _ []string) error {
			if calls < 2 {
				return errors.New("dial tcp: connection refused")
			}
			return nil
		}, 55, 0},
		{"too many requests then ok", func(calls int, _ []string) error {
			if calls < 2 {
				return status(http.StatusTooManyRequests)
			}
			return nil
		}, 55, 0},
		{"two malformed points isolated", func(_ int, lines []string) error {
			if hasBad(lines) {
				return status(http.StatusBadRequest)
			}
			return nil
		}, 52, 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sp := openSpoolWith(t, 50, recordWithPosition)
			w := &fakeWriter{}
			w.fn = func(lines []string) error { return c.fn(w.calls, lines) }
			dead := &fakeDead{}
			s := New(Options{Source: sp, Writer: w, DeadLetters: dead, BatchRecords: 20,
				RetryMin: time.Millisecond, RetryMax: 5 * time.Millisecond})
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := s.Flush(ctx); err != nil {
				t.Fatal(err)
			}
			if len(w.accepted) != c.wantLines || len(dead.entries) != c.wantDead {
				t.Errorf("accepted %d lines, dead-lettered %d; want %d, %d", len(w.accepted), len(dead.entries), c.wantLines, c.wantDead)
			}
			for _, e := range dead.entries {
				if strings.Contains(e.Payload, "lat=") {
					t.Errorf("a position in the dead-letter log: %q", e.Payload)
				}
			}
			if st := sp.Stats(); st.Records != 0 {
				t.Errorf("spool still holds %d records", st.Records)
			}
			if !s.Healthy() {
				t.Error("not healthy after a successful flush")
			}
		})
	}
}

func TestRunKeepsDataWhileInfluxIsDown(t *testing.T) {
	sp := openSpool(t, 10)
	w := &fakeWriter{fn: func([]string) error { return status(http.StatusServiceUnavailable) }}
	s := New(Options{Source: sp, Writer: w, DeadLetters: &fakeDead{}, RetryMin: time.Millisecond, RetryMax: 2 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- s.Run(ctx) }()
	deadline := time.Now().Add(10 * time.Second)
	for s.Healthy() || w.n() < 3 {
		if time.Now().After(deadline) {
			t.Fatal("writer was not retried")
		}
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if st := sp.Stats(); st.Records != 10 {
		t.Fatalf("spool holds %d records after failed writes, want all 10", st.Records)
	}
	w.mu.Lock()
	w.fn = func([]string) error { return nil }
	w.mu.Unlock()
	if err := s.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(w.accepted) != 10 {
		t.Errorf("accepted %d lines after recovery, want 10", len(w.accepted))
	}
}

// appendRecords adds records from..to-1 to sp.
func appendRecords(t *testing.T, sp *spool.Spool, from, to int) {
	t.Helper()
	var recs [][]byte
	for i := from; i < to; i++ {
		recs = append(recs, record(i))
	}
	if err := sp.Append(recs); err != nil {
		t.Fatal(err)
	}
}

// runSink runs s until the test ends.
func runSink(t *testing.T, s *Sink) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
}

// waitWrites waits up to 10 s for the first write.
func waitWrites(t *testing.T, w *fakeWriter) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for w.n() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("nothing written within 10 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestFlushIntervalJoinsRecordsThatKeepComing: while records keep coming, fewer than
// a batch, they wait for one write (up to the flush interval) instead of one write
// per group commit.
func TestFlushIntervalJoinsRecordsThatKeepComing(t *testing.T) {
	sp := openSpool(t, 0)
	w := &fakeWriter{fn: func([]string) error { return nil }}
	s := New(Options{Source: sp, Writer: w, DeadLetters: &fakeDead{}, BatchRecords: 100, FlushInterval: time.Hour})
	runSink(t, s)
	const appends = 15
	for i := range appends {
		appendRecords(t, sp, 2*i, 2*i+2)
		time.Sleep(20 * time.Millisecond)
	}
	waitWrites(t, w)
	deadline := time.Now().Add(10 * time.Second)
	for sp.Stats().Records > 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.accepted) != 2*appends {
		t.Fatalf("%d lines written, want %d", len(w.accepted), 2*appends)
	}
	// One write, or a few if the machine stalled the appends for a settle step.
	if w.calls > 3 {
		t.Errorf("%d writes for %d appends 20 ms apart, want them joined", w.calls, appends)
	}
}

// TestQuietTrafficIsWrittenSoon: when records stop coming, what waits is written
// after a settle step, not after the whole flush interval.
func TestQuietTrafficIsWrittenSoon(t *testing.T) {
	sp := openSpool(t, 0)
	w := &fakeWriter{fn: func([]string) error { return nil }}
	s := New(Options{Source: sp, Writer: w, DeadLetters: &fakeDead{}, BatchRecords: 100, FlushInterval: time.Hour})
	appendRecords(t, sp, 0, 5)
	runSink(t, s)
	waitWrites(t, w)
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.accepted) != 5 {
		t.Errorf("%d lines written, want 5", len(w.accepted))
	}
}

// TestFullBatchIsWrittenAtOnce: a full batch does not wait for the flush interval.
func TestFullBatchIsWrittenAtOnce(t *testing.T) {
	sp := openSpool(t, 0)
	w := &fakeWriter{fn: func([]string) error { return nil }}
	s := New(Options{Source: sp, Writer: w, DeadLetters: &fakeDead{}, BatchRecords: 20, FlushInterval: time.Hour})
	appendRecords(t, sp, 0, 20)
	runSink(t, s)
	deadline := time.Now().Add(10 * time.Second)
	for w.n() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("a full batch waited (10 s) for the hour-long flush interval")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
