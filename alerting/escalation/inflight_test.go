package escalation

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"carebed/alerting"
	"carebed/alerting/notify"
	"carebed/alerting/notify/twilio"
	"carebed/alerting/notify/twilio/twiliotest"
	"carebed/alerting/policy"
	"carebed/internal/testwait"
)

const (
	twilioSID   = "AC0123456789abcdef0123456789abcdef"
	twilioToken = "0123456789abcdef0123456789abcdef"
)

// dying is the SMS notifier of a gateway that dies during the call: before Twilio
// hears of it (reach false) or after Twilio accepted it (reach true). Its result
// never comes back: the call waits for dead and then fails, as the killed process
// would never have recorded anything.
type dying struct {
	nf    *twilio.Notifier
	reach bool
	dead  chan struct{}
	calls atomic.Int32
}

func (d *dying) Notify(ctx context.Context, n notify.Notification) (notify.Receipt, bool, error) {
	d.calls.Add(1)
	if d.reach {
		if _, _, err := d.nf.Notify(ctx, n); err != nil {
			return notify.Receipt{}, false, err
		}
	}
	<-d.dead
	return notify.Receipt{}, false, errors.New("the process died")
}

// TestCrashDuringTheSMSCall: the gateway dies while the first step's SMS are in
// flight (recorded as such, the call made). After the restart Twilio's message list
// is asked: a page it accepted is not sent again, one it never got is sent. Either
// way each of the three people gets exactly one SMS, and the audit trail says
// which happened.
func TestCrashDuringTheSMSCall(t *testing.T) {
	cases := []struct {
		name      string
		reach     bool
		wantNote  string
		wantCheck string
	}{
		{"Twilio accepted the pages", true, "page accepted by the provider before the restart (SM", "found"},
		{"Twilio never got them", false, "page not at the provider after the restart: sent again", "not_found"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t)
			api := twiliotest.NewAPI(twilioSID, twilioToken)
			api.SetClock(func() time.Time { return t0.Add(time.Second) })
			nf, err := twilio.New(twilio.Options{AccountSID: twilioSID, AuthToken: twilioToken, From: "+15005550006",
				BaseURL: twiliotest.Serve(t, api), Timeout: 5 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			d := &dying{nf: nf, reach: c.reach, dead: make(chan struct{})}
			first := New(Options{Store: f.store, Policy: policy.Default(), Directory: directory{},
				Notifiers: map[string]notify.Notifier{"sms": d, "push": f.push}, Now: f.clk.now})
			a := f.raise(t)
			first.runDue(context.Background())
			testwait.Until(t, 10*time.Second, "the three SMS calls under way", func() (bool, string) {
				return d.calls.Load() == 3 && (!c.reach || len(api.Messages()) == 3),
					fmt.Sprintf("%d calls, %d at Twilio", d.calls.Load(), len(api.Messages()))
			})
			f.reopen(t) // the gateway died; its store is opened again
			defer func() { close(d.dead); first.sending.Wait() }()
			queued, err := f.store.QueuedAttempts(context.Background())
			queued = slices.DeleteFunc(queued, func(q alerting.Attempt) bool { return q.Channel != "sms" })
			if err != nil || len(queued) != 3 || slices.ContainsFunc(queued, func(q alerting.Attempt) bool { return q.Tries < 1 }) {
				t.Fatalf("after the crash: %v %+v, want 3 queued attempts recorded as in flight", err, queued)
			}

			m := NewMetrics(nil)
			second := New(Options{Store: f.store, Policy: policy.Default(), Directory: directory{},
				Notifiers: map[string]notify.Notifier{"sms": nf, "push": f.push}, Now: f.clk.now, Metrics: m,
				Retry: notify.RetryOptions{Min: time.Millisecond, Max: time.Millisecond}})
			second.resendQueued(context.Background())
			second.sending.Wait()

			per := map[string]int{}
			for _, msg := range api.Messages() {
				per[msg.To]++
			}
			for _, ps := range [][]alerting.Person{people[alerting.ReceiverFamily], people[alerting.ReceiverVillageDoctor], people[alerting.ReceiverVillageVisitor]} {
				if n := per[ps[0].Phone]; n != 1 {
					t.Errorf("%s got %d SMS across the crash, want 1", ps[0].ID, n)
				}
			}
			atts, _ := f.store.Attempts(context.Background(), a.ID)
			sids := map[string]bool{}
			for _, msg := range api.Messages() {
				sids[msg.SID] = true
			}
			for _, at := range atts {
				if at.Channel != "sms" {
					continue
				}
				if at.Status != "sent" || !sids[at.ProviderID] {
					t.Errorf("attempt %+v: want sent, with the SID of Twilio's message", at)
				}
			}
			rows, _ := f.store.Audit(context.Background(), a.ID)
			notes := 0
			for _, row := range rows {
				if row.What == "notification_in_flight" {
					notes++
					if !strings.HasPrefix(row.Detail, c.wantNote) {
						t.Errorf("audit note %q, want %q", row.Detail, c.wantNote)
					}
				}
			}
			if notes != 3 {
				t.Errorf("%d notification_in_flight audit rows, want 3", notes)
			}
			if got := testutil.ToFloat64(m.inflight.WithLabelValues("sms", c.wantCheck)); got != 3 {
				t.Errorf("carebed_notification_inflight_checks_total{sms,%s} = %v, want 3", c.wantCheck, got)
			}
		})
	}
}
