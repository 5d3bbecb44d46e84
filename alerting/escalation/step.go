package escalation

import (
	"context"
	"time"

	"carebed/alerting"
	"carebed/alerting/notify"
	"carebed/alerting/policy"
	"carebed/alerting/sqlite"
)

// step claims and sends step d.Step of an alert.
func (r *Runner) step(ctx context.Context, d sqlite.Due, now time.Time) error {
	a := d.Alert
	ladder := r.o.Policy.Ladder(a.Place.Township, a.Sev)
	st, _, ok := ladder.StepAt(d.Step)
	if !ok { // past the end of a ladder without repeat: nothing more to send
		_, err := r.o.Store.ClaimStep(ctx, a.ID, d.Step, time.Time{}, now, nil)
		return err
	}
	if release := r.o.Policy.ReleaseAt(a.Place.Township, a.Sev, now); release.After(now) {
		return r.hold(ctx, d, release, now)
	}
	people, err := r.people(ctx, a.Place, st.Notify)
	if err != nil {
		return err
	}
	atts := attemptsFor(people, st.Channels, notify.PurposePage)
	atts, err = r.o.Store.ClaimStep(ctx, a.ID, d.Step, r.nextAt(a, ladder, d.Step+1, now), now, atts)
	if err != nil {
		return err
	}
	r.log.Info("escalation step", "alert", a.Code, "step", d.Step, "notifications", len(atts))
	r.send(ctx, a, atts, byID(people))
	return nil
}

// hold moves a step that falls in quiet hours to their end.
func (r *Runner) hold(ctx context.Context, d sqlite.Due, release, now time.Time) error {
	r.log.Info("escalation step held for quiet hours", "alert", d.Alert.Code, "step", d.Step, "until", release)
	return r.o.Store.Reschedule(ctx, d.Alert.ID, d.Step, release)
}

// nextAt is when step i of the ladder is due for alert a (zero: no such step).
func (r *Runner) nextAt(a alerting.Alert, l policy.Ladder, i int, now time.Time) time.Time {
	_, after, ok := l.StepAt(i)
	if !ok {
		return time.Time{}
	}
	at := a.OpenedAt.Add(after)
	if at.Before(now) {
		return now
	}
	return at
}

// people resolves receivers, dropping duplicates (one person with two roles).
func (r *Runner) people(ctx context.Context, p alerting.Place, receivers []alerting.Receiver) ([]alerting.Person, error) {
	seen := map[string]bool{}
	var out []alerting.Person
	for _, rc := range receivers {
		ps, err := r.o.Directory.People(ctx, p, rc)
		if err != nil {
			return nil, err
		}
		for _, pr := range ps {
			if !seen[pr.ID] {
				seen[pr.ID] = true
				out = append(out, pr)
			}
		}
	}
	return out, nil
}

func attemptsFor(people []alerting.Person, channels []string, purpose notify.Purpose) []sqlite.Attempt {
	var out []sqlite.Attempt
	for _, p := range people {
		for _, ch := range channels {
			if ch == "push" && p.Responder == "" || ch == "sms" && p.Phone == "" {
				continue
			}
			out = append(out, sqlite.Attempt{PersonID: p.ID, Channel: ch, Purpose: string(purpose)})
		}
	}
	return out
}

func byID(people []alerting.Person) map[string]alerting.Person {
	m := make(map[string]alerting.Person, len(people))
	for _, p := range people {
		m[p.ID] = p
	}
	return m
}
