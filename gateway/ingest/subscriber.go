package ingest

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"math"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"carebed/gateway/brokerauth"
	"carebed/gateway/protocol/mqttconn"
)

// Topics the gateway subscribes to: every device's telemetry, events and status.
var Topics = []string{"carebed/v1/+/telemetry", "carebed/v1/+/event", "carebed/v1/+/status"}

// SubscriberOptions configure the MQTT client of an external broker.
type SubscriberOptions struct {
	URL, ClientID, Username, Password string
	// TLS verifies the broker (and may carry a client certificate) for ssl://,
	// tls:// and mqtts:// URLs.
	TLS *tls.Config
	// Inflight bounds messages received and not yet acknowledged; it should be at
	// least the broker's max_inflight_messages so the reader never waits.
	Inflight int
	// MaxBatch bounds the messages one worker hands off at once.
	MaxBatch int
	// Linger paces the connection's reads and writes (mqttconn.Options.Linger);
	// zero: DefaultLinger, negative: none.
	Linger            time.Duration
	KeepAlive         time.Duration
	ConnectTimeout    time.Duration
	MaxReconnectDelay time.Duration
	Logger            *slog.Logger
	Metrics           *Metrics
	// OnResponder, if set, takes what responder apps publish to
	// carebed/v1/responders/{responder}/ack; the message is acknowledged after it
	// returns.
	OnResponder func(ctx context.Context, responder string, payload []byte)
}

// DefaultLinger is the subscriber's default Linger. Under load it cut the MQTT
// client's CPU per message by more than half (docs/performance.md); it delays a
// message by at most this much, and a lone message not at all.
const DefaultLinger = 500 * time.Microsecond

// responderPrefix starts the topics of responder apps.
const responderPrefix = "carebed/v1/responders/"

// Subscriber is the gateway's persistent MQTT session with the broker: QoS 1, a
// fixed client id, clean session off, and manual acknowledgement after hand-off.
type Subscriber struct {
	o         SubscriberOptions
	h         *Handler
	in        chan received
	client    mqtt.Client
	log       *slog.Logger
	connected atomic.Bool
	stop      chan struct{}  // closed when the subscriber stops taking messages
	pending   sync.WaitGroup // batches handed off and not yet acknowledged
	batches   *freeList[*workBatch]
}

type received struct {
	msg  mqtt.Message
	when time.Time
}

