package escalation

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"carebed/alerting"
	"carebed/alerting/notify"
	"carebed/alerting/policy"
	"carebed/alerting/sqlite"
	"carebed/internal/testwait"
)

var (
	t0    = time.Date(2026, 11, 29, 3, 0, 0, 0, time.UTC) // 11:00 in Xinjiang: no quiet hours
	place = alerting.Place{County: "和静县", Township: "巴伦台镇", Village: "巴伦台村", Home: "H-0002"}
)

// directory knows one home's people and the township clinic.
type directory struct{}

var people = map[alerting.Receiver][]alerting.Person{
	alerting.ReceiverFamily:         {{ID: "H-0002/c/3", Role: alerting.ReceiverFamily, Name: "儿子", Phone: "+8613800000013"}},
	alerting.ReceiverVillageDoctor:  {{ID: "H-0002/c/2", Role: alerting.ReceiverVillageDoctor, Name: "村医乙", Phone: "+8613800000012"}},
	alerting.ReceiverVillageVisitor: {{ID: "H-0002/c/1", Role: alerting.ReceiverVillageVisitor, Name: "探访员乙", Phone: "+8613800000011", Responder: "r-11"}},
	alerting.ReceiverTownshipClinic: {{ID: "clinic/和静县/巴伦台镇", Role: alerting.ReceiverTownshipClinic, Phone: "+8613800000019"}},
}

func (directory) People(_ context.Context, _ alerting.Place, r alerting.Receiver) ([]alerting.Person, error) {
	return people[r], nil
}

func (directory) Person(_ context.Context, id string) (alerting.Person, bool, error) {
	for _, ps := range people {
		for _, p := range ps {
			if p.ID == id {
				return p, true, nil
			}
		}
	}
	return alerting.Person{}, false, nil
}

func (directory) PeopleByPhone(context.Context, string) ([]alerting.Person, error) { return nil, nil }

func (directory) Elder(context.Context, alerting.Place) (string, error) { return "老人乙", nil }

// recorder is a notifier that keeps what it sent; fail makes it answer an error.
type recorder struct {
	mu   sync.Mutex
	sent []notify.Notification
	fail func(n notify.Notification) (bool, error)
	n    int
}

func (r *recorder) Notify(_ context.Context, n notify.Notification) (notify.Receipt, bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.n++
	if r.fail != nil {
		if retry, err := r.fail(n); err != nil {
			return notify.Receipt{}, retry, err
		}
	}
	r.sent = append(r.sent, n)
	return notify.Receipt{ProviderID: fmt.Sprintf("SM%d", r.n), Status: "queued"}, false, nil
}

func (r *recorder) to() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, n := range r.sent {
		out = append(out, string(n.Purpose)+":"+n.To.ID)
	}
	return out
}

// sorted returns the notifications sent so far, sorted: sends run concurrently.
func (r *recorder) sorted() string {
	s := r.to()
	slices.Sort(s)
	return strings.Join(s, " ")
}

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

type fixture struct {
	store *sqlite.Store
	sms   *recorder
	push  *recorder
	clk   *clock
	path  string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{sms: &recorder{}, push: &recorder{}, clk: &clock{t0}, path: filepath.Join(t.TempDir(), "alerts.db")}
	f.reopen(t)
	return f
}

