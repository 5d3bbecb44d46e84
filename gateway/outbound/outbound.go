// Package outbound sends the gateway's own MQTT messages, QoS 1: the ack_feedback
// command to the device that raised an alert ("help is coming"), and the pushes to
// responder apps (alerting/notify/mqttpush publishes through it), over whichever
// broker the gateway uses: the embedded one or its session with Mosquitto.
package outbound

import (
	"context"
	"errors"

	"carebed/alerting"
	"carebed/gateway/protocol"
)

// Publisher publishes one message at QoS 1 and returns once the broker took it.
type Publisher interface {
	Publish(topic string, payload []byte) error
}

// PublisherFunc adapts a function to Publisher.
type PublisherFunc func(topic string, payload []byte) error

// Publish calls f.
func (f PublisherFunc) Publish(topic string, payload []byte) error { return f(topic, payload) }

// Outbound is the gateway's sender.
type Outbound struct{ pub Publisher }

// New returns a sender over pub.
func New(pub Publisher) *Outbound { return &Outbound{pub: pub} }

// errNoBroker: a message before the broker (or the session) exists.
var errNoBroker = errors.New("outbound: no broker to publish through")

// Publish sends payload to topic (mqttpush.Publisher).
func (o *Outbound) Publish(topic string, payload []byte) error {
	if o == nil || o.pub == nil {
		return errNoBroker
	}
	return o.pub.Publish(topic, payload)
}

// Feedback tells the device that raised a that by is coming (escalation.Feedback).
func (o *Outbound) Feedback(_ context.Context, a alerting.Alert, by alerting.Person) error {
	cmd := protocol.Cmd{V: 1, Type: protocol.CmdAckFeedback, Alert: a.Code, By: string(by.Role)}
	return o.Publish(protocol.DeviceTopic(a.Device, protocol.KindCmd), cmd.Encode())
}
