package sqlite

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"carebed/alerting"
)

var t0 = time.Date(2026, 11, 29, 3, 0, 0, 0, time.UTC)

func open(t *testing.T) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "alerts.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func raise(t *testing.T, s *Store, kind alerting.Kind, hold time.Duration) (alerting.Alert, bool) {
	t.Helper()
	r := Raise{Kind: kind, Sev: alerting.Critical, Place: alerting.Place{County: "和静县", Township: "巴伦台镇",
		Village: "巴伦台村", Home: "H-0001"}, Device: "hj-0001-sos", EventAt: t0, Now: t0}
	if hold > 0 {
		r.HoldUntil = t0.Add(hold)
	}
	a, created, err := s.Raise(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	return a, created
}

func TestRaiseRepeatAck(t *testing.T) {
	s := open(t)
	ctx := context.Background()
	a, created := raise(t, s, alerting.KindSOS, 0)
	if !created || a.State != alerting.StateOpen || len(a.Code) != 4 {
		t.Fatalf("raised %+v created=%v", a, created)
	}
	again, created := raise(t, s, alerting.KindSOS, 0)
	if created || again.ID != a.ID || again.Repeats != 1 {
		t.Fatalf("repeat gave %+v created=%v", again, created)
	}
	if byCode, err := s.ByCode(ctx, " "+a.Code+" "); err != nil || byCode.ID != a.ID {
		t.Fatalf("ByCode: %+v %v", byCode, err)
	}
	acked, err := s.Ack(ctx, a.ID, "H-0001/village_doctor/1", "sms", t0.Add(time.Minute))
	if err != nil || acked.State != alerting.StateAcknowledged || acked.AckChannel != "sms" {
		t.Fatalf("ack: %+v %v", acked, err)
	}
	if _, err := s.Ack(ctx, a.ID, "H-0001/family/1", "api", t0.Add(2*time.Minute)); !errors.Is(err, ErrAcknowledged) {
		t.Fatalf("second ack: %v, want ErrAcknowledged", err)
	}
	if _, err := s.Resolve(ctx, a.ID, "duty-1", "api", alerting.OutcomeHandledAtHome, "血压正常", t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Ack(ctx, a.ID, "x", "api", t0.Add(2*time.Hour)); !errors.Is(err, ErrResolved) {
		t.Fatalf("ack after resolve: %v, want ErrResolved", err)
	}
	trail, err := s.Audit(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	var whats []string
	for _, r := range trail {
		whats = append(whats, r.What)
	}
	want := []string{"raised", "repeat", "acknowledged", "ack_refused", "resolved", "ack_refused"}
	if len(whats) != len(want) {
		t.Fatalf("audit %v, want %v", whats, want)
	}
	for i := range want {
		if whats[i] != want[i] {
			t.Fatalf("audit %v, want %v", whats, want)
		}
	}
	// After resolution a new event opens a new alert.
	if b, created := raise(t, s, alerting.KindSOS, 0); !created || b.ID == a.ID {
		t.Fatalf("new alert after resolve: %+v %v", b, created)
	}
}

func TestHeldAlertCancelled(t *testing.T) {
	s := open(t)
	ctx := context.Background()
	a, _ := raise(t, s, alerting.KindFall, 15*time.Second)
	if a.State != alerting.StatePending {
		t.Fatalf("state %s, want pending", a.State)
	}
	if due, _ := s.DueSteps(ctx, t0.Add(10*time.Second)); len(due) != 0 {
		t.Fatalf("due inside the hold-off: %+v", due)
	}
	ok, err := s.CancelPending(ctx, "H-0001", alerting.KindFall, t0.Add(5*time.Second), "hj-0001-fall", "fall_cancel seq 9")
	if err != nil || !ok {
		t.Fatalf("cancel: %v %v", ok, err)
	}
	got, _ := s.Alert(ctx, a.ID)
	if got.State != alerting.StateResolved || got.Outcome != alerting.OutcomeCancelled {
		t.Fatalf("after cancel %+v", got)
	}
}

func TestStepsClaimedOnce(t *testing.T) {
	s := open(t)
	ctx := context.Background()
	a, _ := raise(t, s, alerting.KindSOS, 0)
	due, err := s.DueSteps(ctx, t0)
	if err != nil || len(due) != 1 || due[0].Step != 0 {
		t.Fatalf("due %+v %v", due, err)
	}
	atts, err := s.ClaimStep(ctx, a.ID, 0, 0, t0.Add(3*time.Minute), t0, []Attempt{{PersonID: "p1", Channel: "sms", Purpose: "page"}})
	if err != nil || atts[0].ID == 0 {
		t.Fatalf("claim: %+v %v", atts, err)
	}
	if _, err := s.ClaimStep(ctx, a.ID, 0, 0, t0.Add(3*time.Minute), t0, nil); !errors.Is(err, ErrClaimed) {
		t.Fatalf("second claim of step 0: %v", err)
	}
	if next, _ := s.NextDue(ctx); !next.Equal(t0.Add(3 * time.Minute)) {
		t.Fatalf("next due %v", next)
	}
	queued, _ := s.QueuedAttempts(ctx)
	if len(queued) != 1 {
		t.Fatalf("queued %d", len(queued))
	}
	att := atts[0]
	att.Status, att.ProviderID, att.Tries = "sent", "SM123", 1
	if notified, err := s.FinishAttempt(ctx, att, t0.Add(time.Second)); err != nil || !notified {
		t.Fatalf("the first page: notified %v, %v", notified, err)
	}
	if notified, err := s.FinishAttempt(ctx, att, t0.Add(2*time.Second)); err != nil || notified {
		t.Fatalf("the same page again: notified %v, %v; only the first marks the alert", notified, err)
	}
	got, _ := s.Alert(ctx, a.ID)
	if got.State != alerting.StateNotified || got.NotifiedAt.IsZero() {
		t.Fatalf("after the first page: %+v", got)
	}
	d, err := s.DeliveryStatus(ctx, "SM123", "undelivered", "30003", t0.Add(5*time.Second))
	if err != nil || d.PersonID != "p1" || d.Status != "undelivered" {
		t.Fatalf("delivery status: %+v %v", d, err)
	}
	if _, err := s.Ack(ctx, a.ID, "p1", "sms", t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if due, _ := s.DueSteps(ctx, t0.Add(time.Hour)); len(due) != 0 {
		t.Fatalf("steps due after the ack: %+v", due)
	}
}

func TestLatestFinished(t *testing.T) {
	s := open(t)
	ctx := context.Background()
	a, _ := raise(t, s, alerting.KindSOS, 0)
	if _, err := s.LatestFinished(ctx, "sms", t0); !errors.Is(err, ErrNotFound) {
		t.Fatalf("no attempts yet: %v", err)
	}
	atts, err := s.ClaimStep(ctx, a.ID, 0, 0, t0.Add(3*time.Minute), t0, []Attempt{
		{PersonID: "p1", Channel: "sms", Purpose: "page"}, {PersonID: "p2", Channel: "sms", Purpose: "page"},
		{PersonID: "p3", Channel: "push", Purpose: "page"}, {PersonID: "p4", Channel: "sms", Purpose: "page"}})
	if err != nil {
		t.Fatal(err)
	}
	finish := func(i int, status string) {
		atts[i].Status, atts[i].Error = status, "twilio 401"
		if _, err := s.FinishAttempt(ctx, atts[i], t0); err != nil {
			t.Fatal(err)
		}
	}
	finish(0, "sent")
	finish(1, "failed")
	finish(2, "sent")    // another channel
	finish(3, "skipped") // held back by a limit: no outcome
	got, err := s.LatestFinished(ctx, "sms", t0)
	if err != nil || got.PersonID != "p2" || got.Status != "failed" || got.Error != "twilio 401" {
		t.Fatalf("latest finished SMS: %+v %v; want p2's failure", got, err)
	}
	if _, err := s.LatestFinished(ctx, "sms", t0.Add(time.Minute)); !errors.Is(err, ErrNotFound) {
		t.Fatalf("none since a minute later: %v", err)
	}
}
