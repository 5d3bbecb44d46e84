package policy

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"time"

	"carebed/alerting"
)

var (
	phoneRE    = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`) // E.164
	personIDRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)
	severities = []alerting.Severity{alerting.Critical, alerting.High, alerting.Warning}
)

// build validates a decoded alerting section over the defaults and returns the Policy.
// Maps are walked in sorted key order, so the error reported is always the same one.
func build(c fileConfig) (Policy, error) {
	p := Policy{loc: beijing(), townships: map[string]township{}, homes: map[string]rulesConfig{}}
	var err error
	if p.people, err = buildPeople(c.People); err != nil {
		return Policy{}, err
	}
	if p.county, err = phones(c.CountyCentre, "alerting.county_centre"); err != nil {
		return Policy{}, err
	}
	if p.rules, err = mergeRules(defaultRules(), c.Rules, "alerting.rules"); err != nil {
		return Policy{}, err
	}
	p.ladders = defaultLadders()
	if err := buildLadders(p.ladders, c.Ladders, "alerting.ladders", p.people); err != nil {
		return Policy{}, err
	}
	if err := checkReach(p.ladders, "alerting.ladders", p.county); err != nil {
		return Policy{}, err
	}
	if p.quiet, err = c.QuietHours.onto(defaultQuiet(), "alerting.quiet_hours"); err != nil {
		return Policy{}, err
	}
	for _, name := range slices.Sorted(maps.Keys(c.Townships)) {
		if p.townships[name], err = p.township(name, c.Townships[name]); err != nil {
			return Policy{}, err
		}
	}
	if err := p.buildHomes(c.Homes); err != nil {
		return Policy{}, err
	}
	if p.limits, err = buildLimits(c.RateLimit, c.SMSBudget); err != nil {
		return Policy{}, err
	}
	if p.templates, p.sources, err = buildTemplates(c.Templates); err != nil {
		return Policy{}, err
	}
	if p.visits, err = buildVisits(c.Visits); err != nil {
		return Policy{}, err
	}
	if p.nearby, err = buildNearby(c.Nearby); err != nil {
		return Policy{}, err
	}
	if p.report, err = buildReport(c.Report); err != nil {
		return Policy{}, err
	}
	return p, nil
}

// mergeRules checks the rules block c at path and merges it over base.
func mergeRules(base Rules, c rulesConfig, path string) (Rules, error) {
	if err := c.check(path); err != nil {
		return Rules{}, err
	}
	r := c.onto(base)
	return r, r.check(path)
}

// buildLadders replaces the ladders of dst named in cs.
func buildLadders(dst map[alerting.Severity]Ladder, cs map[string]ladderConfig, path string, people map[string]person) error {
	for _, key := range slices.Sorted(maps.Keys(cs)) {
		sev, err := severity(key)
		if err != nil {
			return fmt.Errorf("%s.%s: %w", path, key, err)
		}
		if dst[sev], err = cs[key].ladder(path+"."+key, people); err != nil {
			return err
		}
	}
	return nil
}

func severity(s string) (alerting.Severity, error) {
	if !slices.Contains(severities, alerting.Severity(s)) {
		return "", fmt.Errorf("unknown severity %q (critical, high or warning)", s)
	}
	return alerting.Severity(s), nil
}

// township builds a township's settings over the global ones.
func (p Policy) township(name string, c townConfig) (township, error) {
	path := "alerting.townships." + name
	if name == "" {
		return township{}, fmt.Errorf("alerting.townships: a township has an empty name")
	}
	t := township{ladders: map[alerting.Severity]Ladder{}}
	var err error
	if t.rules, err = mergeRules(p.rules, c.Rules, path+".rules"); err != nil {
		return township{}, err
	}
	if err := buildLadders(t.ladders, c.Ladders, path+".ladders", p.people); err != nil {
		return township{}, err
	}
	if err := checkReach(t.ladders, path+".ladders", p.county); err != nil {
		return township{}, err
	}
	if t.quiet, err = c.QuietHours.onto(p.quiet, path+".quiet_hours"); err != nil {
		return township{}, err
	}
	return t, nil
}

// buildHomes checks each home's overrides over the global rules and over every
// township's, since a home's township is known only when RulesFor is called.
func (p *Policy) buildHomes(cs map[string]homeConfig) error {
	for _, id := range slices.Sorted(maps.Keys(cs)) {
		path := "alerting.homes." + id + ".rules"
		if id == "" {
			return fmt.Errorf("alerting.homes: a home has an empty id")
		}
		c := cs[id].Rules
		if _, err := mergeRules(p.rules, c, path); err != nil {
			return err
		}
		for _, name := range slices.Sorted(maps.Keys(p.townships)) {
			if err := c.onto(p.townships[name].rules).check(path); err != nil {
				return fmt.Errorf("%w (over the rules of township %s)", err, name)
			}
		}
		p.homes[id] = c
	}
	return nil
}

// onto checks a quiet_hours block at path and merges it over q.
func (c quietConfig) onto(q quietHours, path string) (quietHours, error) {
	q.window = windowConfig{Start: c.Start, End: c.End}.onto(q.window)
	if q.window.Start == q.window.End {
		return quietHours{}, fmt.Errorf("%s: start and end are both %s", path, fmtClock(q.window.Start))
	}
	if c.Severities == nil {
		return q, nil
	}
	q.held = make([]alerting.Severity, 0, len(*c.Severities))
	for i, s := range *c.Severities {
		sev, err := severity(s)
		if err == nil && sev == alerting.Critical {
			err = fmt.Errorf("critical alerts are never held by quiet hours")
		}
		if err != nil {
			return quietHours{}, fmt.Errorf("%s.severities[%d]: %w", path, i, err)
		}
		q.held = append(q.held, sev)
	}
	return q, noRepeats(*c.Severities, path+".severities")
}

func buildPeople(cs map[string]personConfig) (map[string]person, error) {
	people := map[string]person{}
	for _, id := range slices.Sorted(maps.Keys(cs)) {
		path := "alerting.people." + id
		c := cs[id]
		switch {
		case !personIDRE.MatchString(id):
			return nil, fmt.Errorf("%s: an id may use only letters, digits, '-', '_' and '.'", path)
		case c.Name == "":
			return nil, fmt.Errorf("%s.name: missing", path)
		case !phoneRE.MatchString(c.Phone):
			return nil, fmt.Errorf("%s.phone: %q is not an international number like +8613800000000", path, c.Phone)
		}
		people[id] = person{name: c.Name, phone: c.Phone}
	}
	return people, nil
}

func phones(list []string, path string) ([]string, error) {
	for i, ph := range list {
		if !phoneRE.MatchString(ph) {
			return nil, fmt.Errorf("%s[%d]: %q is not an international number like +8613800000000", path, i, ph)
		}
	}
	if len(list) == 0 {
		return nil, nil
	}
	return slices.Clone(list), noRepeats(list, path)
}

func buildLimits(r rateConfig, b budgetConfig) (Limits, error) {
	l := defaultLimits()
	set(&l.PerPerson, r.PerPerson)
	set(&l.Per, r.Per)
	set(&l.SMSPerDay, b.PerDay)
	switch {
	case l.PerPerson < 1:
		return Limits{}, fmt.Errorf("alerting.rate_limit.per_person: %d is less than 1", l.PerPerson)
	case l.Per < time.Minute:
		return Limits{}, fmt.Errorf("alerting.rate_limit.per: %s is shorter than 1m", fmtDur(l.Per))
	case l.SMSPerDay < 1:
		return Limits{}, fmt.Errorf("alerting.sms_budget.per_day: %d is less than 1", l.SMSPerDay)
	}
	return l, nil
}
