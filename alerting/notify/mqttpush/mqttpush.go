// Package mqttpush pushes notifications to the responder app over MQTT: one JSON
// message per notification on carebed/v1/responders/{responder}/alerts, at QoS 1.
// It depends only on a one-method Publisher, which the gateway implements with
// its paho client or the embedded broker.
package mqttpush

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"time"

	"carebed/alerting"
	"carebed/alerting/notify"
)

// Publisher publishes one MQTT message. Implementations publish at QoS 1, not
// retained, and return once the broker has acknowledged it (PUBACK) or the
// attempt failed, within a bounded time.
type Publisher interface {
	Publish(topic string, payload []byte) error
}

// StatusPublished is the Receipt status of a message the broker acknowledged.
const StatusPublished = "published"

// Topic returns the topic the app of responder subscribes to.
func Topic(responder string) string {
	return "carebed/v1/responders/" + responder + "/alerts"
}

// Payload is the message the responder app receives.
type Payload struct {
	V       int               `json:"v"`
	AlertID int64             `json:"id"`
	Alert   string            `json:"alert"` // the short code, e.g. "K7M2"
	Kind    alerting.Kind     `json:"kind,omitempty"`
	Sev     alerting.Severity `json:"sev,omitempty"`
	Purpose notify.Purpose    `json:"purpose"`
	Text    string            `json:"text"`
	// TS is when the notification was published, in Unix milliseconds, so the
	// app can tell a stale message delivered after it reconnects.
	TS int64 `json:"ts"`
}

// Options configures a Notifier.
type Options struct {
	// Publisher sends the messages; required.
	Publisher Publisher
	// Now stamps the payloads (default time.Now).
	Now func() time.Time
}

// Notifier pushes notifications to responder apps. It is safe for concurrent use
// if its Publisher is.
type Notifier struct {
	pub Publisher
	now func() time.Time
}

var _ notify.Notifier = (*Notifier)(nil)

// New returns a Notifier publishing through o.Publisher.
func New(o Options) (*Notifier, error) {
	if o.Publisher == nil {
		return nil, errors.New("mqttpush: Publisher is required")
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Notifier{pub: o.Publisher, now: o.Now}, nil
}

// responderPattern keeps a responder id to one safe topic level: no "/", "+",
// "#" or control characters.
var responderPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)

// ErrBadResponder is returned (without retry) for a responder id that cannot be
// a topic level.
var ErrBadResponder = errors.New("mqttpush: responder id is not a valid topic level")

// Notify publishes n to the app of n.To.Responder. Errors: notify.ErrNoAddress
// when the person has no responder id and ErrBadResponder for an unusable one,
// both without retry; the context's error; the Publisher's error, retried.
func (nf *Notifier) Notify(ctx context.Context, n notify.Notification) (notify.Receipt, bool, error) {
	switch {
	case n.To.Responder == "":
		return notify.Receipt{}, false, fmt.Errorf("mqttpush: %w", notify.ErrNoAddress)
	case !responderPattern.MatchString(n.To.Responder):
		return notify.Receipt{}, false, ErrBadResponder
	}
	if err := ctx.Err(); err != nil {
		return notify.Receipt{}, false, fmt.Errorf("mqttpush: %w", err)
	}
	b, err := json.Marshal(Payload{V: 1, AlertID: n.AlertID, Alert: n.AlertCode, Kind: n.Kind, Sev: n.Sev,
		Purpose: n.Purpose, Text: n.Text, TS: nf.now().UnixMilli()})
	if err != nil {
		return notify.Receipt{}, false, fmt.Errorf("mqttpush: encoding: %w", err)
	}
	if err := nf.pub.Publish(Topic(n.To.Responder), b); err != nil {
		return notify.Receipt{}, true, fmt.Errorf("mqttpush: publishing: %w", err)
	}
	return notify.Receipt{Status: StatusPublished}, false, nil
}
