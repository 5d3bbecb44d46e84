// Package broker is the MQTT broker built into the gateway, for the demo and for
// sites that run one binary. It speaks MQTT 3.1.1 (and 3.1) to devices and responder
// apps with paho's packet codec, and holds a connection with one goroutine and a
// small buffer, so 100,000 devices fit in the memory of a county server. Devices
// authenticate with their registered id and provisioned password, responder apps with
// theirs; both are held to the topic rules of package brokerauth, the same rules
// `gateway broker export` writes for Mosquitto. Devices' messages reach the ingest
// through a hook that blocks until the durable hand-off: the PUBACK is sent only after
// it, so the embedded mode loses nothing either.
package broker

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"carebed/gateway/registry"
)

// Options configure a Broker.
type Options struct {
	// Listener accepts device connections; Addr is used when it is nil.
	Listener net.Listener
	Addr     string
	// TLS, when set, makes the listener serve MQTT over TLS.
	TLS     *tls.Config
	Ingest  Ingest
	Devices Devices
	// Credentials holds the provisioned passwords.
	Credentials Credentials
	// AllowNoPassword lets a registered device that has no credential yet connect by
	// its id alone (development and the demo). A device with a credential must always
	// present it.
	AllowNoPassword bool
	// OnResponder takes what responder apps publish (their ack topic) before the
	// PUBACK.
	OnResponder func(ctx context.Context, responder string, payload []byte)
	// Limits bound connections that have not authenticated yet; a zero field takes
	// its value from DefaultLimits.
	Limits Limits
	// Registerer receives the broker's metrics; nil: none are registered.
	Registerer prometheus.Registerer
	Logger     *slog.Logger
	// Now is the clock for the age of queued messages; nil: time.Now.
	Now func() time.Time
}

// Broker is the embedded MQTT broker.
type Broker struct {
	addr    net.Addr
	guard   *guard
	cancel  context.CancelFunc // ends hand-offs that wait for a full spool
	hook    *hook
	dropped *prometheus.CounterVec
	// overflow counts QoS 1 messages a session dropped to make room (maxPending)
	// or for their age (maxPendingAge).
	overflow prometheus.Counter
	log      *slog.Logger
	now      func() time.Time

	mu       sync.Mutex
	sessions map[string]*session // by client id
	subs     *subscriptions
	closing  atomic.Bool
}

// readBufferSize is each connection's read buffer. A device's packets are a few
// hundred bytes; a batch's longer body is read past the buffer in one call.
const readBufferSize = 512

// New builds the broker and binds its listener; Serve starts it.
func New(o Options) (*Broker, error) {
	if o.Ingest == nil || o.Devices == nil || o.Credentials == nil {
		return nil, errors.New("broker: Ingest, Devices and Credentials are required")
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	ln := o.Listener
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", o.Addr); err != nil {
			return nil, fmt.Errorf("broker: %w", err)
		}
	}
	if o.TLS != nil {
		ln = tls.NewListener(ln, o.TLS)
	}
	log := o.Logger.With("component", "broker")
	ctx, cancel := context.WithCancel(context.Background())
	refused, dropped := refusedCounter(o.Registerer), droppedCounter(o.Registerer)
	overflow := prometheus.NewCounter(prometheus.CounterOpts{Name: "carebed_broker_queue_dropped_total",
		Help: "QoS 1 messages the embedded broker dropped from a client's session, the oldest first, because " +
			"the client stayed away while more than 64 were waiting for it, or for more than a day."})
	if o.Registerer != nil {
		o.Registerer.MustRegister(overflow)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	b := &Broker{addr: ln.Addr(), cancel: cancel, dropped: dropped, overflow: overflow, log: log, now: o.Now,
		sessions: map[string]*session{}, subs: newSubscriptions()}
	b.hook = &hook{ingest: o.Ingest, devices: o.Devices, creds: o.Credentials, allowNoPassword: o.AllowNoPassword,
		onResponder: o.OnResponder, refused: refused, log: log, ctx: ctx}
	b.guard = newGuard(ln, o.Limits.withDefaults(), refused, dropped, log)
	if o.Registerer != nil {
		o.Registerer.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "carebed_broker_waiting",
			Help: "Connections waiting, unread, for a connecting slot of the embedded broker (embedded_broker.max_waiting)."},
			b.guard.waitingNow))
	}
	return b, nil
}

func droppedCounter(r prometheus.Registerer) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "carebed_broker_disconnected_total",
		Help: "Connected clients the embedded broker closed because their credential was revoked or " +
			"rotated, their device removed from the registry, or they sent a packet over the size limit, " +
			"by reason (revoked, rotated, unknown_user, packet_too_large)."},
		[]string{"reason"})
	for _, reason := range []string{refusedRevoked, refusedRotated, refusedUnknown, refusedPacketLarge} {
		c.WithLabelValues(reason) // at 0 from the start, so increase() sees the first
	}
	if r != nil {
		r.MustRegister(c)
	}
	return c
}

