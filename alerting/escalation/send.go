package escalation

import (
	"context"
	"errors"
	"fmt"
	"time"

	"carebed/alerting"
	"carebed/alerting/notify"
	"carebed/alerting/policy"
)

// send sends the attempts in the background, each with retries, and records results.
func (r *Runner) send(ctx context.Context, a alerting.Alert, atts []alerting.Attempt, people map[string]alerting.Person) {
	for _, att := range atts {
		p, ok := people[att.PersonID]
		if !ok {
			continue
		}
		r.sending.Add(1)
		go func() {
			defer r.sending.Done()
			r.sendOne(ctx, a, att, p)
		}()
	}
}

// comerFor is who of those paged with att's step the family is told is coming:
// the village doctor first, then the visitor, the clinic, the county centre; the
// zero Person when the family alone was paged.
func (r *Runner) comerFor(ctx context.Context, a alerting.Alert, att alerting.Attempt) alerting.Person {
	atts, err := r.o.Store.Attempts(ctx, a.ID)
	if err != nil {
		return alerting.Person{}
	}
	rank := map[alerting.Receiver]int{alerting.ReceiverVillageDoctor: 1, alerting.ReceiverVillageVisitor: 2,
		alerting.ReceiverTownshipClinic: 3, alerting.ReceiverCountyCentre: 4}
	var best alerting.Person
	for _, o := range atts {
		if o.Step != att.Step || o.Purpose != string(notify.PurposePage) || o.PersonID == att.PersonID {
			continue
		}
		p, ok, err := r.o.Directory.Person(ctx, o.PersonID)
		if err != nil || !ok {
			continue
		}
		if rk, ok := rank[p.Role]; ok && (best.ID == "" || rk < rank[best.Role]) {
			best = p
		}
	}
	return best
}

func (r *Runner) sendOne(ctx context.Context, a alerting.Alert, att alerting.Attempt, p alerting.Person) {
	text, err := r.pageText(ctx, a, att, p)
	if err != nil {
		r.finish(ctx, att, "failed", notify.Receipt{}, 0, err)
		return
	}
	r.sendText(ctx, a, att, p, text)
}

// pageText is the text of att for p by audience: the family is told who is coming
// and asked nothing; a later step's page says how long nobody answered; a
// responder's SMS page carries the one-tap link when it still fits one segment
// (policy.Segments), else goes without it (replying 1 works the same).
func (r *Runner) pageText(ctx context.Context, a alerting.Alert, att alerting.Attempt, p alerting.Person) (string, error) {
	m, err := r.message(ctx, a)
	if err != nil {
		return "", err
	}
	switch att.Purpose {
	case string(notify.PurposePage):
	case string(notify.PurposeTaken):
		if by, ok := r.taker(ctx, a); ok {
			m.By, m.ByPhone = takenBy(by), policy.LocalPhone(by.Phone)
		}
		return r.o.Policy.Render(att.Purpose, m)
	case string(notify.PurposeCancelled):
		m.Time = r.o.Now().In(r.o.Location).Format("15:04")
		return r.o.Policy.Render(att.Purpose, m)
	default:
		return r.o.Policy.Render(att.Purpose, m)
	}
	if p.Role == alerting.ReceiverFamily {
		if coming := r.comerFor(ctx, a, att); coming.ID != "" {
			m.Coming, m.ComingPhone = takenBy(coming), policy.LocalPhone(coming.Phone)
		}
		return r.o.Policy.Render(policy.PurposeFamily, m)
	}
	purpose := policy.PurposePage
	if near, ok := r.near(ctx, a, p); ok {
		purpose, m.Near = policy.PurposeNearby, near
	} else if att.Step > 0 {
		purpose = policy.PurposeEscalated
		m.Minutes = max(1, int(r.o.Now().Sub(a.OpenedAt).Round(time.Minute).Minutes()))
	}
	if r.o.Link == nil || att.Channel != "sms" {
		return r.o.Policy.Render(purpose, m)
	}
	return r.withLink(ctx, a, p, purpose, m)
}

