package escalation

import (
	"carebed/alerting"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"carebed/alerting/notify"
	"carebed/alerting/policy"
	"carebed/alerting/sqlite"
	"carebed/internal/testwait"
)

func (h holding) Notify(ctx context.Context, n notify.Notification) (notify.Receipt, bool, error) {
	h.hold(n)
	return h.recorder.Notify(ctx, n)
}

// pausingStore holds the doctor's page right after it is recorded as sent, before
// the runner goes on with it, until release is closed.
type pausingStore struct {
	*sqlite.Store
	recorded chan struct{}
	release  chan struct{}
}

func (s pausingStore) FinishAttempt(ctx context.Context, a alerting.Attempt, now time.Time) (bool, error) {
	notified, err := s.Store.FinishAttempt(ctx, a, now)
	if a.PersonID == "H-0002/c/2" && a.Status == "sent" {
		close(s.recorded)
		<-s.release
	}
	return notified, err
}

// TestFirstPageTimedWhenABroughtForwardStepAnswersFirst: the family's page fails, so
// the clinic's step comes forward. The doctor's page is recorded first, so the clinic
// step reads the alert as notified; the clinic's page then finishes while the
// doctor's is still held. The alert's first page is timed once (an in-memory
// "first seen" check, the clinic's page taking the turn, timed it 0 times).
func TestFirstPageTimedWhenABroughtForwardStepAnswersFirst(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	open := make(chan struct{})
	holdVisitor := func(n notify.Notification) {
		if n.To.ID == "H-0002/c/1" {
			<-open
		}
	}
	f.sms.fail = func(n notify.Notification) (bool, error) {
		if n.To.ID == "H-0002/c/3" {
			return false, errors.New("twilio: 400 21211")
		}
		return false, nil
	}
	store := pausingStore{Store: f.store, recorded: make(chan struct{}), release: make(chan struct{})}
	reg := prometheus.NewRegistry()
	r := New(Options{Store: store, Policy: policy.Default().WithLocation(time.FixedZone("CST", 8*3600)),
		Directory: directory{}, Notifiers: map[string]notify.Notifier{"sms": holding{f.sms, holdVisitor},
			"push": holding{f.push, holdVisitor}},
		Retry: notify.RetryOptions{Min: time.Millisecond, Max: time.Millisecond}, Now: f.clk.now,
		Metrics: NewMetrics(reg)})
	a := f.raise(t)
	r.runDue(ctx) // step 0: the family's page fails, the doctor's is recorded, the visitor's waits
	<-store.recorded
	testwait.Until(t, 10*time.Second, "the clinic's step brought forward", func() (bool, string) {
		_, next, err := f.store.NextStep(ctx, a.ID)
		return err == nil && next.Equal(t0), fmt.Sprint(next, err)
	})
	r.runDue(ctx) // step 1: the clinic's page, with the alert already notified
	testwait.Until(t, 10*time.Second, "the clinic's page recorded", func() (bool, string) {
		atts, err := f.store.Attempts(ctx, a.ID)
		for _, at := range atts {
			if strings.HasPrefix(at.PersonID, "clinic/") && at.Status == "sent" {
				return true, ""
			}
		}
		return false, fmt.Sprint(atts, err)
	})
	close(store.release)
	close(open)
	r.sending.Wait()
	if n := histogramCount(t, reg, "carebed_alert_event_to_notification_seconds"); n != 1 {
		t.Errorf("the alert's first page was timed %d times, want once", n)
	}
}

// histogramCount sums the observations of the histogram name in reg.
func histogramCount(t *testing.T, reg *prometheus.Registry, name string) uint64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var n uint64
	for _, mf := range mfs {
		if mf.GetName() == name {
			for _, m := range mf.GetMetric() {
				n += m.GetHistogram().GetSampleCount()
			}
		}
	}
	return n
}
