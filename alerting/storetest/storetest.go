// Package storetest is the conformance suite of alert stores: every implementation
// of alerting.Store runs Run against a fresh store of its own, the way Alertmanager's
// notifiers share notify/test. It checks the behaviour the rules, the escalation
// runner, the API and the console rely on, and that every committed change reaches
// the feed.
package storetest

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"carebed/alerting"
)

// Open returns a new, empty store; Run closes it.
type Open func(t *testing.T) alerting.Store

// Run runs every conformance test, each on a store of its own.
func Run(t *testing.T, open Open) {
	tests := []struct {
		name string
		f    func(*testing.T, alerting.Store)
	}{
		{"RaiseRepeatAck", raiseRepeatAck},
		{"HeldAlertCancelled", heldAlertCancelled},
		{"StepsClaimedOnce", stepsClaimedOnce},
		{"LatestFinished", latestFinished},
		{"VillageGrouped", villageGrouped},
		{"HandOver", handOver},
		{"LinksUsedOnce", linksUsedOnce},
		{"ListAndCounts", listAndCounts},
		{"OpenedBetween", openedBetween},
		{"LatestPagedTo", latestPagedTo},
		{"Conditions", conditions},
		{"RepliesTakenOnce", repliesTakenOnce},
		{"FeedHasEveryChange", feedHasEveryChange},
		{"DeviceCancelledStaysOpen", deviceCancelledStaysOpen},
		{"AddedAttemptKeepsItsID", addedAttemptKeepsItsID},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			t.Cleanup(func() { s.Close() })
			tc.f(t, s)
		})
	}
}

var t0 = time.Date(2026, 11, 29, 3, 0, 0, 0, time.UTC)

var home1 = alerting.Place{County: "和静县", Township: "巴伦台镇", Village: "巴伦台村", Home: "H-0001"}

func raise(t *testing.T, s alerting.Store, kind alerting.Kind, hold time.Duration) (alerting.Alert, bool) {
	t.Helper()
	return raiseAt(t, s, home1, kind, hold)
}

