// Package responderinlet takes what responder apps publish on
// carebed/v1/responders/{responder}/ack (take or close an alert) from the gateway's
// MQTT session or the embedded broker, and has the alert API carry it out. Refusals
// and bad messages are logged, never with the payload's note, which may name people.
package responderinlet

import (
	"context"
	"log/slog"
	"strings"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"carebed/alerting"
)

// Prefix starts the topics of responder apps.
const Prefix = "carebed/v1/responders/"

// Filters are the subscriptions of the inlet.
func Filters() map[string]byte { return map[string]byte{Prefix + "+/ack": 1} }

// Actor carries out a responder's action; the alert API (alerting/api) is one.
type Actor interface {
	Responder(ctx context.Context, responder string, payload []byte) (alerting.Alert, error)
}

// Inlet is the responder apps' way in.
type Inlet struct {
	act Actor
	log *slog.Logger
}

// New returns an inlet that has act carry out the actions.
func New(act Actor, log *slog.Logger) *Inlet {
	return &Inlet{act: act, log: log.With("component", "responders")}
}

// Take carries out the action of an MQTT message and acknowledges it.
func (in *Inlet) Take(m mqtt.Message) {
	if rest, ok := strings.CutPrefix(m.Topic(), Prefix); ok {
		if id, kind, _ := strings.Cut(rest, "/"); kind == "ack" && id != "" {
			in.Act(context.Background(), id, m.Payload())
		}
	}
	m.Ack()
}

// Act carries out what responder published.
func (in *Inlet) Act(ctx context.Context, responder string, payload []byte) {
	a, err := in.act.Responder(ctx, responder, payload)
	if err != nil {
		in.log.Warn("responder action refused", "responder", responder, "alert", a.Code, "err", err)
		return
	}
	in.log.Info("responder action", "responder", responder, "alert", a.Code, "state", a.State)
}