// near says how far a's device is from p when p was paged as one near it.
func (r *Runner) near(ctx context.Context, a alerting.Alert, p alerting.Person) (string, bool) {
	if r.o.Nearby == nil || (a.Kind != alerting.KindSOS && a.Kind != alerting.KindFall) ||
		(p.Role != alerting.ReceiverVillageDoctor && p.Role != alerting.ReceiverVillageVisitor) {
		return "", false
	}
	return r.o.Nearby.From(ctx, a, p)
}

// withLink renders m with p's one-tap link when the text still fits one SMS segment;
// otherwise the link is dropped (a second segment costs as much again, and the
// reply works without it).
func (r *Runner) withLink(ctx context.Context, a alerting.Alert, p alerting.Person, purpose string, m policy.Message) (string, error) {
	plain, err := r.o.Policy.Render(purpose, m)
	if err != nil || policy.Segments(plain) > 1 {
		return plain, err
	}
	link, err := r.o.Link(ctx, a, p)
	if err != nil {
		r.log.Error("making the acknowledgement link; the page goes without it", "alert", a.Code, "err", err)
		return plain, nil
	}
	m.Link = link
	linked, err := r.o.Policy.Render(purpose, m)
	if err != nil || policy.Segments(linked) > 1 {
		r.log.Debug("the one-tap link would make the page two SMS; sent without it", "alert", a.Code)
		return plain, nil
	}
	return linked, nil
}

// sendText sends one notification with its text, retrying, and records the result.
func (r *Runner) sendText(ctx context.Context, a alerting.Alert, att alerting.Attempt, p alerting.Person, text string) {
	nf, ok := r.o.Notifiers[att.Channel]
	if !ok {
		r.finish(ctx, att, "skipped", notify.Receipt{}, 0, errors.New("no notifier for channel "+att.Channel))
		return
	}
	switch r.limit.check(att.PersonID, att.Channel, a.Sev, r.o.Now(), r.o.Location) {
	case deny:
		r.finish(ctx, att, "skipped", notify.Receipt{}, 0, errors.New("rate limit or SMS budget reached; not critical"))
		return
	case allowOverLimit:
		r.log.Warn("over the rate limit or SMS budget; a critical page goes out anyway", "alert", a.Code, "to", att.PersonID)
		r.o.Metrics.overLimit.Inc()
	}
	sctx, cancel := context.WithTimeout(ctx, r.o.SendTimeout)
	defer cancel()
	n := notify.Notification{AlertID: a.ID, AlertCode: a.Code, Kind: a.Kind, Sev: a.Sev,
		Purpose: notify.Purpose(att.Purpose), To: p, Text: text}
	// The claim that queued att recorded it in flight (Tries 1) before any call: after
	// a crash the provider is asked before it goes again (inflight.go), and the call
	// waits for no commit of its own.
	began := time.Now() // the call's own duration, for the log: real time, whatever the clock
	rec, tries, err := notify.Retry(sctx, nf, n, r.o.Retry)
	status := "sent"
	if err != nil {
		status = "failed"
	} else {
		r.log.Info("notification sent", "alert", a.Code, "purpose", att.Purpose, "to", att.PersonID, "role", p.Role,
			"channel", att.Channel, "tries", tries, "took", time.Since(began).Round(time.Millisecond))
	}
	notified := r.finish(ctx, att, status, rec, tries, err)
	if att.Purpose != string(notify.PurposePage) {
		return
	}
	if status == "sent" {
		if notified { // the alert's first page sent: the store says which, once
			r.o.Metrics.eventToNotify.WithLabelValues(att.Channel).Observe(r.o.Now().Sub(a.EventAt).Seconds())
		}
		return
	}
	r.pageFailed(ctx, att)
}

