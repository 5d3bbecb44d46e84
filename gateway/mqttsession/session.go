// Package mqttsession is the gateway's one persistent MQTT session with an external
// broker: a fixed client id, clean session off, QoS 1 and manual acknowledgement. It
// routes each message it receives to the part of the gateway that owns its topics
// (the device ingest, the responder inlet, the broker statistics), and it carries the
// gateway's outbound messages (device commands, pushes to responder apps).
//
// One session serves them all, but for alarms: Mosquitto ties a persistent session
// to one client id and delivers its messages in order, so during a backlog (a
// township replaying its readings after a power cut) an SOS would queue behind
// hundreds of thousands of readings. The gateway therefore runs a second session
// (Options.Name "alarms", a broker user of its own) subscribed to devices' events
// only; the main session still takes them too, and the ingest drops the second copy.
package mqttsession

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/prometheus/client_golang/prometheus"

	"carebed/gateway/protocol/mqttconn"
)

// Route is what one part of the gateway takes from the session.
type Route struct {
	// Filters are the subscriptions (topic filter -> QoS) of the route.
	Filters map[string]byte
	// Prefix selects the messages of the route by topic; "" takes every message no
	// other route took (give it last).
	Prefix string
	// Take runs on paho's reader path: it must not block (queue the message, or do
	// something quick) and must Ack the message once it is safe to.
	Take func(m mqtt.Message)
}

// Options configure the session.
type Options struct {
	URL, ClientID, Username, Password string
	// Name tells a second session from the main one ("" ) in its metrics
	// (carebed_mqtt_<name>_connected ...) and its log lines.
	Name string
	// TLS verifies the broker (and may carry a client certificate) for ssl://,
	// tls:// and mqtts:// URLs.
	TLS *tls.Config
	// Linger paces the connection's reads and writes (mqttconn.Options.Linger);
	// zero: none.
	Linger            time.Duration
	KeepAlive         time.Duration
	ConnectTimeout    time.Duration
	MaxReconnectDelay time.Duration
	Logger            *slog.Logger
	Registerer        prometheus.Registerer
	// MayConnect, when set, is asked before every connection attempt (the first and
	// each automatic reconnection, tcp and tls URLs): false refuses it. The standby of
	// a pair, or an active whose lease ran out while it was paused, must not connect
	// with the shared client id, which would throw the active off the broker.
	MayConnect func() bool
}

// Session is the persistent MQTT session.
type Session struct {
	o         Options
	routes    []Route
	client    mqtt.Client
	log       *slog.Logger
	connected atomic.Bool
	m         metrics
}

type metrics struct {
	connected prometheus.Gauge
	connects  prometheus.Counter
	lost      prometheus.Counter
}

// New returns a session that takes messages for routes, in order; it connects when
// Connect is called.
func New(o Options, routes ...Route) *Session {
	if o.MaxReconnectDelay <= 0 {
		o.MaxReconnectDelay = 5 * time.Second
	}
	if o.ConnectTimeout <= 0 {
		o.ConnectTimeout = 10 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Registerer == nil {
		o.Registerer = prometheus.NewRegistry()
	}
	prefix, which, component := "carebed_mqtt_", "The gateway's MQTT session: ", "mqtt"
	if o.Name != "" {
		prefix, which, component = prefix+o.Name+"_", "The gateway's "+o.Name+" MQTT session: ", "mqtt-"+o.Name
	}
	s := &Session{o: o, routes: routes, log: o.Logger.With("component", component), m: metrics{
		connected: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: prefix + "connected",
			Help: which + "1 while connected to the broker and subscribed.",
		}),
		connects: prometheus.NewCounter(prometheus.CounterOpts{
			Name: prefix + "connects_total",
			Help: which + "successful connections, including reconnections.",
		}),
		lost: prometheus.NewCounter(prometheus.CounterOpts{
			Name: prefix + "connection_lost_total",
			Help: which + "connections lost.",
		}),
	}}
	o.Registerer.MustRegister(s.m.connected, s.m.connects, s.m.lost)
	// Every message goes to the default handler, set in the options, so it is in place
	// before Connect: messages the broker queued for this session while the gateway
	// was away arrive right after CONNACK. No AddRoute: paho would match each
	// message's topic against each route by splitting strings (7 % of the CPU).
	s.client = mqtt.NewClient(s.clientOptions())
	return s
}

func (s *Session) clientOptions() *mqtt.ClientOptions {
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
		o.SetCustomOpenConnectionFn(s.guard(mqttconn.Dialer(mqttconn.Options{Linger: max(s.o.Linger, 0)})))
	}
	o.SetOnConnectHandler(s.onConnect)
	o.SetConnectionLostHandler(func(_ mqtt.Client, err error) {
		s.connected.Store(false)
		s.m.connected.Set(0)
		s.m.lost.Inc()
		s.log.Warn("lost the broker; reconnecting", "err", err)
	})
	return o
}

// errMayNotConnect refuses a connection attempt MayConnect does not allow.
var errMayNotConnect = errors.New("mqttsession: not connecting: this gateway is not the active one")

// guard asks MayConnect before dial does.
func (s *Session) guard(dial mqtt.OpenConnectionFunc) mqtt.OpenConnectionFunc {
	if s.o.MayConnect == nil {
		return dial
	}
	return func(uri *url.URL, co mqtt.ClientOptions) (net.Conn, error) {
		if !s.o.MayConnect() {
			return nil, errMayNotConnect
		}
		return dial(uri, co)
	}
}

// receive hands the message to the first route whose prefix it has.
func (s *Session) receive(_ mqtt.Client, m mqtt.Message) {
	topic := m.Topic()
	for i := range s.routes {
		if r := &s.routes[i]; strings.HasPrefix(topic, r.Prefix) {
			r.Take(m)
			return
		}
	}
	m.Ack() // no route wants it: a subscription of an older version's session
}

// onConnect (re)subscribes: harmless when the persistent session kept the
// subscriptions, necessary when the broker lost them.
func (s *Session) onConnect(c mqtt.Client) {
	filters := map[string]byte{}
	for _, r := range s.routes {
		for f, q := range r.Filters {
			filters[f] = q
		}
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
		s.m.connected.Set(1)
		s.m.connects.Inc()
		s.log.Info("connected and subscribed", "broker", s.o.URL, "client_id", s.o.ClientID)
	}()
}

// Connect starts connecting, and reconnecting whenever the connection is lost.
func (s *Session) Connect() {
	s.client.Connect() // with ConnectRetry the token completes only once connected
}

// Close disconnects; the broker keeps the session for the next start.
func (s *Session) Close() {
	s.client.Disconnect(250)
	s.connected.Store(false)
	s.m.connected.Set(0)
}

// Connected reports whether the session is up and subscribed.
func (s *Session) Connected() bool { return s.connected.Load() }

// Publish sends a message from the gateway over the session, QoS 1, and waits for the
// broker's acknowledgement (bounded by the connect timeout).
func (s *Session) Publish(topic string, payload []byte) error {
	tok := s.client.Publish(topic, 1, false, payload)
	if !tok.WaitTimeout(s.o.ConnectTimeout) {
		return fmt.Errorf("publish to %s: no acknowledgement within %s", topic, s.o.ConnectTimeout)
	}
	return tok.Error()
}