// reopen opens the store file again, as a restarted gateway does.
func (f *fixture) reopen(t *testing.T) {
	t.Helper()
	if f.store != nil {
		f.store.Close()
	}
	s, err := sqlite.Open(f.path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	f.store = s
}

func (f *fixture) runner(feedback Feedback) *Runner {
	return New(Options{Store: f.store, Policy: policy.Default().WithLocation(time.FixedZone("CST", 8*3600)),
		Directory: directory{}, Notifiers: map[string]notify.Notifier{"sms": f.sms, "push": f.push},
		Retry: notify.RetryOptions{Min: time.Millisecond, Max: time.Millisecond}, Now: f.clk.now, Feedback: feedback})
}

// at moves the clock and runs the due steps, waiting for their sends.
func (f *fixture) at(r *Runner, d time.Duration) {
	f.clk.t = t0.Add(d)
	r.runDue(context.Background())
	r.sending.Wait()
}

func (f *fixture) raise(t *testing.T) alerting.Alert {
	t.Helper()
	a, _, err := f.store.Raise(context.Background(), alerting.Raise{Kind: alerting.KindSOS, Sev: alerting.Critical,
		Place: place, Device: "hj-0002-sos", EventAt: t0, Now: t0})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestCriticalLadder(t *testing.T) {
	f := newFixture(t)
	r := f.runner(nil)
	f.raise(t)
	f.at(r, 0)
	want := "page:H-0002/c/1 page:H-0002/c/2 page:H-0002/c/3"
	if got := f.sms.sorted(); got != want {
		t.Fatalf("SMS at 0 s: %v, want %v", got, want)
	}
	if got := f.push.to(); len(got) != 1 || got[0] != "page:H-0002/c/1" {
		t.Fatalf("push at 0 s: %v", got)
	}
	f.at(r, 2*time.Minute)
	if n := len(f.sms.to()); n != 3 {
		t.Fatalf("%d SMS before 3 min, want 3", n)
	}
	f.at(r, 3*time.Minute)
	if got := f.sms.sorted(); got != "page:H-0002/c/1 page:H-0002/c/2 page:H-0002/c/3 page:clinic/和静县/巴伦台镇" {
		t.Fatalf("at 3 min: %v, want the township clinic paged", got)
	}
	// The pages go out concurrently: check each by its reader. Responders are asked
	// to reply with the code; the family is told, and asked nothing.
	for _, n := range f.sms.sent {
		asks := strings.Contains(n.Text, n.AlertCode)
		if !strings.Contains(n.Text, "紧急呼叫") || asks == (n.To.Role == alerting.ReceiverFamily) {
			t.Errorf("page to %s (%s) %q: want the kind, and the reply code only for responders", n.To.ID, n.To.Role, n.Text)
		}
	}
}

func TestRestartContinuesWithoutDuplicates(t *testing.T) {
	f := newFixture(t)
	f.raise(t)
	f.at(f.runner(nil), 0)
	f.reopen(t) // the gateway died after step 0 and came back
	r := f.runner(nil)
	r.resendQueued(context.Background())
	f.at(r, time.Minute)
	f.at(r, 3*time.Minute+time.Second)
	f.at(r, 3*time.Minute+2*time.Second)
	got := f.sms.sorted()
	want := "page:H-0002/c/1 page:H-0002/c/2 page:H-0002/c/3 page:clinic/和静县/巴伦台镇"
	if got != want {
		t.Fatalf("SMS across the restart: %v, want %s", got, want)
	}
}

// TestAckDoesNotWaitForTheDevice: telling the device that help is coming may wait
// on a dead link (a broker publish behind a stalled connection); the ack, and the
// "taken" notices, do not wait for it.
func TestAckDoesNotWaitForTheDevice(t *testing.T) {
	f := newFixture(t)
	stalled, fed := make(chan struct{}), make(chan string, 1)
	r := f.runner(func(_ context.Context, a alerting.Alert, _ alerting.Person) error {
		<-stalled
		fed <- a.Device
		return nil
	})
	a := f.raise(t)
	f.at(r, 0)
	acked := make(chan error, 1)
	go func() {
		_, err := r.Ack(context.Background(), a.ID, people[alerting.ReceiverVillageDoctor][0], "sms")
		acked <- err
	}()
	select {
	case err := <-acked:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		close(stalled)
		t.Fatal("the ack waited for the device's feedback")
	}
	testwait.Until(t, 10*time.Second, "the family told it was taken", func() (bool, string) {
		return slices.Contains(f.sms.to(), "taken:"+people[alerting.ReceiverFamily][0].ID), fmt.Sprint(f.sms.to())
	})
	close(stalled)
	r.sending.Wait()
	if got := <-fed; got != a.Device {
		t.Errorf("feedback to %s, want %s", got, a.Device)
	}
}

func TestAckStopsLadderAndTellsOthers(t *testing.T) {
	f := newFixture(t)
	var fed []string
	r := f.runner(func(_ context.Context, a alerting.Alert, by alerting.Person) error {
		fed = append(fed, a.Device+" by "+by.ID)
		return nil
	})
	a := f.raise(t)
	f.at(r, 0)
	doctor := people[alerting.ReceiverVillageDoctor][0]
	f.clk.t = t0.Add(time.Minute)
	if _, err := r.Ack(context.Background(), a.ID, doctor, "sms"); err != nil {
		t.Fatal(err)
	}
	r.sending.Wait()
	taken := 0
	for _, to := range f.sms.to() {
		if strings.HasPrefix(to, "taken:") {
			taken++
			if to == "taken:"+doctor.ID {
				t.Errorf("the doctor who took it was told it was taken")
			}
		}
	}
	if taken != 2 {
		t.Errorf("%d 'taken' SMS, want 2 (family and visitor): %v", taken, f.sms.to())
	}
	if len(fed) != 1 || fed[0] != "hj-0002-sos by "+doctor.ID {
		t.Errorf("feedback %v", fed)
	}
	before := len(f.sms.to())
	f.at(r, 10*time.Minute)
	if len(f.sms.to()) != before {
		t.Errorf("steps were sent after the ack: %v", f.sms.to()[before:])
	}
	if _, err := r.Ack(context.Background(), a.ID, people[alerting.ReceiverFamily][0], "sms"); !errors.Is(err, alerting.ErrAcknowledged) {
		t.Errorf("second ack: %v", err)
	}
}

func TestFailedSMSRetriedOrNot(t *testing.T) {
	cases := []struct {
		name      string
		fail      func(int) (bool, error)
		wantSent  int
		wantTries int
	}{
		{"5xx retried", func(n int) (bool, error) {
			if n < 3 {
				return true, errors.New("twilio: 500")
			}
			return false, nil
		}, 3, 5},
		{"invalid number not retried", func(int) (bool, error) { return false, errors.New("twilio: 400 21211") }, 0, 3},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t)
			calls := map[string]int{}
			f.sms.fail = func(n notify.Notification) (bool, error) {
				calls[n.To.ID]++
				if n.To.ID == "H-0002/c/3" {
					return c.fail(calls[n.To.ID])
				}
				return false, nil
			}
			r := f.runner(nil)
			a := f.raise(t)
			f.at(r, 0)
			atts, _ := f.store.Attempts(context.Background(), a.ID)
			status := map[string]string{}
			for _, at := range atts {
				if at.Channel == "sms" {
					status[at.PersonID] = at.Status
				}
			}
			want := "sent"
			if c.wantSent == 0 {
				want = "failed"
			}
			if status["H-0002/c/3"] != want {
				t.Errorf("family SMS attempt %q, want %q (all: %v)", status["H-0002/c/3"], want, status)
			}
			if f.sms.n != c.wantTries {
				t.Errorf("%d notifier calls, want %d", f.sms.n, c.wantTries)
			}
			_, next, _ := f.store.NextStep(context.Background(), a.ID)
			wantNext := t0.Add(3 * time.Minute)
			if c.wantSent == 0 {
				wantNext = t0 // the family cannot be reached: the clinic step comes forward
			}
			if !next.Equal(wantNext) {
				t.Errorf("next step due %v, want %v", next, wantNext)
			}
		})
	}
}

