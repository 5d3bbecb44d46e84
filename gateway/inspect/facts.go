package inspect

import (
	"context"
	"fmt"
	"time"

	"carebed/alerting"
	"carebed/gateway/registry"
	"carebed/gateway/visits"
)

// Sources are where a month's facts are read; *registry.Store, *visits.Service and
// an alerting.Store are them.
type Sources struct {
	Homes interface {
		CareAll(ctx context.Context) ([]registry.Care, error)
	}
	Visits interface {
		Recent(ctx context.Context, since time.Time, limit int) ([]visits.Visit, error)
		Due(ctx context.Context, now time.Time) ([]visits.Due, error)
	}
	Alerts interface {
		List(ctx context.Context, f alerting.Filter) ([]alerting.Alert, error)
	}
	// Slow is the time to take an alert beyond which it counts as slow.
	Slow time.Duration
	// County, if set, limits the draw to one county's homes.
	County string
}

// maxAlerts bounds the alerts read for one month.
const maxAlerts = 1_000_000

// Gather reads the facts of every home (of Sources.County) for month [from, to), as
// they stand at now (overdue: at the month's end, or now if the month has not ended).
func Gather(ctx context.Context, src Sources, from, to, now time.Time) ([]Facts, error) {
	homes, err := src.Homes.CareAll(ctx)
	if err != nil {
		return nil, err
	}
	byHome := map[string]*Facts{}
	var out []Facts
	for _, h := range homes {
		if src.County == "" || h.Place.County == src.County {
			out = append(out, Facts{Place: h.Place})
		}
	}
	for i := range out {
		byHome[out[i].Place.Home] = &out[i]
	}
	vs, err := src.Visits.Recent(ctx, from, -1)
	if err != nil {
		return nil, fmt.Errorf("inspect: visits: %w", err)
	}
	for _, v := range vs {
		if f := byHome[v.Home]; f != nil && v.At.Before(to) && !v.Confirmed {
			f.Unconfirmed++
		}
	}
	at := to.Add(-time.Nanosecond)
	if now.Before(at) {
		at = now
	}
	dues, err := src.Visits.Due(ctx, at)
	if err != nil {
		return nil, fmt.Errorf("inspect: visits due: %w", err)
	}
	for _, d := range dues {
		if f := byHome[d.Care.Place.Home]; f != nil && d.Overdue {
			f.Overdue++
		}
	}
	as, err := src.Alerts.List(ctx, alerting.Filter{County: src.County, Limit: maxAlerts})
	if err != nil {
		return nil, fmt.Errorf("inspect: alerts: %w", err)
	}
	for _, a := range as {
		if f := byHome[a.Place.Home]; f != nil && !a.OpenedAt.Before(from) && a.OpenedAt.Before(to) && slow(a, src.Slow, now) {
			f.Slow++
		}
	}
	return out, nil
}

// slow reports whether an alert was taken later than target after it opened, or was
// never taken though it needed someone (cancelled by the device, grouped into a
// village outage or ended by itself before target are not slow).
func slow(a alerting.Alert, target time.Duration, now time.Time) bool {
	switch {
	case !a.AckedAt.IsZero():
		return a.AckedAt.Sub(a.OpenedAt) > target
	case a.State == alerting.StateResolved:
		switch a.Outcome {
		case alerting.OutcomeCancelled, alerting.OutcomeGrouped, alerting.OutcomeAutoResolved:
			return false
		}
		return a.ResolvedAt.Sub(a.OpenedAt) > target
	}
	return now.Sub(a.OpenedAt) > target
}
