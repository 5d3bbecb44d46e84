package responderinlet

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"testing"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"carebed/alerting"
)

// message is an MQTT message that remembers its ack.
type message struct {
	mqtt.Message
	topic   string
	payload []byte
	acked   bool
}

func (m *message) Topic() string   { return m.topic }
func (m *message) Payload() []byte { return m.payload }
func (m *message) Ack()            { m.acked = true }

type actor struct{ got []string }

func (a *actor) Responder(_ context.Context, responder string, payload []byte) (alerting.Alert, error) {
	a.got = append(a.got, responder+" "+string(payload))
	if string(payload) == "bad" {
		return alerting.Alert{}, errors.New("refused")
	}
	return alerting.Alert{Code: "K7M2", State: alerting.StateAcknowledged}, nil
}

func TestTakeActsOnAckTopicsAndAcksEveryMessage(t *testing.T) {
	a := &actor{}
	in := New(a, slog.New(slog.DiscardHandler))
	for _, tc := range []struct {
		topic, payload string
		acts           bool
	}{
		{Prefix + "r-1/ack", "ok", true},
		{Prefix + "r-2/ack", "bad", true}, // refused: logged, still acknowledged
		{Prefix + "r-3/alerts", "x", false},
		{Prefix + "/ack", "x", false},
		{"carebed/v1/dev-1/event", "x", false},
	} {
		m := &message{topic: tc.topic, payload: []byte(tc.payload)}
		n := len(a.got)
		in.Take(m)
		if !m.acked {
			t.Errorf("%s: not acknowledged", tc.topic)
		}
		if acted := len(a.got) > n; acted != tc.acts {
			t.Errorf("%s: acted %v, want %v", tc.topic, acted, tc.acts)
		}
	}
	if want := []string{"r-1 ok", "r-2 bad"}; !slices.Equal(a.got, want) {
		t.Errorf("actions %v, want %v", a.got, want)
	}
}
