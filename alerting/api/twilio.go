package api

import (
	"context"
	"encoding/xml"
	"errors"
	"net/http"
	"strings"

	"carebed/alerting"
	"carebed/alerting/notify/twilio"
)

// inboundSMS takes an SMS reply: "1" (or "确认") acknowledges the newest alert the
// sender was paged about, an alert's code acknowledges that alert. Only registered
// people can acknowledge; the answer goes back to them by SMS (TwiML).
//
// Each MessageSid is acted on once: Twilio's signature does not cover the time, so a
// captured, correctly signed "1" could otherwise be replayed to acknowledge whatever
// alert is newest then. A replay is answered with an empty TwiML (no SMS back) and
// changes nothing; the store remembers sids for sqlite.MessageRetention.
func (a *API) inboundSMS(w http.ResponseWriter, r *http.Request) {
	v, ok := a.verify(w, r, "/webhooks/twilio/sms")
	if !ok {
		return
	}
	in, err := twilio.ParseInbound(v)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	first, err := a.o.Store.SeenMessage(r.Context(), in.MessageSID, a.o.Now())
	if err != nil {
		a.fail(w, err)
		return
	}
	if !first {
		a.log.Warn("SMS reply replayed: ignored", "message_sid", in.MessageSID)
		twiml(w, "")
		return
	}
	reply, err := a.smsReply(r.Context(), in)
	if err != nil {
		// Not taken: Twilio's retry of this message may act.
		a.o.Store.ForgetMessage(r.Context(), in.MessageSID) //nolint:errcheck // the error reported is err
		a.fail(w, err)
		return
	}
	twiml(w, reply)
}

// Inbound takes the SMS that are not replies to alerts: the gateway's visit and
// round check-ins ("到 H-0001", "巡诊 H-0001 ..."). taken false leaves the message to
// the alert replies; reply is the answer to send back; an error answers 500, so that
// Twilio's retry of the message may be taken.
type Inbound interface {
	HandleSMS(ctx context.Context, from, body string) (reply string, taken bool, err error)
}

// smsReply acts on an SMS reply and returns the answer to send back.
func (a *API) smsReply(ctx context.Context, in twilio.Inbound) (string, error) {
	if a.o.Inbound != nil {
		reply, taken, err := a.o.Inbound.HandleSMS(ctx, in.From, in.Body)
		if err != nil || taken {
			return reply, err
		}
	}
	people, err := a.o.Directory.PeopleByPhone(ctx, in.From)
	if err != nil {
		return "", err
	}
	if len(people) == 0 {
		a.log.Warn("SMS reply from an unregistered number refused", "message_sid", in.MessageSID)
		return "此号码未登记，不能确认警报。请联系乡镇卫生院。", nil
	}
	al, p, err := a.target(ctx, people, in.Body)
	switch {
	case errors.Is(err, alerting.ErrNotFound):
		return "没有找到需要您确认的警报。回复“1”确认最新警报，或回复警报代码。", nil
	case errors.Is(err, errNotPaged):
		a.Refuse(ctx, al, people[0].ID, "sms", alerting.ActionAck, err)
		return "您不在警报" + al.Code + "的通知名单上，不能确认。", nil
	case err != nil:
		return "", err
	}
	// An SMS reply only ever acknowledges; closing an alert is for the app, the
	// console or the API. The rule is asked all the same, as on every channel.
	if err := alerting.Permit(p.Role, alerting.ActionAck); err != nil {
		a.Refuse(ctx, al, p.ID, "sms", alerting.ActionAck, err)
		return "您的身份不能确认警报" + al.Code + "。请联系乡镇卫生院。", nil
	}
	acked, err := a.o.Escalation.Ack(ctx, al.ID, p, "sms")
	switch {
	case errors.Is(err, alerting.ErrAcknowledged):
		return "警报" + acked.Code + "已有人接手，谢谢。", nil
	case errors.Is(err, alerting.ErrResolved):
		return "警报" + acked.Code + "已处理完毕，谢谢。", nil
	case err != nil:
		return "", err
	}
	return "已确认，警报" + acked.Code + "由您处理。其他人已收到通知。", nil
}

var errNotPaged = errors.New("the sender was not paged about this alert")

// target is the alert a reply means and who among people answers: "1" the newest
// alert paged to any of them, otherwise the alert whose code the reply is, which one
// of them must have been paged about.
func (a *API) target(ctx context.Context, people []alerting.Person, body string) (alerting.Alert, alerting.Person, error) {
	ids := make([]string, len(people))
	byID := map[string]alerting.Person{}
	for i, p := range people {
		ids[i], byID[p.ID] = p.ID, p
	}
	body = strings.TrimSpace(body)
	if body == "1" || body == "确认" {
		al, who, err := a.o.Store.LatestPagedTo(ctx, ids...)
		return al, byID[who], err
	}
	al, err := a.o.Store.ByCode(ctx, body)
	if err != nil {
		return al, alerting.Person{}, err
	}
	who, err := a.o.Store.PagedAbout(ctx, al.ID, ids...)
	if err == nil && who == "" {
		err = errNotPaged
	}
	return al, byID[who], err
}

// deliveryStatus takes Twilio's delivery receipts.
func (a *API) deliveryStatus(w http.ResponseWriter, r *http.Request) {
	v, ok := a.verify(w, r, "/webhooks/twilio/status")
	if !ok {
		return
	}
	st, err := twilio.ParseStatus(v)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	err = a.o.Escalation.Delivery(r.Context(), st.MessageSID, st.Status, st.ErrorCode)
	if err != nil && !errors.Is(err, alerting.ErrNotFound) {
		a.fail(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// verify checks that Twilio sent the webhook at path.
func (a *API) verify(w http.ResponseWriter, r *http.Request, path string) (map[string][]string, bool) {
	if a.o.TwilioToken == "" {
		http.NotFound(w, r)
		return nil, false
	}
	v, err := twilio.VerifyRequest(r, strings.TrimSuffix(a.o.PublicURL, "/")+path, a.o.TwilioToken)
	if err != nil {
		a.log.Warn("Twilio webhook refused", "path", path, "err", err)
		writeError(w, http.StatusForbidden, "bad signature")
		return nil, false
	}
	return v, true
}

// twiml answers a webhook with an SMS back to the sender; "" sends none.
func twiml(w http.ResponseWriter, msg string) {
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	var b strings.Builder
	b.WriteString(xml.Header + "<Response>")
	if msg != "" {
		b.WriteString("<Message>")
		xml.EscapeText(&b, []byte(msg)) //nolint:errcheck // strings.Builder does not fail
		b.WriteString("</Message>")
	}
	b.WriteString("</Response>")
	w.Write([]byte(b.String())) //nolint:errcheck // the client went away
}

// Chain offers an SMS to each Inbound in turn; the first that takes it answers it.
// An error stops the chain, so that Twilio's retry offers the message again.
type Chain []Inbound

// HandleSMS implements Inbound.
func (c Chain) HandleSMS(ctx context.Context, from, body string) (string, bool, error) {
	for _, in := range c {
		if in == nil {
			continue
		}
		reply, taken, err := in.HandleSMS(ctx, from, body)
		if err != nil || taken {
			return reply, taken, err
		}
	}
	return "", false, nil
}
