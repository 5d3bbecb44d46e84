package policy

import (
	"fmt"
	"strings"
	"time"

	"carebed/alerting"
)

// Channels a step can page by.
const (
	ChannelSMS     = "sms"
	ChannelPush    = "push"
	ChannelWebhook = "webhook"
)

// minRepeat is the shortest repeat interval: a shorter one would flood people.
const minRepeat = time.Minute

// Step is one rung of an escalation ladder: After the alert opened, page Notify by
// every one of Channels.
type Step struct {
	After    time.Duration
	Notify   []alerting.Receiver
	Channels []string
}

// Ladder is how one severity escalates: Steps in order of After, then, once the last
// step has gone out, the last step again every Repeat until someone acknowledges
// (Repeat 0: no repeats).
type Ladder struct {
	Steps  []Step
	Repeat time.Duration
}

// StepAt returns step i, when it is due counted from the alert's opening, and whether
// it exists. Indexes from len(Steps) on are the repeats of the last step: i =
// len(Steps)+k is the last step again at its After plus (k+1)*Repeat. With no repeats,
// or for i < 0, there is no such step.
func (l Ladder) StepAt(i int) (Step, time.Duration, bool) {
	n := len(l.Steps)
	switch {
	case i < 0 || n == 0:
		return Step{}, 0, false
	case i < n:
		return l.Steps[i], l.Steps[i].After, true
	case l.Repeat <= 0:
		return Step{}, 0, false
	}
	last := l.Steps[n-1]
	return last, last.After + time.Duration(i-n+1)*l.Repeat, true
}

// Due returns, in order, the indexes from next on (next: the first step not yet sent)
// whose time has come at now for an alert opened at opened. The occurrences of the
// last step that are due together (after a restart, or a long hold) are coalesced into
// the latest one, so that the same people are not paged twice in one go: the caller
// sends what Due returns and sets next to the last index plus one.
func (l Ladder) Due(opened, now time.Time, next int) []int {
	n := len(l.Steps)
	if n == 0 {
		return nil
	}
	next = max(next, 0)
	elapsed := now.Sub(opened)
	var due []int
	for i := next; i < n-1 && l.Steps[i].After <= elapsed; i++ {
		due = append(due, i)
	}
	lastAfter := l.Steps[n-1].After
	if lastAfter > elapsed {
		return due
	}
	latest := n - 1
	if l.Repeat > 0 {
		latest += int((elapsed - lastAfter) / l.Repeat)
	}
	if latest >= next {
		due = append(due, latest)
	}
	return due
}

// NextAt returns when step next is due for an alert opened at opened (for the caller's
// timer), or the zero time when the ladder has no step next.
func (l Ladder) NextAt(opened time.Time, next int) time.Time {
	_, at, ok := l.StepAt(next)
	if !ok {
		return time.Time{}
	}
	return opened.Add(at)
}

// PersonID returns the id of a named-person receiver ("person:<id>").
func PersonID(r alerting.Receiver) (string, bool) {
	id, ok := strings.CutPrefix(string(r), personPrefix)
	if !ok || id == "" {
		return "", false
	}
	return id, true
}

const personPrefix = "person:"

// defaultLadders are the ladders of ARCHITECTURE.md, section Alerts.
func defaultLadders() map[alerting.Severity]Ladder {
	const (
		fam, doc, vis = alerting.ReceiverFamily, alerting.ReceiverVillageDoctor, alerting.ReceiverVillageVisitor
		town, county  = alerting.ReceiverTownshipClinic, alerting.ReceiverCountyCentre
	)
	sms, smsPush := []string{ChannelSMS}, []string{ChannelSMS, ChannelPush}
	return map[alerting.Severity]Ladder{
		alerting.Critical: {Repeat: 10 * time.Minute, Steps: []Step{
			{After: 0, Notify: []alerting.Receiver{fam, doc, vis}, Channels: smsPush},
			{After: 3 * time.Minute, Notify: []alerting.Receiver{town}, Channels: sms},
			// The county centre pages nobody until alerting.county_centre lists its duty
			// phones: the clinic and the village doctor are paged again with it, so that
			// this step and its repeats always reach someone.
			{After: 10 * time.Minute, Notify: []alerting.Receiver{county, town, doc}, Channels: sms}}},
		alerting.High: {Repeat: 30 * time.Minute, Steps: []Step{
			{After: 0, Notify: []alerting.Receiver{vis, doc}, Channels: smsPush},
			{After: 10 * time.Minute, Notify: []alerting.Receiver{town}, Channels: sms}}},
		alerting.Warning: {Repeat: 0, Steps: []Step{
			{After: 0, Notify: []alerting.Receiver{vis}, Channels: []string{ChannelPush, ChannelSMS}},
			{After: 2 * time.Hour, Notify: []alerting.Receiver{town}, Channels: sms}}},
	}
}