// NewSubscriber returns a Subscriber that hands messages to h.
func NewSubscriber(o SubscriberOptions, h *Handler) *Subscriber {
	if o.MaxBatch <= 0 {
		o.MaxBatch = 1024
	}
	if o.Inflight <= 0 {
		o.Inflight = 10000
	}
	if o.Linger == 0 {
		o.Linger = DefaultLinger
	}
	if o.MaxReconnectDelay <= 0 {
		o.MaxReconnectDelay = 5 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Metrics == nil {
		o.Metrics = h.o.Metrics
	}
	s := &Subscriber{o: o, h: h, in: make(chan received, o.Inflight), stop: make(chan struct{}), log: o.Logger.With("component", "mqtt")}
	// Batches wait for the spool's group commit before they are recycled, so under
	// load dozens are in flight; most are small (whatever queued while the worker
	// handed off the previous one), so they start small and grow as needed.
	s.batches = newFreeList(64, func() *workBatch {
		return &workBatch{msgs: make([]Message, 0, 16), acks: make([]mqtt.Message, 0, 16)}
	})
	// Every message goes to the default handler, set in the options, so it is in place
	// before Connect: messages the broker queued for this session while the gateway
	// was away arrive right after CONNACK. No AddRoute: paho would match each
	// message's topic against each route by splitting strings (7 % of the CPU).
	s.client = mqtt.NewClient(s.clientOptions())
	return s
}

func (s *Subscriber) clientOptions() *mqtt.ClientOptions {
	o := mqtt.NewClientOptions().AddBroker(s.o.URL).SetClientID(s.o.ClientID).
		SetUsername(s.o.Username).SetPassword(s.o.Password).
		SetCleanSession(false).SetAutoAckDisabled(true).SetOrderMatters(true).
		SetKeepAlive(s.o.KeepAlive).SetConnectTimeout(s.o.ConnectTimeout).
		SetAutoReconnect(true).SetConnectRetry(true).
		SetConnectRetryInterval(time.Second).SetMaxReconnectInterval(s.o.MaxReconnectDelay).
		SetDefaultPublishHandler(s.receive).SetStore(mqttconn.NopStore{})
	if s.o.TLS != nil {
		o.SetTLSConfig(s.o.TLS)
	}
	if mqttconn.Supports(s.o.URL) {
		// buffered and paced reads, coalesced PUBACKs
		o.SetCustomOpenConnectionFn(mqttconn.Dialer(mqttconn.Options{Linger: max(s.o.Linger, 0)}))
	}
	o.SetOnConnectHandler(s.onConnect)
	o.SetConnectionLostHandler(func(_ mqtt.Client, err error) {
		s.connected.Store(false)
		s.o.Metrics.connected.Set(0)
		s.o.Metrics.lost.Inc()
		s.log.Warn("lost the broker; reconnecting", "err", err)
	})
	return o
}

// onConnect (re)subscribes: harmless when the persistent session kept the
// subscriptions, necessary when the broker lost them.
func (s *Subscriber) onConnect(c mqtt.Client) {
	filters := make(map[string]byte, len(Topics)+len(brokerauth.BrokerStats)+1)
	for _, t := range Topics {
		filters[t] = 1
	}
	for _, t := range brokerauth.BrokerStats {
		filters[t] = 0 // Mosquitto's; other brokers send nothing there
	}
	if s.o.OnResponder != nil {
		filters[responderPrefix+"+/ack"] = 1
	}
	tok := c.SubscribeMultiple(filters, nil)
	go func() { // waiting on the token inside the handler would stall paho
		if !tok.WaitTimeout(s.o.ConnectTimeout) || tok.Error() != nil {
			s.log.Error("subscribe failed; the broker's persistent session may still hold the subscriptions", "err", tok.Error())
			return
		}
		if st, ok := tok.(*mqtt.SubscribeToken); ok {
			for filter, code := range st.Result() {
				if code == 0x80 { // the broker's ACL: files exported by an older gateway?
					s.log.Warn("the broker refused a subscription; run `gateway broker export` again", "filter", filter)
				}
			}
		}
		s.connected.Store(true)
		s.o.Metrics.connected.Set(1)
		s.o.Metrics.connects.Inc()
		s.log.Info("connected and subscribed", "broker", s.o.URL, "client_id", s.o.ClientID)
	}()
}

// receive runs on paho's reader path: it only queues the message (a responder's
// action, rare, is carried out at once, and Mosquitto's statistics are kept).
func (s *Subscriber) receive(_ mqtt.Client, m mqtt.Message) {
	if strings.HasPrefix(m.Topic(), "$SYS/") {
		s.brokerStat(m.Topic(), m.Payload())
		return
	}
	if rest, ok := strings.CutPrefix(m.Topic(), responderPrefix); ok {
		s.responder(rest, m)
		return
	}
	select {
	case s.in <- received{msg: m, when: s.h.o.Now()}:
		s.o.Metrics.queue.Set(float64(len(s.in)))
	case <-s.stop: // not acknowledged: the broker redelivers it to the next session
	}
}

// brokerStat keeps one of Mosquitto's statistics (brokerauth.BrokerStats) for the
// metrics.
func (s *Subscriber) brokerStat(topic string, payload []byte) {
	v, err := strconv.ParseFloat(strings.TrimSpace(string(payload)), 64)
	if err != nil {
		return
	}
	switch topic {
	case brokerauth.StatDropped:
		s.o.Metrics.brokerDropped.Store(math.Float64bits(v))
	case brokerauth.StatStored:
		s.o.Metrics.brokerStored.Store(math.Float64bits(v))
	}
}

// Publish sends a message from the gateway over its session, QoS 1, and waits for the
// broker's acknowledgement (bounded by the connect timeout).
func (s *Subscriber) Publish(topic string, payload []byte) error {
	tok := s.client.Publish(topic, 1, false, payload)
	if !tok.WaitTimeout(s.o.ConnectTimeout) {
		return fmt.Errorf("publish to %s: no acknowledgement within %s", topic, s.o.ConnectTimeout)
	}
	return tok.Error()
}

func (s *Subscriber) responder(rest string, m mqtt.Message) {
	id, kind, _ := strings.Cut(rest, "/")
	if s.o.OnResponder != nil && kind == "ack" && id != "" {
		s.o.OnResponder(context.Background(), id, m.Payload())
	}
	m.Ack()
}

// Connected reports whether the session is up and subscribed.
func (s *Subscriber) Connected() bool { return s.connected.Load() }

// Run connects and hands messages off until ctx ends, then stops taking messages,
// finishes the ones queued, and disconnects.
func (s *Subscriber) Run(ctx context.Context) error {
	s.client.Connect() // with ConnectRetry the token completes only once connected
	var wg sync.WaitGroup
	work, stopWork := context.WithCancel(context.Background())
	defer stopWork()
	// One worker: it never waits for the disk (the spool acknowledges from its
	// flusher), and it keeps each device's messages in order, which the alert rules
	// need (a fall_cancel must not overtake its fall).
	wg.Go(func() { s.work(work) })
	<-ctx.Done()
	close(s.stop)
	s.drain(work)
	stopWork()
	wg.Wait()
	s.pending.Wait() // their acks go out before the disconnect
	s.client.Disconnect(250)
	s.connected.Store(false)
	s.o.Metrics.connected.Set(0)
	return nil
}

// drain waits, up to a bound, for the workers to empty the queue.
func (s *Subscriber) drain(ctx context.Context) {
	deadline := time.Now().Add(10 * time.Second)
	for len(s.in) > 0 && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(10 * time.Millisecond)
	}
}

