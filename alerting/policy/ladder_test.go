package policy

import (
	"slices"
	"testing"
	"time"

	"carebed/alerting"
)

// TestDefaultCriticalTiming: steps at 0, 3m and 10m, then the last one every 10m.
func TestDefaultCriticalTiming(t *testing.T) {
	l := Default().Ladder("any township", alerting.Critical)
	cases := []struct {
		i      int
		at     time.Duration
		notify alerting.Receiver
	}{
		{0, 0, alerting.ReceiverFamily},
		{1, 3 * time.Minute, alerting.ReceiverTownshipClinic},
		{2, 10 * time.Minute, alerting.ReceiverCountyCentre},
		{3, 20 * time.Minute, alerting.ReceiverCountyCentre},
		{4, 30 * time.Minute, alerting.ReceiverCountyCentre},
		{10, 90 * time.Minute, alerting.ReceiverCountyCentre},
	}
	for _, c := range cases {
		s, at, ok := l.StepAt(c.i)
		if !ok || at != c.at || s.Notify[0] != c.notify {
			t.Errorf("StepAt(%d) = %v, %s, %v; want %s to %s", c.i, s.Notify, at, ok, c.at, c.notify)
		}
	}
	first, _, _ := l.StepAt(0)
	if want := []alerting.Receiver{"family", "village_doctor", "village_visitor"}; !slices.Equal(first.Notify, want) ||
		!slices.Equal(first.Channels, []string{"sms", "push"}) {
		t.Errorf("first step = %+v", first)
	}
}

func TestDefaultLadders(t *testing.T) {
	cases := []struct {
		sev    alerting.Severity
		afters []time.Duration
		repeat time.Duration
	}{
		{alerting.Critical, []time.Duration{0, 3 * time.Minute, 10 * time.Minute}, 10 * time.Minute},
		{alerting.High, []time.Duration{0, 10 * time.Minute}, 30 * time.Minute},
		{alerting.Warning, []time.Duration{0, 2 * time.Hour}, 0},
	}
	for _, c := range cases {
		t.Run(string(c.sev), func(t *testing.T) {
			l := Default().Ladder("", c.sev)
			var afters []time.Duration
			for _, s := range l.Steps {
				afters = append(afters, s.After)
			}
			if !slices.Equal(afters, c.afters) || l.Repeat != c.repeat {
				t.Errorf("steps at %v repeat %s; want %v repeat %s", afters, l.Repeat, c.afters, c.repeat)
			}
		})
	}
	if l := Default().Ladder("", "urgent"); len(l.Steps) != 0 {
		t.Errorf("unknown severity ladder = %+v", l)
	}
}

func TestStepAtMissing(t *testing.T) {
	warning := Default().Ladder("", alerting.Warning)
	cases := []struct {
		name string
		l    Ladder
		i    int
	}{
		{"negative", warning, -1},
		{"past the end without repeat", warning, 2},
		{"empty ladder", Ladder{Repeat: time.Minute}, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, _, ok := c.l.StepAt(c.i); ok {
				t.Errorf("StepAt(%d) exists", c.i)
			}
		})
	}
}

func TestDue(t *testing.T) {
	opened := time.Date(2025, 1, 10, 3, 0, 0, 0, time.UTC)
	crit := Default().Ladder("", alerting.Critical)
	warning := Default().Ladder("", alerting.Warning)
	cases := []struct {
		name    string
		l       Ladder
		elapsed time.Duration
		next    int
		want    []int
	}{
		{"at opening", crit, 0, 0, []int{0}},
		{"first sent", crit, time.Minute, 1, nil},
		{"second due", crit, 3 * time.Minute, 1, []int{1}},
		{"third due", crit, 10 * time.Minute, 2, []int{2}},
		{"before first repeat", crit, 19*time.Minute + 59*time.Second, 3, nil},
		{"first repeat", crit, 20 * time.Minute, 3, []int{3}},
		{"second repeat", crit, 30 * time.Minute, 4, []int{4}},
		{"late start sends every rung", crit, 12 * time.Minute, 0, []int{0, 1, 2}},
		{"missed repeats coalesce", crit, 55 * time.Minute, 3, []int{6}},
		{"last step and repeats coalesce", crit, 25 * time.Minute, 0, []int{0, 1, 3}},
		{"negative next is 0", crit, 0, -5, []int{0}},
		{"before opening", crit, -time.Minute, 0, nil},
		{"no repeat after the end", warning, 5 * time.Hour, 2, nil},
		{"last step without repeat", warning, 5 * time.Hour, 1, []int{1}},
		{"empty ladder", Ladder{}, time.Hour, 0, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := c.l.Due(opened, opened.Add(c.elapsed), c.next)
			if !slices.Equal(got, c.want) {
				t.Errorf("Due(+%s, next %d) = %v, want %v", c.elapsed, c.next, got, c.want)
			}
		})
	}
}

