package escalation

import (
	"context"
	"errors"
	"fmt"
	"time"

	"carebed/alerting"
	"carebed/alerting/notify"
)

// findSkew is how much earlier than the attempt's record the provider's clock may
// date its message. It is kept well under the shortest repeat (policy: 1 min), so
// that the previous repeat of the same page is not taken for this one.
const findSkew = 10 * time.Second

// findTries bounds how often the provider is asked before the notification is sent
// again anyway (a page twice rather than never).
const findTries = 4

// settleInFlight settles a notification that was in flight at a crash, on a channel whose
// provider can be asked (f): when the provider accepted it, it is recorded as sent
// with the provider's id (and its failure, if the provider says it failed, brings the
// next step forward); otherwise it is sent now.
func (r *Runner) settleInFlight(ctx context.Context, a alerting.Alert, att alerting.Attempt, p alerting.Person, f notify.Finder) {
	// Rendered as sendOne renders it (the link made anew: Finders set URLs aside).
	text, err := r.pageText(ctx, a, att, p)
	if err != nil {
		r.finish(ctx, att, "failed", notify.Receipt{}, 0, err)
		return
	}
	n := notify.Notification{AlertID: a.ID, AlertCode: a.Code, Kind: a.Kind, Sev: a.Sev,
		Purpose: notify.Purpose(att.Purpose), To: p, Text: text}
	rec, found, err := r.find(ctx, f, n, att)
	switch {
	case err != nil:
		r.o.Metrics.inflight.WithLabelValues(att.Channel, "error").Inc()
		r.log.Warn("cannot ask the provider whether a notification interrupted by a restart was accepted; sending it again",
			"alert", a.Code, "to", att.PersonID, "channel", att.Channel, "err", err)
	case found:
		r.o.Metrics.inflight.WithLabelValues(att.Channel, "found").Inc()
		r.log.Info("a notification interrupted by a restart had been accepted by the provider; not sending it again",
			"alert", a.Code, "to", att.PersonID, "channel", att.Channel, "provider_id", rec.ProviderID)
		r.note(ctx, a, att, "accepted by the provider before the restart ("+rec.ProviderID+"): not sent again")
		r.settleFound(ctx, a, att, rec)
		return
	default:
		r.o.Metrics.inflight.WithLabelValues(att.Channel, "not_found").Inc()
		r.log.Info("a notification interrupted by a restart never reached the provider; sending it",
			"alert", a.Code, "to", att.PersonID, "channel", att.Channel)
		r.note(ctx, a, att, "not at the provider after the restart: sent again")
	}
	r.sendOne(ctx, a, att, p)
}

// find asks f, a few times, for the message of att; the newest one whose provider id
// no other attempt of the alert has is it.
func (r *Runner) find(ctx context.Context, f notify.Finder, n notify.Notification, att alerting.Attempt) (notify.Receipt, bool, error) {
	ctx, cancel := context.WithTimeout(ctx, r.o.SendTimeout)
	defer cancel()
	var err error
	for i := 1; i <= findTries; i++ {
		var rs []notify.Receipt
		var retry bool
		if rs, retry, err = f.Find(ctx, n, att.CreatedAt.Add(-findSkew)); err == nil {
			return r.unclaimed(ctx, att, rs)
		}
		if !retry || i == findTries {
			break
		}
		t := time.NewTimer(r.o.Retry.Backoff(i, 0.5))
		select {
		case <-ctx.Done():
			t.Stop()
			return notify.Receipt{}, false, errors.Join(err, context.Cause(ctx))
		case <-t.C:
		}
	}
	return notify.Receipt{}, false, err
}

// unclaimed returns the first of rs that is not already another attempt's message.
func (r *Runner) unclaimed(ctx context.Context, att alerting.Attempt, rs []notify.Receipt) (notify.Receipt, bool, error) {
	if len(rs) == 0 {
		return notify.Receipt{}, false, nil
	}
	atts, err := r.o.Store.Attempts(ctx, att.AlertID)
	if err != nil {
		return notify.Receipt{}, false, err
	}
	for _, rec := range rs {
		mine := true
		for _, other := range atts {
			if other.ID != att.ID && other.ProviderID == rec.ProviderID {
				mine = false
			}
		}
		if mine {
			return rec, true, nil
		}
	}
	return notify.Receipt{}, false, nil
}

// settleFound records a message the provider had as sent; one the provider says
// failed is then recorded so, as its delivery receipt would have been.
func (r *Runner) settleFound(ctx context.Context, a alerting.Alert, att alerting.Attempt, rec notify.Receipt) {
	notified := r.finish(ctx, att, "sent", rec, max(att.Tries, 1), nil)
	if notified && att.Purpose == string(notify.PurposePage) {
		r.o.Metrics.eventToNotify.WithLabelValues(att.Channel).Observe(r.o.Now().Sub(a.EventAt).Seconds())
	}
	if rec.Status == "failed" || rec.Status == "undelivered" {
		if err := r.Delivery(ctx, rec.ProviderID, rec.Status, "found so after a restart"); err != nil {
			r.log.Error("recording the status of a message found after a restart", "alert", a.Code, "err", err)
		}
	}
}

// note writes an audit row about a notification settled after a restart.
func (r *Runner) note(ctx context.Context, a alerting.Alert, att alerting.Attempt, detail string) {
	detail = fmt.Sprintf("%s %s", att.Purpose, detail)
	if err := r.o.Store.Note(context.WithoutCancel(ctx), a.ID, r.o.Now(), "notification_in_flight", att.PersonID, att.Channel, detail); err != nil {
		r.log.Error("recording a notification settled after a restart", "alert", a.Code, "err", err)
	}
}

// taker is who took a (ok=false when nobody has, or they left the registry), so
// that a 'taken' notice sent again after a restart reads as it did.
func (r *Runner) taker(ctx context.Context, a alerting.Alert) (alerting.Person, bool) {
	if a.AckedBy == "" {
		return alerting.Person{}, false
	}
	p, ok, err := r.o.Directory.Person(ctx, a.AckedBy)
	if err != nil || !ok {
		return alerting.Person{}, false
	}
	return p, true
}