// Recheck closes the connections whose credential was revoked or replaced since they
// connected, or whose device is no longer registered. The gateway calls it at every
// registry refresh, so that `gateway devices revoke` takes effect within
// registry.refresh rather than at the device's next connection. It reads the
// credentials once for all connections (one query, not one a connection: at 15,000
// connections 0.38 s of CPU every refresh before); when the registry cannot be read
// everyone stays connected, and Recheck returns why.
func (b *Broker) Recheck() error {
	all, err := b.hook.creds.Credentials(b.hook.ctx)
	if err != nil {
		return fmt.Errorf("broker: recheck: %w", err)
	}
	creds := make(map[string]registry.Credential, len(all))
	for _, c := range all {
		creds[c.Principal] = c
	}
	for _, c := range b.connected() {
		reason := b.hook.recheck(c.p.ID, c.issued, creds)
		if reason == "" {
			continue
		}
		b.log.Warn("closed a connection", "reason", reason, "client_id", c.p.ID, "remote", c.nc.RemoteAddr())
		b.dropped.WithLabelValues(reason).Inc()
		c.close(false) // its Last Will goes: the device is gone as far as anyone can tell
	}
	return nil
}

// connected returns the connections of every session whose client is connected.
func (b *Broker) connected() []*conn {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]*conn, 0, len(b.sessions))
	for _, s := range b.sessions {
		if c := s.conn.Load(); c != nil {
			out = append(out, c)
		}
	}
	return out
}

// Connections is how many clients are connected.
func (b *Broker) Connections() int { return len(b.connected()) }

func refusedCounter(r prometheus.Registerer) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "carebed_broker_refused_total",
		Help: "Connections the embedded broker refused, by reason (unknown_user, client_id_mismatch, " +
			"no_credential, revoked, wrong_password, registry_error, will_not_allowed; before authentication: too_many_connecting, " +
			"too_many_from_address, connect_timeout, packet_too_large)."}, []string{"reason"})
	for _, reason := range []string{refusedUnknown, refusedClientID, refusedNoCredential, refusedRevoked, refusedPassword,
		refusedRegistry, refusedWill, refusedBusy, refusedAddrBusy, refusedTimeout, refusedPacketLarge} {
		c.WithLabelValues(reason) // at 0 from the start, so increase() sees the first
	}
	if r != nil {
		r.MustRegister(c)
	}
	return c
}

// Addr is where devices connect.
func (b *Broker) Addr() net.Addr { return b.addr }

// Serve starts accepting connections and returns at once.
func (b *Broker) Serve() error {
	go b.guard.serve(b.serveConn)
	return nil
}

// Publish sends a message from the gateway itself, e.g. a cmd to a device, to every
// session subscribed to topic. The broker keeps no retained messages: no client of it
// reads a topic whose last message it would need on connecting.
func (b *Broker) Publish(topic string, payload []byte, qos byte) error {
	if !validTopic(topic) || qos > 2 {
		return fmt.Errorf("broker: cannot publish to %q at QoS %d", topic, qos)
	}
	b.route(topic, payload, qos)
	return nil
}

// route sends a message to the sessions subscribed to topic, each at the lower of
// qos and its grant.
func (b *Broker) route(topic string, payload []byte, qos byte) {
	for _, s := range b.subs.match(topic) {
		granted, ok := s.grant(topic)
		if ok {
			b.overflowed(s, s.send(topic, payload, min(qos, granted), b.now()))
		}
	}
}

// overflowed counts and logs n messages s dropped.
func (b *Broker) overflowed(s *session, n int) {
	if n > 0 {
		b.overflow.Add(float64(n))
		b.log.Warn("dropped messages their client had not taken", "client_id", s.id, "messages", n)
	}
}

// attach makes c the connection of the session of clientID, taking over from a
// connection already there (closed without its Last Will), and returns whether an
// earlier session was kept (MQTT's session present).
func (b *Broker) attach(c *conn, clientID string, clean bool) (present bool, err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closing.Load() {
		return false, errClosing
	}
	s := b.sessions[clientID]
	if s != nil {
		if old := s.conn.Swap(nil); old != nil {
			old.close(true)
		}
	}
	if s == nil || clean || s.clean {
		if s != nil {
			b.forget(s)
		}
		s = &session{id: clientID, clean: clean, subs: map[string]byte{}}
		b.sessions[clientID] = s
	} else {
		present = true
	}
	s.conn.Store(c)
	c.sess = s
	return present, nil
}

// detach ends c's part in its session (a clean session ends with it) and reports
// whether another connection of the same client is attached by now.
func (b *Broker) detach(c *conn) (back bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := c.sess
	if s.conn.CompareAndSwap(c, nil) && s.clean && b.sessions[s.id] == s {
		b.forget(s)
		delete(b.sessions, s.id)
	}
	now := b.sessions[s.id]
	return now != nil && now.conn.Load() != nil
}

// forget drops s's subscriptions from the index; b.mu is held.
func (b *Broker) forget(s *session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for f := range s.subs {
		b.subs.remove(f, s)
	}
}

// subscribe records a granted subscription of c's session, while c is its
// connection: a connection taken over, reading what was already in its buffer,
// changes nothing (its session may be forgotten, or another connection's now).
func (b *Broker) subscribe(c *conn, filter string, qos byte) {
	s := c.sess
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn.Load() != c {
		return
	}
	s.subs[filter] = qos
	b.subs.add(filter, s)
}

// unsubscribe drops one, on the same terms.
func (b *Broker) unsubscribe(c *conn, filter string) {
	s := c.sess
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn.Load() != c {
		return
	}
	delete(s.subs, filter)
	b.subs.remove(filter, s)
}

// Close stops accepting, closes every connection without sending Last Wills (the
// devices are not gone, the gateway is) and waits for their goroutines. Publishes not
// yet handed off are not acknowledged, so devices send them again.
func (b *Broker) Close() error {
	if b.closing.Swap(true) {
		return nil
	}
	b.cancel()
	err := b.guard.close()
	b.guard.wait()
	return err
}