func raiseAt(t *testing.T, s alerting.Store, p alerting.Place, kind alerting.Kind, hold time.Duration) (alerting.Alert, bool) {
	t.Helper()
	r := alerting.Raise{Kind: kind, Sev: alerting.Critical, Place: p, Device: "hj-0001-sos", EventAt: t0, Now: t0}
	if hold > 0 {
		r.HoldUntil = t0.Add(hold)
	}
	a, created, err := s.Raise(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	return a, created
}

func raiseRepeatAck(t *testing.T, s alerting.Store) {
	ctx := context.Background()
	a, created := raise(t, s, alerting.KindSOS, 0)
	if !created || a.State != alerting.StateOpen || len(a.Code) != 4 {
		t.Fatalf("raised %+v created=%v", a, created)
	}
	again, created := raise(t, s, alerting.KindSOS, 0)
	if created || again.ID != a.ID || again.Repeats != 1 {
		t.Fatalf("repeat gave %+v created=%v", again, created)
	}
	folded, created, err := s.Raise(ctx, alerting.Raise{Kind: alerting.KindSOS, Sev: alerting.Critical, Place: home1,
		Device: "hj-0001-sos", EventAt: t0, Now: t0, Reports: 40})
	if err != nil || created || folded.ID != a.ID || folded.Repeats != 41 {
		t.Fatalf("a repeat standing for 40 reports gave %+v created=%v err=%v, want 41 repeats", folded, created, err)
	}
	if byCode, err := s.ByCode(ctx, " "+a.Code+" "); err != nil || byCode.ID != a.ID {
		t.Fatalf("ByCode: %+v %v", byCode, err)
	}
	acked, err := s.Ack(ctx, a.ID, "H-0001/village_doctor/1", "sms", t0.Add(time.Minute))
	if err != nil || acked.State != alerting.StateAcknowledged || acked.AckChannel != "sms" {
		t.Fatalf("ack: %+v %v", acked, err)
	}
	if _, err := s.Ack(ctx, a.ID, "H-0001/family/1", "api", t0.Add(2*time.Minute)); !errors.Is(err, alerting.ErrAcknowledged) {
		t.Fatalf("second ack: %v, want ErrAcknowledged", err)
	}
	if _, err := s.Resolve(ctx, a.ID, "duty-1", "api", alerting.OutcomeHandledAtHome, "血压正常", t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Ack(ctx, a.ID, "x", "api", t0.Add(2*time.Hour)); !errors.Is(err, alerting.ErrResolved) {
		t.Fatalf("ack after resolve: %v, want ErrResolved", err)
	}
	if err := s.Note(ctx, a.ID, t0.Add(3*time.Hour), "escalation_empty_step", "", "", "step 1 pages nobody"); err != nil {
		t.Fatal(err)
	}
	if noted, err := s.OpenNoted(ctx, "escalation_empty_step"); err != nil || len(noted) != 0 {
		t.Errorf("OpenNoted of a resolved alert: %v %v, want none", noted, err)
	}
	trail, err := s.Audit(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	var whats []string
	for _, r := range trail {
		whats = append(whats, r.What)
	}
	want := []string{"raised", "repeat", "repeat", "acknowledged", "ack_refused", "resolved", "ack_refused", "escalation_empty_step"}
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

func heldAlertCancelled(t *testing.T, s alerting.Store) {
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

func stepsClaimedOnce(t *testing.T, s alerting.Store) {
	ctx := context.Background()
	a, _ := raise(t, s, alerting.KindSOS, 0)
	due, err := s.DueSteps(ctx, t0)
	if err != nil || len(due) != 1 || due[0].Step != 0 {
		t.Fatalf("due %+v %v", due, err)
	}
	atts, err := s.ClaimStep(ctx, a.ID, 0, 0, t0.Add(3*time.Minute), t0, []alerting.Attempt{{PersonID: "p1", Channel: "sms", Purpose: "page"}})
	if err != nil || atts[0].ID == 0 {
		t.Fatalf("claim: %+v %v", atts, err)
	}
	if _, err := s.ClaimStep(ctx, a.ID, 0, 0, t0.Add(3*time.Minute), t0, nil); !errors.Is(err, alerting.ErrClaimed) {
		t.Fatalf("second claim of step 0: %v", err)
	}
	if next, _ := s.NextDue(ctx); !next.Equal(t0.Add(3 * time.Minute)) {
		t.Fatalf("next due %v", next)
	}
	queued, _ := s.QueuedAttempts(ctx)
	if len(queued) != 1 || queued[0].Tries != 1 || atts[0].Tries != 1 {
		t.Fatalf("queued %+v (claimed %+v), want one counted in flight (Tries 1) by its claim", queued, atts)
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

func latestFinished(t *testing.T, s alerting.Store) {
	ctx := context.Background()
	a, _ := raise(t, s, alerting.KindSOS, 0)
	if _, err := s.LatestFinished(ctx, "sms", t0); !errors.Is(err, alerting.ErrNotFound) {
		t.Fatalf("no attempts yet: %v", err)
	}
	atts, err := s.ClaimStep(ctx, a.ID, 0, 0, t0.Add(3*time.Minute), t0, []alerting.Attempt{
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
	if _, err := s.LatestFinished(ctx, "sms", t0.Add(time.Minute)); !errors.Is(err, alerting.ErrNotFound) {
		t.Fatalf("none since a minute later: %v", err)
	}
}

// villageGrouped folds the held offline alerts of one village, and only those.
func villageGrouped(t *testing.T, s alerting.Store) {
	ctx := context.Background()
	other := home1
	other.Home = "H-0002"
	elsewhere := home1
	elsewhere.Village, elsewhere.Home = "别的村", "H-0100"
	a, _ := raiseAt(t, s, home1, alerting.KindDeviceOffline, time.Minute)
	b, _ := raiseAt(t, s, other, alerting.KindDeviceOffline, time.Minute)
	c, _ := raiseAt(t, s, elsewhere, alerting.KindDeviceOffline, time.Minute)
	n, err := s.CancelPendingInVillage(ctx, home1, alerting.KindDeviceOffline, t0.Add(time.Second), "outage")
	if err != nil || n != 2 {
		t.Fatalf("grouped %d, %v; want 2", n, err)
	}
	for _, id := range []int64{a.ID, b.ID} {
		got, _ := s.Alert(ctx, id)
		if got.State != alerting.StateResolved || got.Outcome != alerting.OutcomeGrouped {
			t.Errorf("alert %d after grouping: %s/%s, want resolved/grouped", id, got.State, got.Outcome)
		}
	}
	if got, _ := s.Alert(ctx, c.ID); got.State != alerting.StatePending {
		t.Errorf("another village's alert: %s, want still pending", got.State)
	}
}

// handOver passes a taken alert on, and refuses one nobody took.
func handOver(t *testing.T, s alerting.Store) {
	ctx := context.Background()
	a, _ := raise(t, s, alerting.KindSOS, 0)
	if _, err := s.HandOver(ctx, a.ID, "duty-1", "H-0001/village_doctor/1", "console", t0); !errors.Is(err, alerting.ErrNotAcknowledged) {
		t.Fatalf("hand over an untaken alert: %v, want ErrNotAcknowledged", err)
	}
	if _, err := s.Ack(ctx, a.ID, "duty-1", "console", t0); err != nil {
		t.Fatal(err)
	}
	got, err := s.HandOver(ctx, a.ID, "duty-1", "H-0001/village_doctor/1", "console", t0.Add(time.Second))
	if err != nil || got.AckedBy != "H-0001/village_doctor/1" || got.State != alerting.StateAcknowledged {
		t.Fatalf("hand over: %+v %v", got, err)
	}
	if _, err := s.Alert(ctx, a.ID+1000); !errors.Is(err, alerting.ErrNotFound) {
		t.Errorf("unknown alert: %v, want ErrNotFound", err)
	}
}

// linksUsedOnce: a link acknowledges once, and not after it expired.
func linksUsedOnce(t *testing.T, s alerting.Store) {
	ctx := context.Background()
	a, _ := raise(t, s, alerting.KindSOS, 0)
	for _, l := range []alerting.Link{
		{ID: "tok-1", AlertID: a.ID, PersonID: "p1", Expires: t0.Add(time.Hour)},
		{ID: "tok-2", AlertID: a.ID, PersonID: "p2", Expires: t0.Add(time.Minute)},
	} {
		if err := s.CreateLink(ctx, l); err != nil {
			t.Fatal(err)
		}
	}
	if l, err := s.LinkByID(ctx, "tok-1"); err != nil || l.PersonID != "p1" || !l.Used.IsZero() {
		t.Fatalf("LinkByID: %+v %v", l, err)
	}
	if _, err := s.LinkByID(ctx, "nope"); !errors.Is(err, alerting.ErrNotFound) {
		t.Errorf("unknown link: %v, want ErrNotFound", err)
	}
	if l, err := s.UseLink(ctx, "tok-1", t0.Add(time.Second)); err != nil || l.Used.IsZero() {
		t.Fatalf("first use: %+v %v", l, err)
	}
	if _, err := s.UseLink(ctx, "tok-1", t0.Add(2*time.Second)); !errors.Is(err, alerting.ErrLinkUsed) {
		t.Errorf("second use: %v, want ErrLinkUsed", err)
	}
	if _, err := s.UseLink(ctx, "tok-2", t0.Add(time.Hour)); !errors.Is(err, alerting.ErrLinkExpired) {
		t.Errorf("use after expiry: %v, want ErrLinkExpired", err)
	}
}

// listAndCounts filters by place, state and severity, newest first.
func listAndCounts(t *testing.T, s alerting.Store) {
	ctx := context.Background()
	other := home1
	other.Township, other.Home = "别的镇", "H-0200"
	a, _ := raise(t, s, alerting.KindSOS, 0)
	b, _ := raise(t, s, alerting.KindSmoke, 0)
	c, _ := raiseAt(t, s, other, alerting.KindGas, 0)
	if _, err := s.Resolve(ctx, a.ID, "duty-1", "api", alerting.OutcomeFalseAlarm, "", t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	ids := func(f alerting.Filter) []int64 {
		as, err := s.List(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		var out []int64
		for _, a := range as {
			out = append(out, a.ID)
		}
		return out
	}
	for _, tc := range []struct {
		name string
		f    alerting.Filter
		want []int64
	}{
		{"all, newest first", alerting.Filter{}, []int64{c.ID, b.ID, a.ID}},
		{"open only", alerting.Filter{OpenOnly: true}, []int64{c.ID, b.ID}},
		{"township", alerting.Filter{Township: home1.Township}, []int64{b.ID, a.ID}},
		{"resolved", alerting.Filter{State: alerting.StateResolved}, []int64{a.ID}},
		{"limit", alerting.Filter{Limit: 1}, []int64{c.ID}},
	} {
		if got := ids(tc.f); !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
	counts, err := s.OpenCounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, c := range counts {
		n += c.N
		if c.Severity != alerting.Critical {
			t.Errorf("count %+v: severity", c)
		}
	}
	if n != 2 || len(counts) != 2 {
		t.Errorf("open counts %+v, want one open alert in each of two townships", counts)
	}
	if got, err := s.OpenAlert(ctx, home1.Home, alerting.KindSmoke); err != nil || got.ID != b.ID {
		t.Errorf("OpenAlert: %+v %v", got, err)
	}
	if _, err := s.OpenAlert(ctx, home1.Home, alerting.KindSOS); !errors.Is(err, alerting.ErrNotFound) {
		t.Errorf("OpenAlert of a resolved kind: %v, want ErrNotFound", err)
	}
}

// openedBetween is what a monthly report reads: the alerts opened in a time range
// and a place, oldest first, whatever their state.
func openedBetween(t *testing.T, s alerting.Store) {
	ctx := context.Background()
	other := home1
	other.Township, other.Home = "别的镇", "H-0200"
	at := func(p alerting.Place, kind alerting.Kind, when time.Time) int64 {
		a, _, err := s.Raise(ctx, alerting.Raise{Kind: kind, Sev: alerting.High, Place: p, Device: "d", EventAt: when, Now: when})
		if err != nil {
			t.Fatal(err)
		}
		return a.ID
	}
	before := at(home1, alerting.KindSOS, t0.Add(-time.Hour))
	if _, err := s.Resolve(ctx, before, "duty-1", "api", alerting.OutcomeFalseAlarm, "", t0.Add(-time.Minute)); err != nil {
		t.Fatal(err)
	}
	first := at(home1, alerting.KindSmoke, t0)
	second := at(other, alerting.KindGas, t0.Add(time.Minute))
	third := at(home1, alerting.KindFall, t0.Add(2*time.Minute))
	at(home1, alerting.KindTamper, t0.Add(time.Hour)) // at the end: not in [from, to)
	for _, tc := range []struct {
		name string
		f    alerting.Filter
		want []int64
	}{
		{"all, oldest first", alerting.Filter{}, []int64{first, second, third}},
		{"township", alerting.Filter{Township: home1.Township}, []int64{first, third}},
		{"county", alerting.Filter{County: "别的县"}, nil},
		{"limit and state ignored", alerting.Filter{Limit: 1, State: alerting.StateResolved}, []int64{first, second, third}},
	} {
		as, err := s.OpenedBetween(ctx, tc.f, t0, t0.Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		var got []int64
		for _, a := range as {
			got = append(got, a.ID)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

// latestPagedTo is what an SMS reply of "1" refers to: the newest open alert paged
// to that person.
func latestPagedTo(t *testing.T, s alerting.Store) {
	ctx := context.Background()
	if _, _, err := s.LatestPagedTo(ctx, "p1"); !errors.Is(err, alerting.ErrNotFound) {
		t.Fatalf("nothing paged yet: %v", err)
	}
	a, _ := raise(t, s, alerting.KindSOS, 0)
	b, _ := raise(t, s, alerting.KindSmoke, 0)
	for _, al := range []alerting.Alert{a, b} {
		if _, err := s.ClaimStep(ctx, al.ID, 0, 0, t0.Add(3*time.Minute), t0,
			[]alerting.Attempt{{PersonID: "p1", Channel: "sms", Purpose: "page"}}); err != nil {
			t.Fatal(err)
		}
	}
	got, who, err := s.LatestPagedTo(ctx, "p9", "p1")
	if err != nil || got.ID != b.ID || who != "p1" {
		t.Fatalf("LatestPagedTo: %d %q %v, want %d p1", got.ID, who, err, b.ID)
	}
	if _, err := s.Ack(ctx, b.ID, "p1", "sms", t0); err != nil {
		t.Fatal(err)
	}
	if got, _, _ := s.LatestPagedTo(ctx, "p1"); got.ID != a.ID {
		t.Errorf("after taking the newest: %d, want %d", got.ID, a.ID)
	}
	if err := s.Note(ctx, a.ID, t0, "escalation_empty_step", "", "", "step 1 pages nobody"); err != nil {
		t.Fatal(err)
	}
	if noted, err := s.OpenNoted(ctx, "escalation_empty_step"); err != nil || len(noted) != 1 || noted[0].ID != a.ID {
		t.Errorf("OpenNoted: %v %v, want alert %d", noted, err, a.ID)
	}
	if noted, _ := s.OpenNoted(ctx, "something_else"); len(noted) != 0 {
		t.Errorf("OpenNoted of another note: %v", noted)
	}
	if who, err := s.PagedAbout(ctx, a.ID, "p2", "p1"); err != nil || who != "p1" {
		t.Errorf("PagedAbout: %q %v", who, err)
	}
	if who, _ := s.PagedAbout(ctx, a.ID, "p2"); who != "" {
		t.Errorf("PagedAbout someone never paged: %q", who)
	}
}

// conditions keeps the rules' state by device, replacing what was saved before.
func conditions(t *testing.T, s alerting.Store) {
	ctx := context.Background()
	if err := s.SaveConditions(ctx, map[string][]byte{"d1": []byte("a"), "d2": []byte("b")}); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveConditions(ctx, map[string][]byte{"d1": []byte("c")}); err != nil {
		t.Fatal(err)
	}
	got, err := s.LoadConditions(ctx)
	if err != nil || string(got["d1"]) != "c" || string(got["d2"]) != "b" || len(got) != 2 {
		t.Fatalf("LoadConditions: %q %v", got, err)
	}
}

// feedHasEveryChange makes one of each change and expects each on the feed once,
// in order, with the alert as the change left it; refused actions and repeats
// publish nothing.
func feedHasEveryChange(t *testing.T, s alerting.Store) {
	ctx := context.Background()
	var got []alerting.Change
	s.Subscribe(func(c alerting.Change) { got = append(got, c) })
	a, _ := raise(t, s, alerting.KindSOS, 0)
	raise(t, s, alerting.KindSOS, 0) // a repeat
	held, _ := raise(t, s, alerting.KindFall, 15*time.Second)
	if _, err := s.CancelPending(ctx, home1.Home, alerting.KindFall, t0.Add(time.Second), "d", "fall_cancel"); err != nil {
		t.Fatal(err)
	}
	off, _ := raise(t, s, alerting.KindDeviceOffline, time.Minute)
	if _, err := s.CancelPendingInVillage(ctx, home1, alerting.KindDeviceOffline, t0, "outage"); err != nil {
		t.Fatal(err)
	}
	atts, err := s.ClaimStep(ctx, a.ID, 0, 0, t0.Add(3*time.Minute), t0,
		[]alerting.Attempt{{PersonID: "p1", Channel: "sms", Purpose: "page"}})
	if err != nil {
		t.Fatal(err)
	}
	atts[0].Status, atts[0].ProviderID = "sent", "SM1"
	if _, err := s.FinishAttempt(ctx, atts[0], t0.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DeliveryStatus(ctx, "SM1", "delivered", "", t0.Add(2*time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Ack(ctx, a.ID, "p1", "sms", t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	s.Ack(ctx, a.ID, "p2", "sms", t0.Add(time.Minute)) //nolint:errcheck // refused: publishes nothing
	if _, err := s.HandOver(ctx, a.ID, "p1", "p3", "console", t0.Add(2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Resolve(ctx, a.ID, "p3", "console", alerting.OutcomeHandledAtHome, "", t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	want := []struct {
		what  alerting.ChangeKind
		id    int64
		state alerting.State
	}{
		{alerting.ChangeRaised, a.ID, alerting.StateOpen},
		{alerting.ChangeHeld, held.ID, alerting.StatePending},
		{alerting.ChangeCancelled, held.ID, alerting.StateResolved},
		{alerting.ChangeHeld, off.ID, alerting.StatePending},
		{alerting.ChangeGrouped, off.ID, alerting.StateResolved},
		{alerting.ChangeAttempt, a.ID, alerting.StateNotified},
		{alerting.ChangeNotified, a.ID, alerting.StateNotified},
		{alerting.ChangeDelivery, a.ID, alerting.StateNotified},
		{alerting.ChangeAcknowledged, a.ID, alerting.StateAcknowledged},
		{alerting.ChangeHandedOver, a.ID, alerting.StateAcknowledged},
		{alerting.ChangeResolved, a.ID, alerting.StateResolved},
	}
	if len(got) != len(want) {
		t.Fatalf("feed has %d changes, want %d: %v", len(got), len(want), kinds(got))
	}
	for i, w := range want {
		c := got[i]
		if c.What != w.what || c.Alert.ID != w.id || c.Alert.State != w.state {
			t.Errorf("change %d: %s alert %d %s, want %s alert %d %s", i, c.What, c.Alert.ID, c.Alert.State, w.what, w.id, w.state)
		}
		if (c.Attempt != nil) != (w.what == alerting.ChangeAttempt || w.what == alerting.ChangeDelivery) {
			t.Errorf("change %d (%s): attempt %+v", i, c.What, c.Attempt)
		}
	}
	if d := got[7].Attempt; d == nil || d.Status != "delivered" || d.PersonID != "p1" {
		t.Errorf("delivery change's attempt: %+v", d)
	}
}

func kinds(cs []alerting.Change) []alerting.ChangeKind {
	out := make([]alerting.ChangeKind, len(cs))
	for i, c := range cs {
		out[i] = c.What
	}
	return out
}

// repliesTakenOnce: a reply's sid is taken once, again after it is forgotten, and
// again once it is older than ReplyRetention.
func repliesTakenOnce(t *testing.T, s alerting.Store) {
	ctx := context.Background()
	for i, st := range []struct {
		sid    string
		at     time.Time
		forget bool
		first  bool
	}{
		{sid: "SM1", at: t0, first: true},
		{sid: "SM1", at: t0.Add(time.Minute), first: false},
		{sid: "SM2", at: t0.Add(time.Minute), first: true},
		{sid: "SM2", forget: true},
		{sid: "SM2", at: t0.Add(2 * time.Minute), first: true},
		{sid: "SM1", at: t0.Add(alerting.ReplyRetention - time.Hour), first: false},
		{sid: "SM1", at: t0.Add(alerting.ReplyRetention + time.Hour), first: true},
	} {
		if st.forget {
			if err := s.ForgetMessage(ctx, st.sid); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if first, err := s.SeenMessage(ctx, st.sid, st.at); err != nil || first != st.first {
			t.Fatalf("step %d: SeenMessage(%s) = %v, %v; want %v", i, st.sid, first, err, st.first)
		}
	}
}

// deviceCancelledStaysOpen: a device cancel after paging is in the audit trail and on
// the feed, and the alert stays open.
func deviceCancelledStaysOpen(t *testing.T, s alerting.Store) {
	ctx := context.Background()
	a, _ := raise(t, s, alerting.KindSOS, 0)
	var got []alerting.Change
	s.Subscribe(func(c alerting.Change) { got = append(got, c) })
	if err := s.DeviceCancelled(ctx, a.ID, t0.Add(10*time.Second), "dev-1", "sos_cancel"); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].What != alerting.ChangeDeviceCancelled || got[0].Alert.ID != a.ID || !got[0].Alert.Open() {
		t.Errorf("feed: %+v, want one device_cancelled change of the open alert", got)
	}
	trail, err := s.Audit(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	last := trail[len(trail)-1]
	if last.What != "device_cancelled" || last.Actor != "dev-1" || last.Channel != "device" || !last.At.Equal(t0.Add(10*time.Second)) {
		t.Errorf("audit row: %+v", last)
	}
	if b, err := s.Alert(ctx, a.ID); err != nil || !b.Open() {
		t.Errorf("after the cancel: %+v %v, want open", b, err)
	}
}

// addedAttemptKeepsItsID: a notice recorded again (the device cancels twice after
// paging) is not stored twice, and comes back with the id of the attempt already
// there, so that finishing it updates that attempt and no other row.
func addedAttemptKeepsItsID(t *testing.T, s alerting.Store) {
	ctx := context.Background()
	a, _ := raise(t, s, alerting.KindSOS, 0)
	notice := []alerting.Attempt{{Step: -1, PersonID: "p1", Channel: "sms", Purpose: "device_cancelled"}}
	first, err := s.AddAttempts(ctx, a.ID, t0, slices.Clone(notice))
	if err != nil || len(first) != 1 || first[0].ID == 0 {
		t.Fatalf("first: %+v %v", first, err)
	}
	// Other writes in between (an audit row, another alert's attempt).
	if err := s.Note(ctx, a.ID, t0, "escalation_empty_step", "", "", ""); err != nil {
		t.Fatal(err)
	}
	b, _ := raiseAt(t, s, alerting.Place{County: "和静县", Township: "巴伦台镇", Village: "巴伦台村", Home: "H-0002"}, alerting.KindSOS, 0)
	if _, err := s.AddAttempts(ctx, b.ID, t0, slices.Clone(notice)); err != nil {
		t.Fatal(err)
	}
	again, err := s.AddAttempts(ctx, a.ID, t0.Add(time.Minute), slices.Clone(notice))
	if err != nil || len(again) != 1 || again[0].ID != first[0].ID {
		t.Fatalf("recorded again: %+v %v; want the id %d of the attempt already there", again, err, first[0].ID)
	}
	if atts, _ := s.Attempts(ctx, a.ID); len(atts) != 1 {
		t.Fatalf("attempts of the alert: %+v, want one", atts)
	}
}
