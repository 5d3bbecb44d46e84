package report

import (
	"cmp"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"carebed/alerting"
)

// KindRow is one alert kind's line of the alerts section.
type KindRow struct {
	Kind alerting.Kind
	// BySev counts the kind's alerts by severity; Total all of them.
	BySev map[alerting.Severity]int
	Total int
	// Paged counts the alerts someone was asked to take (paged or taken): those
	// the share in time is of. Taken counts those someone took.
	Paged, Taken int
	// P50, P90 and Max are the times to take (raised to acknowledged) of those
	// taken, nearest rank; missing (无数据) when none was taken.
	P50, P90, Max Cell
	// Target is the policy's time to take the kind within (0: none); InTime the
	// share of Paged taken within it.
	Target time.Duration
	InTime Cell
}

// Slow is one of the slowest alerts to be taken, with its audit trail.
type Slow struct {
	Alert alerting.Alert
	Take  time.Duration
	Audit []alerting.AuditRow
}

// AlertFigures is the alerts section of a part.
type AlertFigures struct {
	Kinds []KindRow
	// All is the line of every kind together (its Target is 0, its InTime the
	// share of the paged alerts of kinds with a target taken within it).
	All KindRow
	// Escalated counts alerts whose ladder reached the township clinic or the
	// county centre.
	Escalated int
	// Outcomes counts the resolved alerts by outcome; Open those not yet resolved.
	Outcomes map[alerting.Outcome]int
	Open     int
	// Slowest are the five alerts taken slowest, slowest first.
	Slowest []Slow
}

// SlowestN is how many of the slowest alerts the report lists.
const SlowestN = 5

func alertFigures(ds []detail, targets map[alerting.Kind]time.Duration) AlertFigures {
	f := AlertFigures{Outcomes: map[alerting.Outcome]int{}}
	byKind := map[alerting.Kind][]detail{}
	for _, d := range ds {
		byKind[d.Kind] = append(byKind[d.Kind], d)
		if escalated(d) {
			f.Escalated++
		}
		if d.State == alerting.StateResolved {
			f.Outcomes[d.Outcome]++
		} else {
			f.Open++
		}
	}
	for _, k := range slices.Sorted(maps.Keys(byKind)) {
		f.Kinds = append(f.Kinds, kindRow(k, byKind[k], targets))
	}
	f.All = kindRow("", ds, targets)
	f.Slowest = slowest(ds, SlowestN)
	return f
}

// kindRow computes the line of kind k from its alerts (k "": all kinds).
func kindRow(k alerting.Kind, ds []detail, targets map[alerting.Kind]time.Duration) KindRow {
	r := KindRow{Kind: k, BySev: map[alerting.Severity]int{}, Target: targets[k]}
	var takes []time.Duration
	inTime, judged := 0, 0
	for _, d := range ds {
		r.BySev[d.Sev]++
		r.Total++
		take, taken := takeTime(d.Alert)
		if taken {
			r.Taken++
			takes = append(takes, take)
		}
		if !taken && d.NotifiedAt.IsZero() {
			continue // cancelled or folded before anyone was asked
		}
		r.Paged++
		if t := targets[d.Kind]; t > 0 {
			judged++
			if taken && take <= t {
				inTime++
			}
		}
	}
	r.P50, r.P90, r.Max = rank(takes, 0.5), rank(takes, 0.9), rank(takes, 1)
	switch {
	case k != "" && r.Target == 0:
		r.InTime = Gone(Share, NoTarget)
	case judged == 0:
		r.InTime = Gone(Share, NoData)
	default:
		r.InTime = Num(Share, float64(inTime)/float64(judged))
	}
	return r
}

// takeTime is how long the alert waited from being raised to being taken.
func takeTime(a alerting.Alert) (time.Duration, bool) {
	if a.AckedAt.IsZero() {
		return 0, false
	}
	return a.AckedAt.Sub(a.OpenedAt), true
}

// rank is the nearest-rank percentile p (0 < p <= 1) of ds: the smallest value at
// least p of them do not exceed; missing when ds is empty.
func rank(ds []time.Duration, p float64) Cell {
	if len(ds) == 0 {
		return Gone(Duration, NoData)
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(math.Ceil(p*float64(len(s)))) - 1
	return Dur(s[max(i, 0)])
}

// escalated reports whether the alert's ladder paged the township clinic or the
// county centre (person ids clinic/... and county/...).
func escalated(d detail) bool {
	for _, a := range d.attempts {
		if a.Purpose != "page" && a.Purpose != "escalated" {
			continue
		}
		if strings.HasPrefix(a.PersonID, "clinic/") || strings.HasPrefix(a.PersonID, "county/") {
			return true
		}
	}
	return false
}

// slowest returns the n alerts taken slowest, slowest first (ties: the earlier).
func slowest(ds []detail, n int) []Slow {
	var out []Slow
	for _, d := range ds {
		if take, ok := takeTime(d.Alert); ok {
			out = append(out, Slow{Alert: d.Alert, Take: take, Audit: d.audit})
		}
	}
	slices.SortStableFunc(out, func(a, b Slow) int { return cmp.Compare(b.Take, a.Take) })
	return out[:min(n, len(out))]
}

// alertSMSRow counts the SMS attempts of the part's alerts. Pages are written to
// fit one segment, so each SMS sent counts one.
func alertSMSRow(ds []detail, price float64) SMSRow {
	var sent, failed, other int
	for _, d := range ds {
		for _, a := range d.attempts {
			if a.Channel != "sms" {
				continue
			}
			switch a.Status {
			case "sent", "delivered":
				sent++
			case "failed", "undelivered":
				failed++
			default:
				other++
			}
		}
	}
	return SMSRow{Purpose: PurposeAlerts, Sent: Int(sent), Failed: Int(failed), Other: Int(other),
		Segments: Int(sent), Cost: Num(Yuan, float64(sent)*price)}
}
