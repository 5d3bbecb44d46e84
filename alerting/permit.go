package alerting

import (
	"errors"
	"fmt"
)

// Action is something a person does to an alert.
type Action string

// Actions on an alert.
const (
	ActionAck      Action = "ack"      // "I am going"
	ActionResolve  Action = "resolve"  // close it with an outcome
	ActionHandOver Action = "handover" // pass an acknowledged alert to another user
)

// ErrNotPermitted is the (wrapped) error of Permit: the role may not do that.
var ErrNotPermitted = errors.New("not allowed for your role")

// Permit decides what someone acting in role r may do to an alert they are entitled
// to see (paged about it, or a user whose area holds it). It is the one rule for
// every channel: the HTTP API and the duty console (users' roles map to receivers:
// see carebed/gateway/auth), the responder app over MQTT, SMS replies and one-tap
// links.
//
// Everyone may acknowledge and hand over. Closing an alert (which stops it for good,
// e.g. as a false alarm) needs someone who answers for the care: a village doctor,
// the township clinic or the county centre. Family members, village visitors and
// named people of the policy (whose role is not known) may not close alerts.
func Permit(r Receiver, a Action) error {
	switch a {
	case ActionAck, ActionHandOver:
		return nil
	case ActionResolve:
		switch r {
		case ReceiverVillageDoctor, ReceiverTownshipClinic, ReceiverCountyCentre:
			return nil
		}
		return fmt.Errorf("%w: %s may acknowledge alerts but not close them", ErrNotPermitted, roleName(r))
	}
	return fmt.Errorf("%w: unknown action %q", ErrNotPermitted, a)
}

func roleName(r Receiver) string {
	if r == "" {
		return "a person without a care role"
	}
	return string(r)
}