// pageFailed brings the alert's next step forward to now: a page that cannot reach
// its person (invalid number, retries exhausted, undelivered) must not leave the
// alert waiting for the next rung of the ladder.
func (r *Runner) pageFailed(ctx context.Context, att alerting.Attempt) {
	r.log.Warn("a page failed; moving to the next step now", "alert_id", att.AlertID, "to", att.PersonID, "channel", att.Channel)
	if err := r.o.Store.Reschedule(context.WithoutCancel(ctx), att.AlertID, att.Step+1, r.o.Now()); err != nil {
		r.log.Error("bringing the next step forward", "alert_id", att.AlertID, "err", err)
		return
	}
	r.Wake()
}

// finish records the outcome of att; notified reports whether it was the alert's
// first page sent.
func (r *Runner) finish(ctx context.Context, att alerting.Attempt, status string, rec notify.Receipt, tries int, err error) (notified bool) {
	att.Status, att.ProviderID, att.Tries = status, rec.ProviderID, tries
	if err != nil {
		att.Error = err.Error()
		r.log.Warn("notification failed", "alert_id", att.AlertID, "to", att.PersonID, "channel", att.Channel, "err", err)
	}
	notified, ferr := r.o.Store.FinishAttempt(context.WithoutCancel(ctx), att, r.o.Now())
	if ferr != nil {
		r.log.Error("recording a notification result", "alert_id", att.AlertID, "err", ferr)
	}
	// Counted once recorded: a page counted as sent is one a restart will not send again.
	r.o.Metrics.attempts.WithLabelValues(att.Channel, status).Inc()
	return notified
}

// message is what every text says of a: its time is when the gateway received the
// event (OpenedAt), on the site's clock, never the device's clock.
func (r *Runner) message(ctx context.Context, a alerting.Alert) (policy.Message, error) {
	elder, err := r.o.Directory.Elder(ctx, a.Place)
	if err != nil {
		return policy.Message{}, err
	}
	m := policy.Message{Code: a.Code, Kind: string(a.Kind), KindZH: policy.KindZH(a.Kind), Village: a.Place.Village,
		Home: a.Place.Home, Elder: elder, Time: a.OpenedAt.In(r.o.Location).Format("15:04")}
	if a.LateBy > time.Minute {
		m.Late = fmt.Sprintf("%d分钟", int(a.LateBy.Minutes()))
	}
	if r.o.Where != nil && a.Kind.Located() {
		m.Where = r.o.Where(ctx, a)
	}
	return m, nil
}

// resendQueued sends the notifications that were claimed but not finished before a
// crash. One that never reached its notifier goes now. One that was in flight is
// first looked for at the provider when its notifier is a notify.Finder (Twilio),
// and goes again only if the provider does not have it; on other channels it goes
// again and may arrive twice (at-least-once). Never not at all.
func (r *Runner) resendQueued(ctx context.Context) {
	atts, err := r.o.Store.QueuedAttempts(ctx)
	if err != nil {
		r.log.Error("reading unfinished notifications", "err", err)
		return
	}
	for _, att := range atts {
		a, err := r.o.Store.Alert(ctx, att.AlertID)
		if err != nil {
			continue
		}
		p, ok, err := r.o.Directory.Person(ctx, att.PersonID)
		if err != nil || !ok {
			r.finish(ctx, att, "skipped", notify.Receipt{}, 0, errors.New("person no longer in the registry"))
			continue
		}
		if f, ok := r.o.Notifiers[att.Channel].(notify.Finder); ok && att.Tries > 0 {
			r.sending.Add(1)
			go func() {
				defer r.sending.Done()
				r.settleInFlight(ctx, a, att, p, f)
			}()
			continue
		}
		if att.Tries > 0 {
			r.o.Metrics.inflight.WithLabelValues(att.Channel, "resent_unchecked").Inc()
		}
		r.log.Info("resending a notification interrupted by a restart", "alert", a.Code, "to", att.PersonID,
			"in_flight", att.Tries > 0)
		r.send(ctx, a, []alerting.Attempt{att}, map[string]alerting.Person{p.ID: p})
	}
}
