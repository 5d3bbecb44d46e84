// Package watch is for tests of the simulator: a broker client that records what
// the devices publish, decoded with the gateway's decoder, and a helper to poll for
// a condition with a deadline instead of sleeping.
package watch

import (
	"crypto/tls"
	"fmt"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"carebed/gateway/protocol"
	"carebed/internal/testwait"
)

// Message is one publish seen on the broker.
type Message struct {
	Topic    string
	Payload  []byte
	Retained bool
	// Decoded is the message as the gateway decodes it; Err why it would reject it.
	Decoded protocol.Message
	Err     error
}

// Watcher records every device message (carebed/v1/+/+ but cmd) in arrival order.
type Watcher struct {
	mu   sync.Mutex
	msgs []Message
	c    mqtt.Client
}

// Start connects a watcher to the broker at url; it disconnects when the test ends.
func Start(t testing.TB, url string) *Watcher {
	t.Helper()
	return StartTLS(t, url, nil)
}

// StartTLS is Start with the TLS configuration for an ssl:// url.
func StartTLS(t testing.TB, url string, cfg *tls.Config) *Watcher {
	t.Helper()
	w := &Watcher{}
	opts := mqtt.NewClientOptions().AddBroker(url).SetClientID(fmt.Sprintf("watch-%d", time.Now().UnixNano())).
		SetCleanSession(true).SetOrderMatters(true).SetTLSConfig(cfg)
	w.c = mqtt.NewClient(opts)
	if tok := w.c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("watch: connect %s: %v", url, tok.Error())
	}
	t.Cleanup(func() { w.c.Disconnect(100) })
	tok := w.c.Subscribe(protocol.Prefix+"+/+", 1, w.record)
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("watch: subscribe: %v", tok.Error())
	}
	return w
}

func (w *Watcher) record(_ mqtt.Client, m mqtt.Message) {
	msg := Message{Topic: m.Topic(), Payload: append([]byte(nil), m.Payload()...), Retained: m.Retained()}
	if tp, err := protocol.ParseTopic(m.Topic()); err == nil && tp.Kind == protocol.KindCmd {
		return
	}
	msg.Decoded, msg.Err = protocol.Decode(msg.Topic, msg.Payload)
	w.mu.Lock()
	w.msgs = append(w.msgs, msg)
	w.mu.Unlock()
}

// Publish publishes payload on topic, QoS 1, as the gateway would (a cmd).
func (w *Watcher) Publish(t testing.TB, topic string, payload []byte) {
	t.Helper()
	if tok := w.c.Publish(topic, 1, false, payload); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("watch: publish %s: %v", topic, tok.Error())
	}
}

// Of returns the messages device published, in arrival order (all devices for "").
func (w *Watcher) Of(device string) []Message {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []Message
	for _, m := range w.msgs {
		if device == "" || m.Decoded.Topic.Device == device {
			out = append(out, m)
		}
	}
	return out
}

// Events returns the events device published, in arrival order.
func (w *Watcher) Events(device string) []protocol.Event {
	var out []protocol.Event
	for _, m := range w.Of(device) {
		if m.Err == nil && m.Decoded.Topic.Kind == protocol.KindEvent {
			out = append(out, m.Decoded.Event)
		}
	}
	return out
}

// Until waits for cond with a deadline (testwait.Until).
func Until(t testing.TB, deadline time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	testwait.Until(t, deadline, what, cond)
}
