package escalation

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"carebed/alerting"
	"carebed/alerting/notify"
	"carebed/alerting/policy"
)

// emptyStep is a due step that pages nobody for the alert's home (the home's
// township has no clinic duty phone, the home no family registered), and what was
// done about it: the people of step from, the nearest earlier step that has any, are
// paged again (from -1: no earlier step has anyone).
type emptyStep struct {
	step, from int
	people     []alerting.Person
	atts       []alerting.Attempt
}

// fallback finds, for step i of l that pages nobody, the nearest earlier step that
// has people and returns its pages, as step i's, less those already in claimed
// (steps due together are sent in one go: nobody is paged twice in it). The earlier
// step of a repeat is the one before the last.
func (r *Runner) fallback(ctx context.Context, a alerting.Alert, l policy.Ladder, i int, claimed []alerting.Attempt) (emptyStep, error) {
	e := emptyStep{step: i, from: -1}
	for j := min(i, len(l.Steps)-1) - 1; j >= 0; j-- {
		st := l.Steps[j]
		ps, err := r.people(ctx, a.Place, st.Notify)
		if err != nil {
			return e, err
		}
		atts := attemptsFor(i, ps, st.Channels, notify.PurposePage)
		if len(atts) == 0 {
			continue
		}
		e.from, e.people = j, ps
		for _, at := range atts {
			if !hasPage(claimed, at.PersonID, at.Channel) {
				e.atts = append(e.atts, at)
			}
		}
		return e, nil
	}
	return e, nil
}

func hasPage(atts []alerting.Attempt, person, channel string) bool {
	for _, a := range atts {
		if a.PersonID == person && a.Channel == channel {
			return true
		}
	}
	return false
}

// reportEmpty says loudly, once the steps are claimed, that steps paged nobody: an
// ERROR log line, an audit row and carebed_escalation_empty_steps_total. The cause
// is in the registry or the policy, and someone must fix it.
func (r *Runner) reportEmpty(ctx context.Context, a alerting.Alert, l policy.Ladder, empty []emptyStep, now time.Time) {
	for _, e := range empty {
		r.o.Metrics.emptySteps.WithLabelValues(string(a.Sev), strconv.Itoa(min(e.step, len(l.Steps)-1))).Inc()
		var detail string
		if e.from < 0 {
			detail = fmt.Sprintf("step %d pages nobody for this home, and no earlier step has anyone", e.step)
			r.log.Error("an escalation step pages nobody for this home, and no earlier step has anyone: fix the registry or the ladder",
				"alert", a.Code, "severity", a.Sev, "step", e.step, "home", a.Place.Home, "township", a.Place.Township)
		} else {
			detail = fmt.Sprintf("step %d pages nobody for this home; step %d's people paged again (%d notifications)",
				e.step, e.from, len(e.atts))
			r.log.Error("an escalation step pages nobody for this home; the previous step's people are paged again: fix the registry or the ladder",
				"alert", a.Code, "severity", a.Sev, "step", e.step, "fallback_step", e.from, "home", a.Place.Home,
				"township", a.Place.Township)
		}
		if err := r.o.Store.Note(context.WithoutCancel(ctx), a.ID, now, "escalation_empty_step", "", "", detail); err != nil {
			r.log.Error("recording an empty escalation step", "alert", a.Code, "err", err)
		}
	}
}
