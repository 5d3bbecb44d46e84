package escalation

import (
	"context"
	"time"

	"carebed/alerting"
	"carebed/alerting/notify"
	"carebed/alerting/policy"
)

// step claims and sends the steps of an alert that are due, from d.Step on. Steps
// that fell due together (after a restart, or a long quiet-hours hold) go out in one
// claim, and repeats of the last step are coalesced into one (policy.Ladder.Due): a
// gateway that was down for an hour does not page the county centre six times.
func (r *Runner) step(ctx context.Context, d alerting.Due, now time.Time) error {
	a := d.Alert
	ladder := r.o.Policy.Ladder(a.Place.Township, a.Sev)
	if _, _, ok := ladder.StepAt(d.Step); !ok { // past the end of a ladder without repeat
		_, err := r.o.Store.ClaimStep(ctx, a.ID, d.Step, d.Step, time.Time{}, now, nil)
		return err
	}
	due := ladder.Due(a.OpenedAt, now, d.Step)
	if len(due) == 0 {
		due = []int{d.Step} // brought forward by a failed page, before its time
	}
	if release := r.o.Policy.ReleaseAt(a.Place.Township, a.Sev, now); release.After(now) {
		return r.hold(ctx, d, release, now)
	}
	var atts []alerting.Attempt
	var empty []emptyStep
	people := map[string]alerting.Person{}
	for _, i := range due {
		st, _, _ := ladder.StepAt(i)
		ps, err := r.people(ctx, a.Place, st.Notify)
		if err != nil {
			return err
		}
		stepAtts := attemptsFor(i, ps, st.Channels, notify.PurposePage)
		if len(stepAtts) == 0 { // nobody for this home: the nearest earlier step's people
			e, err := r.fallback(ctx, a, ladder, i, atts)
			if err != nil {
				return err
			}
			empty = append(empty, e)
			ps, stepAtts = e.people, e.atts
		}
		if i == 0 {
			near := r.nearby(ctx, a, ps)
			ps = append(ps, near...)
			stepAtts = append(stepAtts, attemptsFor(i, near, st.Channels, notify.PurposePage)...)
		}
		for _, p := range ps {
			people[p.ID] = p
		}
		for _, at := range stepAtts { // steps due together page each person once
			if !hasPage(atts, at.PersonID, at.Channel) {
				atts = append(atts, at)
			}
		}
	}
	last := due[len(due)-1]
	atts, err := r.o.Store.ClaimStep(ctx, a.ID, d.Step, last, r.nextAt(a, ladder, last+1, now), now, atts)
	if err != nil {
		return err
	}
	r.log.Info("escalation step", "alert", a.Code, "steps", due, "notifications", len(atts))
	r.reportEmpty(ctx, a, ladder, empty, now)
	r.send(ctx, a, atts, people)
	return nil
}

// hold moves a step that falls in quiet hours to their end.
func (r *Runner) hold(ctx context.Context, d alerting.Due, release, now time.Time) error {
	r.log.Info("escalation step held for quiet hours", "alert", d.Alert.Code, "step", d.Step, "until", release)
	return r.o.Store.Reschedule(ctx, d.Alert.ID, d.Step, release)
}

// nextAt is when step i of the ladder is due for alert a (zero: no such step), not
// before now.
func (r *Runner) nextAt(a alerting.Alert, l policy.Ladder, i int, now time.Time) time.Time {
	at := l.NextAt(a.OpenedAt, i)
	if !at.IsZero() && at.Before(now) {
		return now
	}
	return at
}

// nearby is who near an SOS or fall device far from home the first step also pages
// (Options.Nearby): people with a phone none of the home's own people (paged) has.
// A failure to find them is logged and the ladder goes on without them.
func (r *Runner) nearby(ctx context.Context, a alerting.Alert, paged []alerting.Person) []alerting.Person {
	cfg := r.o.Policy.Nearby()
	if r.o.Nearby == nil || cfg.Count == 0 || (a.Kind != alerting.KindSOS && a.Kind != alerting.KindFall) {
		return nil
	}
	near, err := r.o.Nearby.Nearest(ctx, a, cfg.BeyondKM, cfg.Count)
	if err != nil {
		r.log.Error("finding the responders near a device far from home; the ladder goes on without them", "alert", a.Code, "err", err)
		return nil
	}
	phones := map[string]bool{}
	for _, p := range paged {
		phones[p.Phone] = true
	}
	var out []alerting.Person
	for _, p := range near {
		if p.Phone != "" && !phones[p.Phone] {
			phones[p.Phone] = true
			out = append(out, p)
		}
	}
	if len(out) > 0 {
		r.log.Info("the device is far from home; the nearest responders are paged too", "alert", a.Code, "nearby", len(out))
	}
	return out
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

func attemptsFor(step int, people []alerting.Person, channels []string, purpose notify.Purpose) []alerting.Attempt {
	var out []alerting.Attempt
	for _, p := range people {
		for _, ch := range channels {
			if ch == "push" && p.Responder == "" || ch == "sms" && p.Phone == "" {
				continue
			}
			out = append(out, alerting.Attempt{Step: step, PersonID: p.ID, Channel: ch, Purpose: string(purpose)})
		}
	}
	return out
}