// TestDueDrivesTimer runs the ladder the way the escalation engine will: wake at
// NextAt, send what is Due, advance next.
func TestDueDrivesTimer(t *testing.T) {
	opened := time.Date(2025, 1, 10, 3, 0, 0, 0, time.UTC)
	l := Default().Ladder("", alerting.Critical)
	var sent []time.Duration
	next := 0
	for now := l.NextAt(opened, next); now.Sub(opened) <= 40*time.Minute; now = l.NextAt(opened, next) {
		for _, i := range l.Due(opened, now, next) {
			sent = append(sent, now.Sub(opened))
			next = i + 1
		}
	}
	want := []time.Duration{0, 3 * time.Minute, 10 * time.Minute, 20 * time.Minute, 30 * time.Minute, 40 * time.Minute}
	if !slices.Equal(sent, want) {
		t.Errorf("sent at %v, want %v", sent, want)
	}
}

func TestNextAt(t *testing.T) {
	opened := time.Date(2025, 1, 10, 3, 0, 0, 0, time.UTC)
	cases := []struct {
		sev  alerting.Severity
		next int
		want time.Time
	}{
		{alerting.Critical, 0, opened},
		{alerting.Critical, 1, opened.Add(3 * time.Minute)},
		{alerting.Critical, 5, opened.Add(40 * time.Minute)},
		{alerting.High, 3, opened.Add(70 * time.Minute)},
		{alerting.Warning, 1, opened.Add(2 * time.Hour)},
		{alerting.Warning, 2, time.Time{}},
	}
	for _, c := range cases {
		if got := Default().Ladder("", c.sev).NextAt(opened, c.next); !got.Equal(c.want) {
			t.Errorf("%s NextAt(%d) = %s, want %s", c.sev, c.next, got, c.want)
		}
	}
}

func TestPersonID(t *testing.T) {
	cases := map[alerting.Receiver]string{"person:dr-li": "dr-li", "person:": "", "family": ""}
	for r, want := range cases {
		if got, ok := PersonID(r); got != want || ok != (want != "") {
			t.Errorf("PersonID(%q) = %q, %v", r, got, ok)
		}
	}
}

func TestLadderIsACopy(t *testing.T) {
	p := Default()
	l := p.Ladder("", alerting.Critical)
	l.Steps[0].Notify[0] = "person:mallory"
	l.Steps[1].After = time.Hour
	if got := p.Ladder("", alerting.Critical); got.Steps[0].Notify[0] != alerting.ReceiverFamily || got.Steps[1].After != 3*time.Minute {
		t.Errorf("changing a returned ladder changed the policy: %+v", got)
	}
}

// TestDefaultPagesSomeoneAtEveryStep: with no county_centre numbers (the default),
// every step of every default ladder, and its repeats, names a receiver that is not
// the county centre.
func TestDefaultPagesSomeoneAtEveryStep(t *testing.T) {
	p := Default()
	if len(p.CountyCentre()) != 0 {
		t.Fatalf("the default has county numbers %v", p.CountyCentre())
	}
	for _, sev := range []alerting.Severity{alerting.Critical, alerting.High, alerting.Warning} {
		l := p.Ladder("", sev)
		for i := range len(l.Steps) + 2 {
			s, _, ok := l.StepAt(i)
			if !ok {
				continue
			}
			if !slices.ContainsFunc(s.Notify, func(r alerting.Receiver) bool { return r != alerting.ReceiverCountyCentre }) {
				t.Errorf("%s step %d notifies %v: nobody without county_centre numbers", sev, i, s.Notify)
			}
		}
	}
}
