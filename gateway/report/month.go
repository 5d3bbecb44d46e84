package report

import (
	"errors"
	"fmt"
	"slices"
	"time"
)

// Month is the calendar month a report covers, in the policy's time zone.
type Month struct {
	// Label is the month as written on the command line, e.g. 2026-11.
	Label string
	// Start is the first instant of the month, End the first of the next one.
	Start, End time.Time
	// Until is where the report's figures stop: End, or the report's time for a
	// month that has not ended (then Partial is true).
	Until   time.Time
	Partial bool
}

// Days is the number of days of the month.
func (m Month) Days() int { return int(m.End.Sub(m.Start).Hours()/24 + 0.5) }

// ErrFlag is wrapped by the errors of bad input on the command line or in the
// console's form; the message names the flag.
var ErrFlag = errors.New("bad report input")

// ParseMonth reads -month (YYYY-MM) in loc. A month that has not started at now is
// an error; one that has not ended is partial, its figures up to now.
func ParseMonth(s string, now time.Time, loc *time.Location) (Month, error) {
	t, err := time.ParseInLocation("2006-01", s, loc)
	if err != nil || t.Format("2006-01") != s {
		return Month{}, fmt.Errorf("%w: -month %q: want a month such as 2026-11", ErrFlag, s)
	}
	m := Month{Label: s, Start: t, End: t.AddDate(0, 1, 0), Until: t.AddDate(0, 1, 0)}
	switch {
	case !now.After(m.Start):
		return Month{}, fmt.Errorf("%w: -month %s has not started yet (today is %s)", ErrFlag, s, now.In(loc).Format("2006-01-02"))
	case now.Before(m.End):
		m.Until, m.Partial = now, true
	}
	return m, nil
}

// Scope is the place a report covers: a county and optionally one township.
type Scope struct {
	County, Township string
}

// CheckScope checks -county and -township against the registered homes: an empty
// county is the only county registered (an error when there are several), an
// unknown name is an error naming its flag.
func CheckScope(s Scope, homes []Home) (Scope, error) {
	counties := map[string][]string{}
	for _, h := range homes {
		if !slices.Contains(counties[h.Place.County], h.Place.Township) {
			counties[h.Place.County] = append(counties[h.Place.County], h.Place.Township)
		}
	}
	if s.County == "" {
		if len(counties) != 1 {
			return s, fmt.Errorf("%w: -county: name the county (registered: %s)", ErrFlag, names(counties))
		}
		for c := range counties {
			s.County = c
		}
	}
	towns, ok := counties[s.County]
	if !ok {
		return s, fmt.Errorf("%w: -county %q: no such county in the registry (registered: %s)", ErrFlag, s.County, names(counties))
	}
	if s.Township != "" && !slices.Contains(towns, s.Township) {
		slices.Sort(towns)
		return s, fmt.Errorf("%w: -township %q: no such township in %s (registered: %v)", ErrFlag, s.Township, s.County, towns)
	}
	return s, nil
}

func names(m map[string][]string) string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	if len(out) == 0 {
		return "none"
	}
	return fmt.Sprint(out)
}
