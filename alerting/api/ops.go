package api

import (
	"context"
	"errors"
	"fmt"

	"carebed/alerting"
)

// The operations below are what the JSON API and the duty console do; both call
// them, so both apply the same checks: the caller's area (an alert outside it does
// not exist for them), the caller's role, and the audit trail with the person.

// Errors of the operations.
var (
	// ErrNoSuchAlert: the alert does not exist, or lies outside the caller's area.
	ErrNoSuchAlert = errors.New("no such alert")
	// ErrForbidden: the caller's role may not do this (alerting.Permit).
	ErrForbidden = alerting.ErrNotPermitted
)

// BadRequest is an error in what the caller asked (e.g. an unknown outcome).
type BadRequest struct{ msg string }

func (b BadRequest) Error() string { return b.msg }

var outcomes = map[alerting.Outcome]bool{alerting.OutcomeFalseAlarm: true, alerting.OutcomeHandledAtHome: true,
	alerting.OutcomeReferred: true, alerting.OutcomeHospital: true}

// Outcomes lists the outcomes an alert may be closed with.
func Outcomes() []alerting.Outcome {
	return []alerting.Outcome{alerting.OutcomeFalseAlarm, alerting.OutcomeHandledAtHome, alerting.OutcomeReferred,
		alerting.OutcomeHospital}
}

// Alerts lists the alerts f selects within the caller's area, newest first.
func (a *API) Alerts(ctx context.Context, c Caller, f alerting.Filter) ([]alerting.Alert, error) {
	f.County = c.Area.County
	for _, narrow := range []struct{ caller, asked *string }{{&c.Area.Township, &f.Township}, {&c.Area.Village, &f.Village}} {
		switch {
		case *narrow.caller == "":
		case *narrow.asked == "" || *narrow.asked == *narrow.caller:
			*narrow.asked = *narrow.caller
		default:
			return nil, nil // asked for a place outside the caller's area
		}
	}
	if f.County == "" { // a caller without a county sees nothing (never everything)
		return nil, nil
	}
	return a.o.Store.List(ctx, f)
}

// Detail is one alert with its notifications and audit trail.
type Detail struct {
	Alert         alerting.Alert
	Notifications []alerting.Attempt
	Audit         []alerting.AuditRow
}

// Detail returns the alert with its notifications and audit trail.
func (a *API) Detail(ctx context.Context, c Caller, id int64) (Detail, error) {
	al, err := a.visible(ctx, c, id)
	if err != nil {
		return Detail{}, err
	}
	d := Detail{Alert: al}
	if d.Notifications, err = a.o.Store.Attempts(ctx, id); err != nil {
		return d, err
	}
	d.Audit, err = a.o.Store.Audit(ctx, id)
	return d, err
}

// visible reads the alert if it lies in the caller's area.
func (a *API) visible(ctx context.Context, c Caller, id int64) (alerting.Alert, error) {
	al, err := a.o.Store.Alert(ctx, id)
	if errors.Is(err, alerting.ErrNotFound) || (err == nil && !c.Sees(al.Place)) {
		return alerting.Alert{}, ErrNoSuchAlert
	}
	return al, err
}

// AckAs acknowledges the alert as the caller (or as the person the ladder paged, when
// the caller's phone is theirs), through channel ("api", "console").
func (a *API) AckAs(ctx context.Context, c Caller, id int64, channel string) (alerting.Alert, error) {
	al, err := a.visible(ctx, c, id)
	if err != nil {
		return alerting.Alert{}, err
	}
	if err := alerting.Permit(c.Acts, alerting.ActionAck); err != nil {
		a.Refuse(ctx, al, c.ID, channel, alerting.ActionAck, err)
		return al, err
	}
	p, err := a.person(ctx, c, id)
	if err != nil {
		return alerting.Alert{}, err
	}
	return a.o.Escalation.Ack(ctx, id, p, channel)
}

// ResolveAs closes the alert with an outcome and a note, if the caller's role may.
func (a *API) ResolveAs(ctx context.Context, c Caller, id int64, outcome alerting.Outcome, note, channel string) (alerting.Alert, error) {
	al, err := a.visible(ctx, c, id)
	if err != nil {
		return al, err
	}
	if err := alerting.Permit(c.Acts, alerting.ActionResolve); err != nil {
		a.Refuse(ctx, al, c.ID, channel, alerting.ActionResolve, err)
		return al, fmt.Errorf("%w (role %s)", err, c.Role)
	}
	switch {
	case !outcomes[outcome]:
		return al, BadRequest{"outcome must be false_alarm, handled_at_home, referred_to_clinic or sent_to_hospital"}
	case len([]rune(note)) > 500:
		return al, BadRequest{"note: at most 500 characters"}
	}
	return a.o.Store.Resolve(ctx, id, c.ID, channel, outcome, note, a.o.Now())
}

// Users finds the API users an alert may be handed over to.
type Users interface {
	// CallerByName returns the active user with this login as a caller; false when
	// there is none.
	CallerByName(ctx context.Context, name string) (Caller, bool, error)
}

// HandOverAs passes an acknowledged alert to another user who sees it (the next
// shift's duty staff, the village doctor).
func (a *API) HandOverAs(ctx context.Context, c Caller, id int64, to, channel string) (alerting.Alert, error) {
	al, err := a.visible(ctx, c, id)
	if err != nil {
		return al, err
	}
	if err := alerting.Permit(c.Acts, alerting.ActionHandOver); err != nil {
		a.Refuse(ctx, al, c.ID, channel, alerting.ActionHandOver, err)
		return al, err
	}
	if a.o.Users == nil {
		return al, fmt.Errorf("%w: no users to hand over to", ErrForbidden)
	}
	target, ok, err := a.o.Users.CallerByName(ctx, to)
	switch {
	case err != nil:
		return al, err
	case !ok || !target.Sees(al.Place):
		return al, BadRequest{"to: no such user in this alert's area"}
	case target.ID == c.ID:
		return al, BadRequest{"to: you have it already"}
	}
	al, err = a.o.Store.HandOver(ctx, id, c.ID, target.ID, channel, a.o.Now())
	if err == nil && target.Phone != "" { // the same on every channel: the new holder hears of it
		if terr := a.o.Escalation.HandedOver(ctx, al, alerting.Person{ID: c.ID, Name: c.Name, Phone: c.Phone},
			alerting.Person{ID: target.ID, Name: target.Name, Phone: target.Phone}); terr != nil {
			a.log.Error("telling the new holder of a handed-over alert", "alert", al.Code, "err", terr)
		}
	}
	return al, err
}
