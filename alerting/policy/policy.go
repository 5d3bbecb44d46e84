// Package policy is the alerting configuration, the "alerting:" section of the
// gateway's config file, and the pure functions that read it: the rule thresholds per
// township and home (RulesFor), the escalation ladder per severity (Ladder, and on it
// StepAt, Due and NextAt), quiet hours (ReleaseAt), rate limits and the SMS budget
// (Limits), the receivers it names (CountyCentre, Person) and the message templates
// (Render).
//
// Loading follows Alertmanager's config: strict YAML (an unknown key is an error with
// its line), defaults for every absent key, validation that names the key path, then
// cross-references (a person:<id> receiver must be in people). Every time is injected
// by the caller; wall-clock times are read in the policy's zone (WithLocation).
package policy

import (
	"maps"
	"slices"
	"sync"
	"text/template"
	"time"

	"carebed/alerting"
)

// Policy is a validated alerting configuration. The zero Policy has no ladders and no
// templates; use Default or Parse. A Policy is immutable and safe for concurrent use.
type Policy struct {
	rules     Rules
	ladders   map[alerting.Severity]Ladder
	quiet     quietHours
	townships map[string]township
	homes     map[string]rulesConfig
	limits    Limits
	county    []string
	people    map[string]person
	templates map[string]*template.Template
	sources   map[string]string
	loc       *time.Location
	visits    Visits
	nearby    Nearby
	report    Report
}

// township is a township's rules (merged over the global ones), the ladders it
// replaces and its quiet hours (merged over the global ones).
type township struct {
	rules   Rules
	ladders map[alerting.Severity]Ladder
	quiet   quietHours
}

// quietHours hold the steps of the held severities while their window lasts.
type quietHours struct {
	window Window
	held   []alerting.Severity
}

type person struct{ name, phone string }

// Limits bound the messages sent: at most PerPerson messages to one person per Per
// (critical pages still go out, counted and logged), and at most SMSPerDay SMS a day
// for the whole gateway (over it, only critical SMS go out).
type Limits struct {
	PerPerson int
	Per       time.Duration
	SMSPerDay int
}

// Default returns the policy of ARCHITECTURE.md, section Alerts: the policy of an
// empty alerting section, in Beijing time.
func Default() Policy {
	p, err := build(fileConfig{})
	if err != nil {
		panic("policy: the default policy is invalid: " + err.Error())
	}
	return p
}

// defaultQuiet holds high and warning steps from 22:00 to 07:00.
func defaultQuiet() quietHours {
	return quietHours{window: Window{Start: 22 * time.Hour, End: 7 * time.Hour},
		held: []alerting.Severity{alerting.High, alerting.Warning}}
}

// defaultLimits: 20 messages per person per hour, 5000 SMS a day.
func defaultLimits() Limits { return Limits{PerPerson: 20, Per: time.Hour, SMSPerDay: 5000} }

// beijing is Asia/Shanghai, or a fixed +08:00 zone when the system has no tzdata.
var beijing = sync.OnceValue(func() *time.Location {
	if loc, err := time.LoadLocation("Asia/Shanghai"); err == nil {
		return loc
	}
	return time.FixedZone("CST", 8*60*60)
})

// WithLocation returns the policy reading wall-clock times (rule windows, quiet hours)
// in loc; nil restores the default, Asia/Shanghai.
func (p Policy) WithLocation(loc *time.Location) Policy {
	p.loc = loc
	if loc == nil {
		p.loc = beijing()
	}
	return p
}

// Location returns the zone the policy reads wall-clock times in.
func (p Policy) Location() *time.Location {
	if p.loc == nil {
		return beijing()
	}
	return p.loc
}

// RulesFor returns the thresholds for a home: the home's overrides over its township's
// over the global rules, field by field. An unknown township or home adds nothing. The
// Night and Day windows read times in the policy's zone.
func (p Policy) RulesFor(township, home string) Rules {
	r := p.rules
	if t, ok := p.townships[township]; ok {
		r = t.rules
	}
	if h, ok := p.homes[home]; ok {
		r = h.onto(r)
	}
	r.Night, r.Day = r.Night.In(p.Location()), r.Day.In(p.Location())
	return r
}

// Ladder returns the escalation for severity sev in a township: the township's own
// ladder if it replaces that one, else the global ladder. An unknown severity has an
// empty Ladder (no steps). The Ladder is the caller's copy.
func (p Policy) Ladder(township string, sev alerting.Severity) Ladder {
	l, ok := p.townships[township].ladders[sev]
	if !ok {
		l = p.ladders[sev]
	}
	return l.clone()
}

// clone copies the steps, so that a caller cannot change the policy's ladder.
func (l Ladder) clone() Ladder {
	steps := make([]Step, len(l.Steps))
	for i, s := range l.Steps {
		steps[i] = Step{After: s.After, Notify: slices.Clone(s.Notify), Channels: slices.Clone(s.Channels)}
	}
	l.Steps = steps
	if len(steps) == 0 {
		l.Steps = nil
	}
	return l
}

// ReleaseAt returns when a step of severity sev, due at t, may go out in a township: t
// itself, or the end of the quiet hours when sev is held and t falls inside them. The
// result is in t's location. Critical is never held.
func (p Policy) ReleaseAt(township string, sev alerting.Severity, t time.Time) time.Time {
	q := p.quiet
	if tw, ok := p.townships[township]; ok {
		q = tw.quiet
	}
	if sev == alerting.Critical || !slices.Contains(q.held, sev) {
		return t
	}
	w := q.window.In(p.Location())
	if !w.Contains(t) {
		return t
	}
	local := t.In(p.Location())
	end := int(w.End / time.Minute)
	y, m, d := local.Date()
	release := time.Date(y, m, d, end/60, end%60, 0, 0, p.Location())
	if !release.After(local) {
		release = time.Date(y, m, d+1, end/60, end%60, 0, 0, p.Location())
	}
	return release.In(t.Location())
}

// QuietHours returns a township's quiet hours (its own, else the global ones) in the
// policy's zone: the window in which held severities wait, and in which messages that
// are not alerts (the weekly family digest) are not sent at all.
func (p Policy) QuietHours(township string) Window {
	q := p.quiet
	if tw, ok := p.townships[township]; ok {
		q = tw.quiet
	}
	return q.window.In(p.Location())
}

// Limits returns the rate limit and the SMS budget.
func (p Policy) Limits() Limits { return p.limits }

// CountyCentre returns the phone numbers of the county centre's duty, the receiver
// county_centre; empty when the file names none.
func (p Policy) CountyCentre() []string { return slices.Clone(p.county) }

// Person returns the name and phone of the person a "person:<id>" receiver names.
// They are personal data: for the notifier only, never for logs.
func (p Policy) Person(id string) (name, phone string, ok bool) {
	pr, ok := p.people[id]
	return pr.name, pr.phone, ok
}

// Townships returns the names of the townships the policy has settings for, sorted.
func (p Policy) Townships() []string { return slices.Sorted(maps.Keys(p.townships)) }