// TestLongDowntimeCoalescesRepeats: the gateway comes back 35 minutes after an SOS
// it paged at once. The clinic (3 min) and the county centre with the clinic and the
// village doctor (10 min, repeated every 10) are both overdue: each person is paged
// once, not once per missed repeat nor once per step due.
func TestLongDowntimeCoalescesRepeats(t *testing.T) {
	f := newFixture(t)
	f.raise(t)
	f.at(f.runner(nil), 0)
	people[alerting.ReceiverCountyCentre] = []alerting.Person{{ID: "county/0", Role: alerting.ReceiverCountyCentre, Phone: "+8613800000099"}}
	defer delete(people, alerting.ReceiverCountyCentre)
	f.reopen(t)
	r := f.runner(nil)
	for s := range 4 { // the runner looks again and again: no missed repeat is sent
		f.at(r, 35*time.Minute+time.Duration(s)*time.Second)
	}
	want := "page:H-0002/c/1 page:H-0002/c/2 page:H-0002/c/2 page:H-0002/c/3 page:clinic/和静县/巴伦台镇 page:county/0"
	if got := f.sms.sorted(); got != want {
		t.Fatalf("SMS after 35 min down:\n got %s\nwant %s", got, want)
	}
	f.at(r, 40*time.Minute+time.Second) // the next repeat is at 40 min
	want = "page:H-0002/c/1 page:H-0002/c/2 page:H-0002/c/2 page:H-0002/c/2 page:H-0002/c/3 " +
		"page:clinic/和静县/巴伦台镇 page:clinic/和静县/巴伦台镇 page:county/0 page:county/0"
	if got := f.sms.sorted(); got != want {
		t.Fatalf("SMS at 40 min: %s, want one more page to the county, the clinic and the doctor", got)
	}
}

