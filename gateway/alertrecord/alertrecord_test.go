package alertrecord

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"carebed/alerting"
)

type spool struct{ recs []string }

func (s *spool) AppendAsync(recs [][]byte, done func(error)) error {
	for _, r := range recs {
		s.recs = append(s.recs, string(r))
	}
	done(nil)
	return nil
}

type people map[string]alerting.Person

func (p people) Person(_ context.Context, id string) (alerting.Person, bool, error) {
	q, ok := p[id]
	return q, ok, nil
}

type counts struct{}

func (counts) OpenCounts(context.Context) ([]alerting.OpenCount, error) {
	return []alerting.OpenCount{{Township: "巴伦台镇", Severity: alerting.Critical, N: 2}}, nil
}

// TestRecordsWhatTheBoardsCount: each change the boards count becomes one alert
// point (a held alert counts as raised), attempts and receipts none; the point names
// the role of whoever took the alert, never a name or phone.
func TestRecordsWhatTheBoardsCount(t *testing.T) {
	sp := &spool{}
	reg := prometheus.NewRegistry()
	r := New(Options{Spool: sp, Registerer: reg, Logger: slog.New(slog.DiscardHandler), Counts: counts{},
		People: people{"home/H-1/2": {ID: "home/H-1/2", Role: alerting.ReceiverVillageDoctor, Name: "村医", Phone: "+8613800000012"}}})
	t0 := time.Date(2026, 12, 4, 3, 0, 0, 0, time.UTC)
	a := alerting.Alert{ID: 7, Code: "K7M2", Kind: alerting.KindSOS, Sev: alerting.Critical, State: alerting.StateOpen,
		Place: alerting.Place{County: "和静县", Township: "巴伦台镇", Village: "巴伦台村", Home: "H-1"}, OpenedAt: t0}
	acked := a
	acked.State, acked.AckedBy, acked.AckedAt = alerting.StateAcknowledged, "home/H-1/2", t0.Add(90*time.Second)
	for _, tc := range []struct {
		c    alerting.Change
		want string // a part of the point; "" for no point
	}{
		{alerting.Change{What: alerting.ChangeHeld, Alert: a, At: t0}, `change="raised"`},
		{alerting.Change{What: alerting.ChangeAttempt, Alert: a, Attempt: &alerting.Attempt{}, At: t0}, ""},
		{alerting.Change{What: alerting.ChangeDelivery, Alert: a, Attempt: &alerting.Attempt{}, At: t0}, ""},
		{alerting.Change{What: alerting.ChangeGrouped, Alert: a, At: t0}, `change="grouped"`},
		{alerting.Change{What: alerting.ChangeAcknowledged, Alert: acked, At: t0}, `ack_seconds=90`},
	} {
		n := len(sp.recs)
		r.Record(tc.c)
		switch {
		case tc.want == "" && len(sp.recs) != n:
			t.Errorf("%s: wrote %q, want nothing", tc.c.What, sp.recs[n:])
		case tc.want != "" && (len(sp.recs) != n+1 || !strings.Contains(sp.recs[n], tc.want)):
			t.Errorf("%s: wrote %q, want one point with %s", tc.c.What, sp.recs[n:], tc.want)
		}
	}
	last := sp.recs[len(sp.recs)-1]
	if !strings.Contains(last, `ack_role="village_doctor"`) || strings.Contains(last, "村医") || strings.Contains(last, "138") {
		t.Errorf("acknowledged point %q: want the role only", last)
	}
	if got := testutil.ToFloat64(r.opened.WithLabelValues("sos", "critical")); got != 1 {
		t.Errorf("opened = %v, want the held alert counted once", got)
	}
	if n, err := testutil.GatherAndCount(reg, "carebed_alerts_open"); err != nil || n != 1 {
		t.Errorf("carebed_alerts_open: %d series, %v", n, err)
	}
}
