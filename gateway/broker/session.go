package broker

import (
	"strings"
	"sync"
	"sync/atomic"

	"github.com/eclipse/paho.mqtt.golang/packets"

	"carebed/gateway/brokerauth"
)

// maxPending bounds the QoS 1 messages a session holds for its client, sent and not
// yet acknowledged or waiting for it to connect again. A device gets a command now
// and then (ack feedback), a responder's app its pushes; when a client stays away
// long enough to fill it, the oldest goes (counted in
// carebed_broker_dropped_messages_total): a queue per device must not grow without
// bound at 100,000 devices.
const maxPending = 64

// session is what the broker keeps of a client id between its connections (MQTT's
// persistent session, CleanSession false): its subscriptions and the QoS 1 messages
// it has not acknowledged. A clean session lives as long as its connection.
type session struct {
	id    string
	clean bool

	// conn is the client's connection, nil while it is away; not under mu, so that
	// a takeover never waits for a write to a dead link.
	conn atomic.Pointer[conn]

	mu      sync.Mutex
	subs    map[string]byte          // topic filter -> granted QoS
	pending []*packets.PublishPacket // QoS 1, in the order they were published
	nextID  uint16
}

// subscriptions finds the sessions subscribed to a topic. The rules of package
// brokerauth let devices and responders read only topics named in full, so a
// publish is one map lookup at any number of devices; filters with wildcards (none
// today) are matched one by one.
type subscriptions struct {
	mu       sync.RWMutex
	exact    map[string]map[*session]struct{}
	wildcard map[string]map[*session]struct{}
}

func newSubscriptions() *subscriptions {
	return &subscriptions{exact: map[string]map[*session]struct{}{}, wildcard: map[string]map[*session]struct{}{}}
}

func (s *subscriptions) index(filter string) map[string]map[*session]struct{} {
	if strings.ContainsAny(filter, "+#") {
		return s.wildcard
	}
	return s.exact
}

// add subscribes ss to filter.
func (s *subscriptions) add(filter string, ss *session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	idx := s.index(filter)
	if idx[filter] == nil {
		idx[filter] = map[*session]struct{}{}
	}
	idx[filter][ss] = struct{}{}
}

// remove unsubscribes ss from filter.
func (s *subscriptions) remove(filter string, ss *session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	idx := s.index(filter)
	delete(idx[filter], ss)
	if len(idx[filter]) == 0 {
		delete(idx, filter)
	}
}

// match returns the sessions subscribed to topic, each once.
func (s *subscriptions) match(topic string) []*session {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []*session
	for ss := range s.exact[topic] {
		out = append(out, ss)
	}
	for f, set := range s.wildcard {
		if !brokerauth.Covers(f, topic) {
			continue
		}
		for ss := range set {
			out = append(out, ss)
		}
	}
	return out
}

// validFilter reports whether f is a well-formed MQTT topic filter.
func validFilter(f string) bool {
	if f == "" || strings.ContainsRune(f, 0) {
		return false
	}
	levels := strings.Split(f, "/")
	for i, l := range levels {
		switch {
		case l == "#" && i != len(levels)-1:
			return false
		case l != "#" && l != "+" && strings.ContainsAny(l, "+#"):
			return false
		}
	}
	return true
}

// validTopic reports whether t may be published to: no wildcards, no NUL.
func validTopic(t string) bool {
	return t != "" && !strings.ContainsAny(t, "+#\x00")
}

// send queues a message for the session's client and writes it when the client is
// connected. QoS 1 messages stay pending until acknowledged, and are sent again when
// the client comes back; QoS 0 goes only to a connected client. It reports whether
// a pending message had to make room.
func (s *session) send(topic string, payload []byte, qos byte) (dropped bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	pk := &packets.PublishPacket{FixedHeader: packets.FixedHeader{MessageType: packets.Publish, Qos: qos},
		TopicName: topic, Payload: payload}
	if qos > 0 {
		pk.MessageID = s.freeID()
		if dropped = len(s.pending) >= maxPending; dropped {
			s.pending = append(s.pending[:0], s.pending[1:]...)
		}
		s.pending = append(s.pending, pk)
	}
	if c := s.conn.Load(); c != nil && c.write(pk) == nil {
		pk.Dup = true // a second sending is a duplicate
	}
	return dropped
}

// freeID is a packet id that no pending message has.
func (s *session) freeID() uint16 {
	for {
		s.nextID++
		if s.nextID == 0 {
			continue
		}
		used := false
		for _, pk := range s.pending {
			used = used || pk.MessageID == s.nextID
		}
		if !used {
			return s.nextID
		}
	}
}

// resend writes the pending messages again (after the client reconnected).
func (s *session) resend() {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.conn.Load()
	for _, pk := range s.pending {
		if c == nil || c.write(pk) != nil {
			return
		}
		pk.Dup = true
	}
}

// acked drops the pending message the client acknowledged.
func (s *session) acked(id uint16) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, pk := range s.pending {
		if pk.MessageID == id {
			s.pending = append(s.pending[:i], s.pending[i+1:]...)
			return
		}
	}
}

// grant is the QoS at which the session takes topic: the highest its matching
// subscriptions were granted.
func (s *session) grant(topic string) (qos byte, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if q, found := s.subs[topic]; found {
		return q, true
	}
	for f, q := range s.subs {
		if brokerauth.Covers(f, topic) && (!ok || q > qos) {
			qos, ok = q, true
		}
	}
	return qos, ok
}
