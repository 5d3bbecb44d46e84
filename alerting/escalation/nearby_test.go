package escalation

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"carebed/alerting"
	"carebed/alerting/notify"
	"carebed/alerting/policy"
)

// fakeNearby places two responders near the device: a doctor of another village
// 8.5 km away, and one with the home's own doctor's phone (already paged).
type fakeNearby struct {
	err   error
	asked int
}

var farDoctor = alerting.Person{ID: "H-0099/c/2", Role: alerting.ReceiverVillageDoctor, Name: "远村医", Phone: "+8613800000099"}

func (f *fakeNearby) Nearest(_ context.Context, _ alerting.Alert, beyondKM float64, n int) ([]alerting.Person, error) {
	f.asked++
	if f.err != nil {
		return nil, f.err
	}
	if beyondKM != 5 || n != 2 {
		return nil, errors.New("not the policy's defaults")
	}
	same := people[alerting.ReceiverVillageDoctor][0]
	same.ID = "H-0098/c/2"
	return []alerting.Person{farDoctor, same}, nil
}

func (f *fakeNearby) From(_ context.Context, _ alerting.Alert, p alerting.Person) (string, bool) {
	if strings.HasPrefix(p.ID, "H-0002/") {
		return "", false
	}
	return "8.5 公里 西北", true
}

// An SOS of a device far from home also pages, in the first step only, the nearest
// responders who are not the home's own (a phone already paged is paged once), and
// tells them how far it is; a failure to find them never holds up the ladder.
func TestNearbyRespondersPagedInFirstStep(t *testing.T) {
	for _, c := range []struct {
		name     string
		err      error
		wantFar  bool
		wantSent int // SMS of the first step: family, doctor, visitor and the far doctor
	}{
		{"found", nil, true, 4},
		{"lookup fails", errors.New("registry: disk I/O error"), false, 3},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t)
			nb := &fakeNearby{err: c.err}
			r := New(Options{Store: f.store, Policy: policy.Default().WithLocation(time.FixedZone("CST", 8*3600)),
				Directory: directory{}, Notifiers: map[string]notify.Notifier{"sms": f.sms, "push": f.push},
				Retry: notify.RetryOptions{Min: time.Millisecond, Max: time.Millisecond}, Now: f.clk.now, Nearby: nb})
			f.raise(t)
			f.at(r, 0)
			var far string
			for _, n := range f.sms.sent {
				if n.To.ID == farDoctor.ID {
					far = n.Text
				}
			}
			if (far != "") != c.wantFar || len(f.sms.sent) != c.wantSent {
				t.Fatalf("sent %v; far doctor's page %q", f.sms.to(), far)
			}
			if c.wantFar && (!strings.Contains(far, "在外，距您8.5 公里 西北") || !strings.Contains(far, "回复1或")) {
				t.Errorf("far doctor's page %q", far)
			}
			for _, n := range f.sms.sent {
				if n.To.ID == "H-0098/c/2" {
					t.Errorf("the home's doctor was paged twice (as a nearby responder too)")
				}
			}
			f.at(r, 3*time.Minute) // the clinic's step: no more nearby pages
			if nb.asked != 1 {
				t.Errorf("Nearest asked %d times, want once (first step only)", nb.asked)
			}
		})
	}
}
