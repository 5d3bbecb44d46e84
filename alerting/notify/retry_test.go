package notify_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"carebed/alerting"
	"carebed/alerting/notify"
)

// fakeNotifier answers each call with the next result of its script (the last one
// repeats) and records when it was called.
type fakeNotifier struct {
	mu     sync.Mutex
	script []result
	calls  []time.Time
}

type result struct {
	retry bool
	err   error
}

func (f *fakeNotifier) Notify(ctx context.Context, n notify.Notification) (notify.Receipt, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, time.Now())
	r := f.script[min(len(f.calls), len(f.script))-1]
	if r.err != nil {
		return notify.Receipt{}, r.retry, r.err
	}
	return notify.Receipt{ProviderID: "P1", Status: "queued"}, false, nil
}

var sample = notify.Notification{
	AlertID: 7, AlertCode: "K7M2", Kind: alerting.KindSOS, Sev: alerting.Critical,
	Purpose: notify.PurposePage,
	To: alerting.Person{ID: "H-0012/family/1", Role: alerting.ReceiverFamily,
		Name: "阿依古丽", Phone: "+8613912345678"},
	Text: "【护床】紧急求助：库尔勒市某村12号，请立即前往。回复1确认。",
}

var (
	errBusy    = errors.New("provider busy")
	errDown    = errors.New("provider down")
	errInvalid = errors.New("invalid number")
)

func TestRetry(t *testing.T) {
	ok := result{}
	busy := result{retry: true, err: errBusy}
	tests := []struct {
		name     string
		script   []result
		timeout  time.Duration // 0: none
		cancel   bool          // ctx cancelled before Retry starts
		attempts int
		wantErr  []error // errors.Is targets; nil means success
	}{
		{name: "first attempt succeeds", script: []result{ok}, attempts: 1},
		{name: "succeeds on the third attempt", script: []result{busy, busy, ok}, attempts: 3},
		{name: "permanent error stops at once", script: []result{busy, {err: errInvalid}}, attempts: 2,
			wantErr: []error{errInvalid}},
		{name: "deadline ends the retries", script: []result{busy}, timeout: 9 * time.Second, // attempts at 0, 1, 2, 4, 6, 8 s
			attempts: 6, wantErr: []error{context.DeadlineExceeded, errBusy}},
		{name: "context already cancelled", script: []result{ok}, cancel: true, attempts: 0,
			wantErr: []error{context.Canceled}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx, cancel := context.WithCancel(t.Context())
				defer cancel()
				if tc.timeout > 0 {
					ctx, cancel = context.WithTimeout(ctx, tc.timeout)
					defer cancel()
				}
				if tc.cancel {
					cancel()
				}
				f := &fakeNotifier{script: tc.script}
				o := notify.RetryOptions{Min: time.Second, Max: 4 * time.Second,
					Jitter: func() float64 { return 0 }, Logger: discard()}
				r, n, err := notify.Retry(ctx, f, sample, o)
				if n != tc.attempts || len(f.calls) != tc.attempts {
					t.Errorf("attempts = %d (notifier saw %d), want %d", n, len(f.calls), tc.attempts)
				}
				if tc.wantErr == nil {
					if err != nil || r.ProviderID != "P1" {
						t.Fatalf("Retry = %+v, %v; want receipt P1", r, err)
					}
					return
				}
				for _, target := range tc.wantErr {
					if !errors.Is(err, target) {
						t.Errorf("Retry error %v is not %v", err, target)
					}
				}
				assertNoPersonalData(t, err.Error())
			})
		})
	}
}

func TestRetryPausesGrowWithinBounds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		busy := result{retry: true, err: errBusy}
		f := &fakeNotifier{script: []result{busy, busy, busy, busy, busy, {}}}
		o := notify.RetryOptions{Min: time.Second, Max: 5 * time.Second,
			Jitter: func() float64 { return 0.5 }, Logger: discard()}
		if _, _, err := notify.Retry(t.Context(), f, sample, o); err != nil {
			t.Fatal(err)
		}
		// Ceilings 1s, 2s, 4s, 5s, 5s; pauses halfway between max(Min, ceiling/2) and it.
		want := []time.Duration{1000, 1500, 3000, 3750, 3750}
		for i, w := range want {
			if got := f.calls[i+1].Sub(f.calls[i]); got != w*time.Millisecond {
				t.Errorf("pause %d = %v, want %v", i+1, got, w*time.Millisecond)
			}
		}
	})
}