// holding is a notifier that makes hold wait before passing a notification on.
type holding struct {
	*recorder
	hold func(notify.Notification)
}

// cancelAfterAck is the store with the caller's context ending right after the ack
// is committed: a phone that loses its connection once it has tapped.
type cancelAfterAck struct {
	*sqlite.Store
	cancel context.CancelFunc
}

func (s cancelAfterAck) Ack(ctx context.Context, id int64, by, channel string, now time.Time) (alerting.Alert, error) {
	a, err := s.Store.Ack(ctx, id, by, channel, now)
	s.cancel()
	return a, err
}

// TestAckTellsThoseStillBeingPaged: someone acknowledges while the other pages are
// still being sent, and goes away at once; everyone paged still hears who took it.
func TestAckTellsThoseStillBeingPaged(t *testing.T) {
	f := newFixture(t)
	open := make(chan struct{}) // pages are held until then: SMS still on their way
	g := holding{f.sms, func(n notify.Notification) {
		if n.Purpose == notify.PurposePage {
			<-open
		}
	}}
	ctx, cancel := context.WithCancel(context.Background())
	r := New(Options{Store: cancelAfterAck{f.store, cancel}, Policy: policy.Default().WithLocation(time.FixedZone("CST", 8*3600)),
		Directory: directory{}, Notifiers: map[string]notify.Notifier{"sms": g, "push": f.push},
		Retry: notify.RetryOptions{Min: time.Millisecond, Max: time.Millisecond}, Now: f.clk.now})
	a := f.raise(t)
	r.runDue(context.Background()) // the pages are claimed (queued) and held at the gate
	doctor := people[alerting.ReceiverVillageDoctor][0]
	if _, err := r.Ack(ctx, a.ID, doctor, "api"); err != nil {
		t.Fatal(err)
	}
	close(open)
	r.sending.Wait()
	var taken []string
	for _, to := range f.sms.to() {
		if strings.HasPrefix(to, "taken:") {
			taken = append(taken, to)
		}
	}
	slices.Sort(taken)
	if want := []string{"taken:H-0002/c/1", "taken:H-0002/c/3"}; !slices.Equal(taken, want) {
		t.Errorf("'taken' SMS to %v, want %v (family and visitor, paged while the doctor took it)", taken, want)
	}
}
