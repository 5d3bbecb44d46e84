package escalation

import (
	"context"
	"fmt"

	"carebed/alerting"
	"carebed/alerting/notify"
	"carebed/alerting/policy"
)

// Ack records that p takes the alert through channel (sms, api, mqtt). The first
// acknowledgement wins: it stops the ladder, tells everyone already paged who took
// it, and tells the device that help is coming. A refused ack (resolved already,
// taken already) returns the store's error and is in the audit trail.
func (r *Runner) Ack(ctx context.Context, id int64, p alerting.Person, channel string) (alerting.Alert, error) {
	a, err := r.o.Store.Ack(ctx, id, p.ID, channel, r.o.Now())
	if err != nil {
		return a, err
	}
	r.o.Metrics.timeToAck.WithLabelValues(string(a.Sev)).Observe(a.AckedAt.Sub(a.OpenedAt).Seconds())
	r.log.Info("alert acknowledged", "alert", a.Code, "by", p.ID, "channel", channel)
	// The ack is committed: the others must be told even when whoever acknowledged
	// goes away now (a phone that loses its connection after tapping).
	ctx = context.WithoutCancel(ctx)
	if err := r.tellTaken(ctx, a, p); err != nil {
		r.log.Error("sending 'taken by' notices", "alert", a.Code, "err", err)
	}
	if r.o.Feedback != nil {
		// In the background: a publish to a device whose link died unnoticed waits
		// until its broker gives the connection up (the embedded broker: a keepalive
		// and a half), and whoever acknowledged must not wait for that.
		r.sending.Add(1)
		go func() {
			defer r.sending.Done()
			if err := r.o.Feedback(ctx, a, p); err != nil {
				r.log.Error("ack feedback to the device", "alert", a.Code, "device", a.Device, "err", err)
			}
		}()
	}
	return a, nil
}

// told are the statuses of a page whose person has been, or is being, paged.
var told = map[string]bool{"queued": true, "sent": true, "delivered": true}

// notices records the attempts of a notice of purpose to everyone paged about a (a
// page still being sent counts: its person is about to be asked to go), once per
// person and channel, on the channels they were paged on, but for those skip leaves
// out; none when nobody is left. people has their details by id.
func (r *Runner) notices(ctx context.Context, a alerting.Alert, purpose notify.Purpose,
	skip func(alerting.Person) bool) (map[string]alerting.Person, []alerting.Attempt, error) {
	paged, err := r.o.Store.Attempts(ctx, a.ID)
	if err != nil {
		return nil, nil, err
	}
	people := map[string]alerting.Person{}
	var notices []alerting.Attempt
	seen := map[string]bool{}
	for _, att := range paged {
		key := att.PersonID + "/" + att.Channel
		if att.Purpose != string(notify.PurposePage) || !told[att.Status] || seen[key] {
			continue
		}
		seen[key] = true
		p, ok, err := r.o.Directory.Person(ctx, att.PersonID)
		if err != nil || !ok || skip(p) {
			continue
		}
		people[p.ID] = p
		notices = append(notices, alerting.Attempt{Step: -1, PersonID: p.ID, Channel: att.Channel, Purpose: string(purpose)})
	}
	if len(notices) == 0 {
		return people, nil, nil
	}
	notices, err = r.o.Store.AddAttempts(ctx, a.ID, r.o.Now(), notices)
	return people, notices, err
}

// tellTaken sends a 'taken by' notice to every other person paged about a, on the
// channels they were paged on.
func (r *Runner) tellTaken(ctx context.Context, a alerting.Alert, by alerting.Person) error {
	// The same phone as whoever took it (the clinic's duty phone, taken on the
	// console by the clinic's duty staff) is not told that it took it.
	people, notices, err := r.notices(ctx, a, notify.PurposeTaken, func(p alerting.Person) bool {
		return p.ID == by.ID || by.Phone != "" && p.Phone == by.Phone
	})
	if err != nil || len(notices) == 0 {
		return err
	}
	m, err := r.message(ctx, a)
	if err != nil {
		return err
	}
	m.By, m.ByPhone = takenBy(by), policy.LocalPhone(by.Phone)
	text, err := r.o.Policy.Render(policy.PurposeTaken, m)
	if err != nil {
		return err
	}
	// The notices outlive the caller's context (an HTTP request, an SMS webhook):
	// they are bounded by SendTimeout instead.
	sendCtx := context.WithoutCancel(ctx)
	for _, att := range notices {
		r.sending.Add(1)
		go func() {
			defer r.sending.Done()
			r.sendText(sendCtx, a, att, people[att.PersonID], text)
		}()
	}
	return nil
}

// takenBy names who took an alert in a notice: the role, and the name the registry
// gives (the people paged already know each other: they are the elder's carers).
func takenBy(p alerting.Person) string {
	role := map[alerting.Receiver]string{alerting.ReceiverFamily: "家属", alerting.ReceiverVillageVisitor: "探访员",
		alerting.ReceiverVillageDoctor: "村医", alerting.ReceiverTownshipClinic: "乡镇卫生院", alerting.ReceiverCountyCentre: "县中心"}[p.Role]
	if p.Name == "" {
		return role
	}
	return fmt.Sprintf("%s%s", role, p.Name)
}

// Delivery records a delivery receipt. An undelivered or failed page brings the
// alert's next step forward to now.
func (r *Runner) Delivery(ctx context.Context, providerID, status, detail string) error {
	att, err := r.o.Store.DeliveryStatus(ctx, providerID, status, detail, r.o.Now())
	if err != nil {
		return err
	}
	r.o.Metrics.attempts.WithLabelValues(att.Channel, status).Inc()
	if (status == "undelivered" || status == "failed") && att.Purpose == string(notify.PurposePage) {
		r.pageFailed(ctx, att)
	}
	return nil
}