// work hands off batches of queued messages; each batch is acknowledged from the
// spool's flusher once it is on disk, so the worker goes on decoding meanwhile.
// Under load it hands off at most once per Linger, so that batches hold dozens of
// messages rather than the few that queued while the previous one was handed off:
// each hand-off has a cost of its own. A message after a quiet spell goes at once.
func (s *Subscriber) work(ctx context.Context) {
	var last time.Time // the previous hand-off
	pace := time.NewTimer(0)
	for {
		w := s.batches.get()
		select {
		case <-ctx.Done():
			return
		case r := <-s.in:
			w.msgs, w.acks = appendReceived(w.msgs[:0], w.acks[:0], r)
		}
		w.msgs, w.acks = s.fill(w.msgs, w.acks)
		if wait := s.o.Linger - time.Since(last); wait > 0 && len(w.msgs) < s.o.MaxBatch {
			pace.Reset(wait)
			select {
			case <-ctx.Done():
			case <-pace.C:
			}
			w.msgs, w.acks = s.fill(w.msgs, w.acks)
		}
		last = time.Now()
		s.o.Metrics.queue.Set(float64(len(s.in)))
		s.pending.Add(1)
		if err := s.h.HandleAsync(ctx, w.msgs, func(err error) { s.acknowledge(w, err) }); err != nil {
			s.pending.Done()
			return
		}
	}
}

// workBatch is one hand-off's messages; recycled once they are acknowledged.
type workBatch struct {
	msgs []Message
	acks []mqtt.Message
}

// acknowledge sends the PUBACKs of a batch that is on disk. Without them (err) the
// broker redelivers the messages to the next session.
func (s *Subscriber) acknowledge(w *workBatch, err error) {
	defer s.pending.Done()
	if err == nil {
		for _, m := range w.acks {
			m.Ack()
		}
	}
	clear(w.acks)
	clear(w.msgs)
	s.batches.put(w)
}

// fill adds what is queued, without waiting, up to MaxBatch.
func (s *Subscriber) fill(msgs []Message, acks []mqtt.Message) ([]Message, []mqtt.Message) {
	for len(msgs) < s.o.MaxBatch {
		select {
		case r := <-s.in:
			msgs, acks = appendReceived(msgs, acks, r)
		default:
			return msgs, acks
		}
	}
	return msgs, acks
}

func appendReceived(msgs []Message, acks []mqtt.Message, r received) ([]Message, []mqtt.Message) {
	msgs = append(msgs, Message{Topic: r.msg.Topic(), Payload: r.msg.Payload(), Received: r.when})
	return msgs, append(acks, r.msg)
}
