package escalation

import (
	"context"
	"time"

	"carebed/alerting"
	"carebed/alerting/notify"
	"carebed/alerting/policy"
)

// DeviceCancelled tells everyone paged about a, on the channels they were paged on,
// that its device cancelled at at, after the pages went out. The alert stays open
// (someone should still look in); the ladder goes on until someone takes it.
func (r *Runner) DeviceCancelled(ctx context.Context, a alerting.Alert, at time.Time) error {
	ctx = context.WithoutCancel(ctx)
	people, notices, err := r.notices(ctx, a, notify.PurposeCancelled, func(alerting.Person) bool { return false })
	if err != nil || len(notices) == 0 {
		return err
	}
	r.log.Info("device cancelled after paging; telling those paged", "alert", a.Code, "notices", len(notices))
	r.send(ctx, a, notices, people)
	return nil
}

// HandedOver sends p, the new holder of a, an SMS naming who handed it over and
// their phone, with p's one-tap link when the runner makes links (the link opens
// the alert's address and numbers; it may make the text two segments: it is what
// the message is for).
func (r *Runner) HandedOver(ctx context.Context, a alerting.Alert, from, p alerting.Person) error {
	ctx = context.WithoutCancel(ctx)
	if p.Phone == "" {
		return nil
	}
	atts, err := r.o.Store.AddAttempts(ctx, a.ID, r.o.Now(), []alerting.Attempt{{Step: -1, PersonID: p.ID,
		Channel: "sms", Purpose: string(notify.PurposeHandOver)}})
	if err != nil {
		return err
	}
	m, err := r.message(ctx, a)
	if err != nil {
		return err
	}
	m.By, m.ByPhone = takenBy(from), policy.LocalPhone(from.Phone)
	if r.o.Link != nil {
		if m.Link, err = r.o.Link(ctx, a, p); err != nil {
			r.log.Error("making the one-tap link for a hand-over; sent without it", "alert", a.Code, "err", err)
		}
	}
	text, err := r.o.Policy.Render(policy.PurposeHandOver, m)
	if err != nil {
		return err
	}
	for _, att := range atts {
		r.sending.Add(1)
		go func() {
			defer r.sending.Done()
			r.sendText(ctx, a, att, p, text)
		}()
	}
	return nil
}
