package escalation

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"carebed/alerting"
	"carebed/alerting/notify"
	"carebed/alerting/policy"
)

// lacking is the directory of a home whose township has no receiver of one role
// registered (e.g. no clinic duty phone).
type lacking struct {
	directory
	missing alerting.Receiver
}

func (d lacking) People(ctx context.Context, p alerting.Place, r alerting.Receiver) ([]alerting.Person, error) {
	if r == d.missing {
		return nil, nil
	}
	return d.directory.People(ctx, p, r)
}

// TestEmptyStepPagesTheEarlierStepAgain: the home's township has no clinic duty
// phone, so the 3-minute step of a critical alert pages nobody. The first step's
// people are paged again, and it is said: an audit row, a metric, an ERROR log. At
// 10 minutes (county centre, clinic, village doctor, with no county numbers) the
// village doctor is paged: the default ladder reaches someone at every step.
func TestEmptyStepPagesTheEarlierStepAgain(t *testing.T) {
	f := newFixture(t)
	m := NewMetrics(prometheus.NewRegistry())
	r := New(Options{Store: f.store, Policy: policy.Default().WithLocation(time.FixedZone("CST", 8*3600)),
		Directory: lacking{missing: alerting.ReceiverTownshipClinic}, Notifiers: map[string]notify.Notifier{"sms": f.sms, "push": f.push},
		Retry: notify.RetryOptions{Min: time.Millisecond, Max: time.Millisecond}, Now: f.clk.now, Metrics: m})
	a := f.raise(t)
	f.at(r, 0)
	first := "page:H-0002/c/1 page:H-0002/c/2 page:H-0002/c/3"
	if got := f.sms.sorted(); got != first {
		t.Fatalf("SMS at 0 s: %s, want %s", got, first)
	}
	f.at(r, 3*time.Minute)
	if got, want := f.sms.sorted(), first+" "+first; got != strings.Join(sortWords(want), " ") {
		t.Fatalf("SMS at 3 min: %s, want the first step's people paged again: %s", got, want)
	}
	if got := len(f.push.to()); got != 2 {
		t.Errorf("%d pushes by 3 min, want 2 (the visitor again, by the first step's channels)", got)
	}
	rows, err := f.store.Audit(context.Background(), a.ID)
	if err != nil {
		t.Fatal(err)
	}
	var notes []string
	for _, row := range rows {
		if row.What == "escalation_empty_step" {
			notes = append(notes, row.Detail)
		}
	}
	want := []string{"step 1 pages nobody for this home; step 0's people paged again (4 notifications)"}
	if !slices.Equal(notes, want) {
		t.Errorf("audit notes %q, want %q", notes, want)
	}
	if got := testutil.ToFloat64(m.emptySteps.WithLabelValues("critical", "1")); got != 1 {
		t.Errorf("carebed_escalation_empty_steps_total{critical,1} = %v, want 1", got)
	}
	before := len(f.sms.to())
	f.at(r, 10*time.Minute)
	if got := f.sms.to()[before:]; !slices.Equal(got, []string{"page:H-0002/c/2"}) {
		t.Errorf("SMS at 10 min: %v, want the village doctor (no county numbers, no clinic)", got)
	}
	if got := testutil.ToFloat64(m.emptySteps.WithLabelValues("critical", "2")); got != 0 {
		t.Errorf("carebed_escalation_empty_steps_total{critical,2} = %v, want 0", got)
	}
}

// TestEmptyFirstStepSaysSo: a step with nobody and no earlier step (a warning for a
// home with no village visitor) pages nobody, and says so.
func TestEmptyFirstStepSaysSo(t *testing.T) {
	f := newFixture(t)
	m := NewMetrics(prometheus.NewRegistry())
	r := New(Options{Store: f.store, Policy: policy.Default().WithLocation(time.FixedZone("CST", 8*3600)),
		Directory: lacking{missing: alerting.ReceiverVillageVisitor}, Notifiers: map[string]notify.Notifier{"sms": f.sms, "push": f.push},
		Retry: notify.RetryOptions{Min: time.Millisecond, Max: time.Millisecond}, Now: f.clk.now, Metrics: m})
	a := f.raiseSev(t, alerting.KindLowBattery, alerting.Warning)
	f.at(r, 0)
	if got := f.sms.to(); len(got) != 0 {
		t.Errorf("SMS %v, want none", got)
	}
	rows, _ := f.store.Audit(context.Background(), a.ID)
	found := false
	for _, row := range rows {
		found = found || row.What == "escalation_empty_step" && row.Detail == "step 0 pages nobody for this home, and no earlier step has anyone"
	}
	if !found {
		t.Errorf("no audit row for the empty first step: %+v", rows)
	}
	if got := testutil.ToFloat64(m.emptySteps.WithLabelValues("warning", "0")); got != 1 {
		t.Errorf("carebed_escalation_empty_steps_total{warning,0} = %v, want 1", got)
	}
}

func sortWords(s string) []string {
	w := strings.Fields(s)
	slices.Sort(w)
	return w
}

func (f *fixture) raiseSev(t *testing.T, kind alerting.Kind, sev alerting.Severity) alerting.Alert {
	t.Helper()
	a, _, err := f.store.Raise(context.Background(), alerting.Raise{Kind: kind, Sev: sev,
		Place: place, Device: "hj-0002-bed", EventAt: t0, Now: t0})
	if err != nil {
		t.Fatal(err)
	}
	return a
}
