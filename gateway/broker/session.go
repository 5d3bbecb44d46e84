package broker

import (
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/eclipse/paho.mqtt.golang/packets"

	"carebed/gateway/brokerauth"
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
