package broker

import (
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/eclipse/paho.mqtt.golang/packets"
)

// maxPending bounds the QoS 1 messages a session holds for its client, sent and not
// yet acknowledged or waiting for it to connect again. A device gets a command now
// and then (ack feedback), a responder's app its pushes; when a client stays away
// long enough to fill it, the oldest goes (counted in
// carebed_broker_queue_dropped_total): a queue per device must not grow without
// bound at 100,000 devices.
const maxPending = 64

// maxPendingAge is how long a message waits for its client (mochi's default
// message expiry): a day-old "help is coming" or page is news nobody should get.
const maxPendingAge = 24 * time.Hour

// pending is a QoS 1 message waiting for its client's acknowledgement.
type pending struct {
	pk *packets.PublishPacket
	at time.Time // when it was published
}

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
	subs    map[string]byte // topic filter -> granted QoS
	pending []pending       // QoS 1, in the order they were published
	nextID  uint16
}

// subscriptions finds the sessions subscribed to a topic. The rules of package
// brokerauth let devices and responders read only topics named in full, and the
// broker refuses filters with wildcards (validFilter), so a publish is one map
// lookup at any number of devices.
type subscriptions struct {
	mu     sync.RWMutex
	byName map[string]map[*session]struct{}
}

func newSubscriptions() *subscriptions {
	return &subscriptions{byName: map[string]map[*session]struct{}{}}
}

// add subscribes ss to topic.
func (s *subscriptions) add(topic string, ss *session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.byName[topic] == nil {
		s.byName[topic] = map[*session]struct{}{}
	}
	s.byName[topic][ss] = struct{}{}
}

// remove unsubscribes ss from topic.
func (s *subscriptions) remove(topic string, ss *session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.byName[topic], ss)
	if len(s.byName[topic]) == 0 {
		delete(s.byName, topic)
	}
}

// match returns the sessions subscribed to topic.
func (s *subscriptions) match(topic string) []*session {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]*session, 0, len(s.byName[topic]))
	for ss := range s.byName[topic] {
		out = append(out, ss)
	}
	return out
}

// validFilter reports whether f is a topic filter this broker takes: a topic named
// in full. MQTT's + and # would be matched by nobody's rules here (brokerauth grants
// none); were a rule to grant one, refusing it says so at SUBSCRIBE rather than
// leaving the subscription silently undelivered.
func validFilter(f string) bool { return validTopic(f) }

// validTopic reports whether t may be published to: no wildcards, no NUL.
func validTopic(t string) bool {
	return t != "" && !strings.ContainsAny(t, "+#\x00")
}

// send queues a message for the session's client and writes it when the client is
// connected and its CONNACK is out. QoS 1 messages stay pending until acknowledged,
// and are sent again when the client comes back; QoS 0 goes only to a connected
// client. It returns how many pending messages it dropped, to make room or for age.
func (s *session) send(topic string, payload []byte, qos byte, now time.Time) (dropped int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	pk := &packets.PublishPacket{FixedHeader: packets.FixedHeader{MessageType: packets.Publish, Qos: qos},
		TopicName: topic, Payload: payload}
	if qos > 0 {
		dropped = s.expire(now)
		pk.MessageID = s.freeID()
		if len(s.pending) >= maxPending {
			s.pending = append(s.pending[:0], s.pending[1:]...)
			dropped++
		}
		s.pending = append(s.pending, pending{pk: pk, at: now})
	}
	if c := s.conn.Load(); c != nil && c.ready && c.write(pk) == nil {
		pk.Dup = true // a second sending is a duplicate
	}
	return dropped
}

// open answers c's CONNECT with present (MQTT's session present), writes the
// pending messages after it and makes c the connection that new ones are written
// to, all under the session's lock, so that nothing overtakes the CONNACK or the
// pending messages. A connection taken over meanwhile is written nothing. It returns
// how many pending messages were too old to send.
func (s *session) open(c *conn, present bool, now time.Time) (expired int, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn.Load() != c {
		return 0, net.ErrClosed
	}
	if err := c.write(&packets.ConnackPacket{FixedHeader: packets.FixedHeader{MessageType: packets.Connack},
		SessionPresent: present}); err != nil {
		return 0, err
	}
	expired = s.expire(now)
	for _, p := range s.pending {
		if err := c.write(p.pk); err != nil {
			return expired, err
		}
		p.pk.Dup = true
	}
	c.ready = true
	return expired, nil
}

// expire drops the pending messages older than maxPendingAge; s.mu is held.
func (s *session) expire(now time.Time) int {
	n := 0
	for n < len(s.pending) && now.Sub(s.pending[n].at) > maxPendingAge {
		n++
	}
	s.pending = append(s.pending[:0], s.pending[n:]...)
	return n
}

// freeID is a packet id that no pending message has.
func (s *session) freeID() uint16 {
	for {
		s.nextID++
		if s.nextID == 0 {
			continue
		}
		used := false
		for _, p := range s.pending {
			used = used || p.pk.MessageID == s.nextID
		}
		if !used {
			return s.nextID
		}
	}
}

// acked drops the pending message the client acknowledged.
func (s *session) acked(id uint16) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, p := range s.pending {
		if p.pk.MessageID == id {
			s.pending = append(s.pending[:i], s.pending[i+1:]...)
			return
		}
	}
}

// grant is the QoS the session was granted for topic, if it is subscribed.
func (s *session) grant(topic string) (qos byte, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	qos, ok = s.subs[topic]
	return qos, ok
}
