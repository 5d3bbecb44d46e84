package notify

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"
)

// Defaults for RetryOptions.
const (
	DefaultRetryMin = 500 * time.Millisecond
	DefaultRetryMax = 30 * time.Second
)

// RetryOptions configures Retry. The zero value of every field selects its default.
type RetryOptions struct {
	// Min is the pause after the first failed attempt (default DefaultRetryMin).
	Min time.Duration
	// Max bounds every pause (default DefaultRetryMax; raised to Min if smaller).
	Max time.Duration
	// Logger receives one warning each time the attempt error changes, and one info
	// line when an attempt succeeds after failures (default slog.Default()).
	Logger *slog.Logger
	// Jitter returns a number in [0, 1) that places each pause in its range
	// (default math/rand/v2.Float64). Tests may fix it.
	Jitter func() float64
}

func (o *RetryOptions) ensureDefaults() {
	if o.Min <= 0 {
		o.Min = DefaultRetryMin
	}
	if o.Max <= 0 {
		o.Max = DefaultRetryMax
	}
	o.Max = max(o.Max, o.Min)
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Jitter == nil {
		o.Jitter = rand.Float64
	}
}

// Backoff returns the pause after failed attempt n (n ≥ 1) for a jitter value j in
// [0, 1), with o's defaults applied. The ceiling doubles per attempt from Min up to
// Max, d = min(Max, Min·2^(n−1)), and the pause lies in [max(Min, d/2), d]: the
// first pause is Min, none is shorter than Min or longer than Max.
func (o RetryOptions) Backoff(n int, j float64) time.Duration {
	o.ensureDefaults()
	d := o.Min
	for i := 1; i < n && d < o.Max; i++ {
		if d > o.Max/2 {
			d = o.Max
			break
		}
		d *= 2
	}
	d = min(d, o.Max)
	lo := max(o.Min, d/2)
	return lo + time.Duration(j*float64(d-lo))
}

// Retry calls nf.Notify until it succeeds, says not to retry, or ctx ends, pausing
// between attempts as RetryOptions.Backoff says. It returns the receipt of the
// successful attempt, the number of attempts made and, on failure, an error that
// wraps the last attempt's error (and the context's cause when ctx ended), so
// errors.Is and errors.As see both. Failed attempts are logged only when their
// error differs from the previous one, with the alert code, purpose and person ID.
func Retry(ctx context.Context, nf Notifier, n Notification, o RetryOptions) (Receipt, int, error) {
	o.ensureDefaults()
	log := o.Logger.With("alert", n.AlertCode, "purpose", string(n.Purpose), "to", n.To.ID)
	var (
		last  error
		timer *time.Timer
	)
	for attempt := 1; ; attempt++ {
		if ctx.Err() != nil {
			return Receipt{}, attempt - 1, gaveUp(ctx, n, attempt-1, last)
		}
		r, retry, err := nf.Notify(ctx, n)
		if err == nil {
			if attempt > 1 {
				log.Info("notification sent after retries", "attempts", attempt)
			}
			return r, attempt, nil
		}
		if !retry {
			return r, attempt, fmt.Errorf("%v: failed, not retried, after %d attempts: %w", n, attempt, err)
		}
		if ctx.Err() == nil && (last == nil || last.Error() != err.Error()) {
			log.Warn("notify attempt failed, will retry", "attempt", attempt, "err", err)
		}
		last = err
		timer = resetTimer(timer, o.Backoff(attempt, o.Jitter()))
		select {
		case <-ctx.Done():
			timer.Stop()
			return Receipt{}, attempt, gaveUp(ctx, n, attempt, last)
		case <-timer.C:
		}
	}
}

// resetTimer starts t again for d, creating it on first use.
func resetTimer(t *time.Timer, d time.Duration) *time.Timer {
	if t == nil {
		return time.NewTimer(d)
	}
	t.Reset(d)
	return t
}

// gaveUp is Retry's error when ctx ended after attempts attempts.
func gaveUp(ctx context.Context, n Notification, attempts int, last error) error {
	if last == nil {
		return fmt.Errorf("%v: gave up after %d attempts: %w", n, attempts, context.Cause(ctx))
	}
	return fmt.Errorf("%v: gave up after %d attempts: %w (last error: %w)", n, attempts, context.Cause(ctx), last)
}
