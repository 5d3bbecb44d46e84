package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"carebed/alerting"
)

// ResponderAction is what a responder app publishes to
// carebed/v1/responders/{responder}/ack.
type ResponderAction struct {
	V       int              `json:"v"`
	Alert   string           `json:"alert"`
	Action  string           `json:"action"`
	Outcome alerting.Outcome `json:"outcome,omitempty"`
	Note    string           `json:"note,omitempty"`
}

// Errors of responder actions; the message is the reason recorded.
var (
	ErrBadAction        = errors.New("bad responder action")
	ErrUnknownResponder = errors.New("unknown responder")
)

// DecodeResponderAction parses and checks a responder action (at most 4 KiB).
func DecodeResponderAction(b []byte) (ResponderAction, error) {
	var a ResponderAction
	if len(b) > 4096 {
		return a, fmt.Errorf("%w: %d bytes, at most 4096", ErrBadAction, len(b))
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&a); err != nil {
		return a, fmt.Errorf("%w: %v", ErrBadAction, err)
	}
	if dec.More() {
		return a, fmt.Errorf("%w: data after the JSON object", ErrBadAction)
	}
	switch {
	case a.V != 1:
		return a, fmt.Errorf("%w: v must be 1", ErrBadAction)
	case a.Alert == "":
		return a, fmt.Errorf("%w: alert (the code) is missing", ErrBadAction)
	case a.Action != "ack" && a.Action != "resolve":
		return a, fmt.Errorf("%w: action must be ack or resolve", ErrBadAction)
	case a.Action == "resolve" && !outcomes[a.Outcome]:
		return a, fmt.Errorf("%w: resolve needs an outcome (false_alarm, handled_at_home, referred_to_clinic, sent_to_hospital)", ErrBadAction)
	}
	return a, nil
}

// Responders finds people by their responder-app id.
type Responders interface {
	PeopleByResponder(ctx context.Context, responder string) ([]alerting.Person, error)
}

// Responder carries out an action a responder app published. The person must have
// been paged about the alert, and their role must allow the action
// (alerting.Permit: family members and visitors acknowledge, they do not close);
// refusals are recorded in the alert's audit trail and counted. The app hears
// nothing back of a refusal (its alert stays open on its screen).
func (a *API) Responder(ctx context.Context, responder string, payload []byte) (alerting.Alert, error) {
	act, err := DecodeResponderAction(payload)
	if err != nil {
		return alerting.Alert{}, err
	}
	rs, ok := a.o.Directory.(Responders)
	if !ok {
		return alerting.Alert{}, ErrUnknownResponder
	}
	people, err := rs.PeopleByResponder(ctx, responder)
	if err != nil {
		return alerting.Alert{}, err
	}
	if len(people) == 0 {
		return alerting.Alert{}, ErrUnknownResponder
	}
	if act.Alert == "1" {
		return alerting.Alert{}, fmt.Errorf("%w: name the alert by its code", ErrBadAction)
	}
	action := alerting.Action(act.Action)
	al, p, err := a.target(ctx, people, act.Alert)
	if errors.Is(err, errNotPaged) {
		a.Refuse(ctx, al, people[0].ID, "mqtt", action, err)
		return al, err
	}
	if err != nil {
		return al, err
	}
	if p, err = a.entitled(ctx, al, people, p, action); err != nil {
		a.Refuse(ctx, al, p.ID, "mqtt", action, err)
		return al, err
	}
	if action == alerting.ActionResolve {
		return a.o.Store.Resolve(ctx, al.ID, p.ID, "mqtt", act.Outcome, act.Note, a.o.Now())
	}
	return a.o.Escalation.Ack(ctx, al.ID, p, "mqtt")
}

// entitled returns who, among people (one phone: a village doctor of this home may
// also be family of it), acts on al: paged, the person the ladder paged about
// it, if alerting.Permit lets their role do act, else another of them who was also
// paged about it and whose role may. The error is Permit's for paged.
func (a *API) entitled(ctx context.Context, al alerting.Alert, people []alerting.Person, paged alerting.Person, act alerting.Action) (alerting.Person, error) {
	refused := alerting.Permit(paged.Role, act)
	if refused == nil {
		return paged, nil
	}
	var ids []string
	byID := map[string]alerting.Person{}
	for _, p := range people {
		if p.ID != paged.ID && alerting.Permit(p.Role, act) == nil {
			ids, byID[p.ID] = append(ids, p.ID), p
		}
	}
	if len(ids) > 0 {
		who, err := a.o.Store.PagedAbout(ctx, al.ID, ids...)
		if err != nil {
			return paged, err
		}
		if who != "" {
			return byID[who], nil
		}
	}
	return paged, refused
}