// ladderConfig is a ladder of the file. Repeat is required: a ladder that replaces
// another must say whether it repeats.
type ladderConfig struct {
	Steps  []stepConfig   `yaml:"steps"`
	Repeat *time.Duration `yaml:"repeat"`
}

// stepConfig is a step of the file; Channels absent means sms.
type stepConfig struct {
	After    *time.Duration `yaml:"after"`
	Notify   []string       `yaml:"notify"`
	Channels []string       `yaml:"channels"`
}

// ladder validates c, whose path is e.g. alerting.ladders.critical, against the
// people known, and returns the Ladder.
func (c ladderConfig) ladder(path string, people map[string]person) (Ladder, error) {
	if len(c.Steps) == 0 {
		return Ladder{}, fmt.Errorf("%s.steps: a ladder needs at least one step", path)
	}
	l := Ladder{Steps: make([]Step, len(c.Steps))}
	for i, sc := range c.Steps {
		at := fmt.Sprintf("%s.steps[%d]", path, i)
		s, err := sc.step(at, people)
		if err != nil {
			return Ladder{}, err
		}
		if i > 0 {
			if err := laterThan(s.After, l.Steps[i-1].After); err != nil {
				return Ladder{}, fmt.Errorf("%s.after: %w", at, err)
			}
		}
		l.Steps[i] = s
	}
	switch {
	case c.Repeat == nil:
		return Ladder{}, fmt.Errorf("%s.repeat: missing (write 0s for no repeat)", path)
	case *c.Repeat < 0:
		return Ladder{}, fmt.Errorf("%s.repeat: %s is negative", path, fmtDur(*c.Repeat))
	case *c.Repeat > 0 && *c.Repeat < minRepeat:
		return Ladder{}, fmt.Errorf("%s.repeat: %s is shorter than %s (0s turns repeats off)",
			path, fmtDur(*c.Repeat), fmtDur(minRepeat))
	}
	l.Repeat = *c.Repeat
	return l, nil
}

func laterThan(d, prev time.Duration) error {
	switch {
	case d < prev:
		return fmt.Errorf("%s is earlier than the previous step (%s)", fmtDur(d), fmtDur(prev))
	case d == prev:
		return fmt.Errorf("%s is the same as the previous step: steps must be strictly later", fmtDur(d))
	}
	return nil
}

func (c stepConfig) step(path string, people map[string]person) (Step, error) {
	switch {
	case c.After == nil:
		return Step{}, fmt.Errorf("%s.after: missing", path)
	case *c.After < 0:
		return Step{}, fmt.Errorf("%s.after: %s is negative", path, fmtDur(*c.After))
	case len(c.Notify) == 0:
		return Step{}, fmt.Errorf("%s.notify: names no receiver", path)
	}
	s := Step{After: *c.After, Notify: make([]alerting.Receiver, len(c.Notify)), Channels: []string{ChannelSMS}}
	for i, r := range c.Notify {
		if err := checkReceiver(r, fmt.Sprintf("%s.notify", path), i, people); err != nil {
			return Step{}, err
		}
		s.Notify[i] = alerting.Receiver(r)
	}
	if err := noRepeats(c.Notify, path+".notify"); err != nil {
		return Step{}, err
	}
	if c.Channels != nil {
		ch, err := channels(c.Channels, path+".channels")
		if err != nil {
			return Step{}, err
		}
		s.Channels = ch
	}
	return s, nil
}

// checkReceiver validates notify[i]; path names the notify list.
func checkReceiver(r, path string, i int, people map[string]person) error {
	switch alerting.Receiver(r) {
	case alerting.ReceiverFamily, alerting.ReceiverVillageVisitor, alerting.ReceiverVillageDoctor,
		alerting.ReceiverTownshipClinic, alerting.ReceiverCountyCentre:
		return nil
	}
	id, ok := PersonID(alerting.Receiver(r))
	if !ok {
		return fmt.Errorf("%s[%d]: unknown receiver %q (family, village_visitor, village_doctor, "+
			"township_clinic, county_centre or person:<id>)", path, i, r)
	}
	if _, ok := people[id]; !ok {
		return fmt.Errorf("undefined person %q in %s", id, path)
	}
	return nil
}

func channels(cs []string, path string) ([]string, error) {
	if len(cs) == 0 {
		return nil, fmt.Errorf("%s: empty (leave the key out for sms)", path)
	}
	for i, c := range cs {
		if c != ChannelSMS && c != ChannelPush && c != ChannelWebhook {
			return nil, fmt.Errorf("%s[%d]: unknown channel %q (sms, push or webhook)", path, i, c)
		}
	}
	if err := noRepeats(cs, path); err != nil {
		return nil, err
	}
	return append([]string(nil), cs...), nil
}

// noRepeats rejects a list naming the same thing twice.
func noRepeats(list []string, path string) error {
	seen := map[string]bool{}
	for i, v := range list {
		if seen[v] {
			return fmt.Errorf("%s[%d]: %q is listed twice", path, i, v)
		}
		seen[v] = true
	}
	return nil
}