func TestBackoff(t *testing.T) {
	o := notify.RetryOptions{Min: 500 * time.Millisecond, Max: 30 * time.Second}
	tests := []struct {
		name string
		n    int
		j    float64
		want time.Duration
	}{
		{name: "first pause is Min", n: 1, j: 0.99, want: 500 * time.Millisecond},
		{name: "second pause low end", n: 2, j: 0, want: 500 * time.Millisecond},
		{name: "second pause high end", n: 2, j: 0.999999, want: 999999500 * time.Nanosecond},
		{name: "fifth pause", n: 5, j: 0, want: 4 * time.Second},
		{name: "capped at Max", n: 20, j: 0.999999999, want: 30*time.Second - 15},
		{name: "huge attempt count does not overflow", n: 1 << 20, j: 0, want: 15 * time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := o.Backoff(tc.n, tc.j); got != tc.want {
				t.Errorf("Backoff(%d, %v) = %v, want %v", tc.n, tc.j, got, tc.want)
			}
		})
	}
	if got := (notify.RetryOptions{}).Backoff(1, 0); got != notify.DefaultRetryMin {
		t.Errorf("default first pause = %v, want %v", got, notify.DefaultRetryMin)
	}
}

func TestRetryLogsOnlyWhenTheErrorChanges(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		busy := result{retry: true, err: errBusy}
		down := result{retry: true, err: errDown}
		f := &fakeNotifier{script: []result{busy, busy, busy, down, down, busy, {}}}
		var buf bytes.Buffer
		o := notify.RetryOptions{Min: time.Millisecond, Max: time.Millisecond,
			Logger: slog.New(slog.NewTextHandler(&buf, nil))}
		if _, n, err := notify.Retry(t.Context(), f, sample, o); err != nil || n != 7 {
			t.Fatalf("Retry = %d attempts, %v; want 7, nil", n, err)
		}
		logs := buf.String()
		if got := strings.Count(logs, "will retry"); got != 3 {
			t.Errorf("%d retry warnings, want 3 (busy, down, busy):\n%s", got, logs)
		}
		if !strings.Contains(logs, "attempts=7") {
			t.Errorf("no success line with the attempt count:\n%s", logs)
		}
		for _, want := range []string{"alert=K7M2", "purpose=page", "to=H-0012/family/1"} {
			if !strings.Contains(logs, want) {
				t.Errorf("log lacks %q:\n%s", want, logs)
			}
		}
		assertNoPersonalData(t, logs)
	})
}

func TestRetryableStatus(t *testing.T) {
	tests := []struct {
		name  string
		code  int
		retry bool
	}{
		{"created", 201, false},
		{"redirect", 302, false},
		{"bad request", 400, false},
		{"unauthorized", 401, false},
		{"not found", 404, false},
		{"request timeout", 408, true},
		{"too many requests", 429, true},
		{"internal error", 500, true},
		{"bad gateway", 502, true},
		{"unavailable", 503, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := notify.RetryableStatus(tc.code); got != tc.retry {
				t.Errorf("RetryableStatus(%d) = %v, want %v", tc.code, got, tc.retry)
			}
		})
	}
}

func TestNotificationStringHasNoPersonalData(t *testing.T) {
	s := sample.String()
	if s != "alert K7M2 page to H-0012/family/1" {
		t.Errorf("String() = %q", s)
	}
	assertNoPersonalData(t, s)
}

func assertNoPersonalData(t *testing.T, s string) {
	t.Helper()
	for _, secret := range []string{sample.To.Phone, sample.To.Name, sample.Text, "13912345678"} {
		if strings.Contains(s, secret) {
			t.Errorf("%q contains personal data %q", s, secret)
		}
	}
}

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }
