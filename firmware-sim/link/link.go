// Package link connects a simulated device (package device) to an MQTT broker as
// its firmware does (docs/protocol.md §1): its own client whose id and username
// are the device id, with its own password, a persistent session, a Last Will
// {"v":1,"online":false} retained on its status topic; after every connect it
// subscribes to its cmd topic, publishes its online status, then what it kept while
// offline, and only then its live messages. Cut and Restore take its signal away and
// give it back (a herder's pasture, a village power cut): the broker sees the
// connection vanish and publishes the Last Will.
package link

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"carebed/firmware-sim/device"
	"carebed/firmware-sim/simclock"
	"carebed/gateway/protocol"
	"carebed/gateway/protocol/mqttconn"
)

// Options configure a Link.
type Options struct {
	// Broker is the MQTT URL, e.g. tcp://127.0.0.1:1883.
	Broker string
	// Password is the device's credential ("": none).
	Password string
	// KeepAlive is the MQTT keepalive (default 30 s).
	KeepAlive time.Duration
	// Retry is the longest pause between reconnection attempts (default 5 s).
	Retry time.Duration
	// Jitter is the most a device waits, at random, before dialling again after a
	// lost connection, so that a village's devices do not all come back at once
	// (default 0).
	Jitter time.Duration
	// Clock is the simulated time the firmware lives in (default: the wall clock).
	Clock simclock.Clock
	// Logger gets the link's lines (default: discarded).
	Logger *slog.Logger
}

func (o *Options) defaults() {
	if o.KeepAlive <= 0 {
		o.KeepAlive = 30 * time.Second
	}
	if o.Retry <= 0 {
		o.Retry = 5 * time.Second
	}
	if o.Clock == nil {
		o.Clock = simclock.Wall()
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
}

// Link is one device's MQTT connection.
type Link struct {
	o        Options
	fw       *device.Firmware
	log      *slog.Logger
	noSignal atomic.Bool
	stats    counters
	wg       sync.WaitGroup

	mu     sync.Mutex
	client mqtt.Client // the current client; a reboot makes a new one
	nc     net.Conn    // the current socket, to drop it
	gen    int         // bumped by every connect
	ready  bool        // status and replay are out: live messages go
}

// ErrNoSignal is what dialling gives while the device has no signal.
var ErrNoSignal = errors.New("link: no signal")

// New returns a link for the device; Connect connects it.
func New(fw *device.Firmware, o Options) (*Link, error) {
	o.defaults()
	if !mqttconn.Supports(o.Broker) {
		return nil, fmt.Errorf("link: broker URL %q is not tcp:// or tls://", o.Broker)
	}
	return &Link{o: o, fw: fw, log: o.Logger.With("device", fw.ID())}, nil
}

// Connect connects the device and waits until the broker has accepted it; the
// status and replay follow in the background. Later losses reconnect by themselves.
func (l *Link) Connect(ctx context.Context) error {
	c := l.newClient()
	l.mu.Lock()
	l.client = c
	l.mu.Unlock()
	tok := c.Connect()
	select {
	case <-tok.Done():
	case <-ctx.Done():
		c.Disconnect(0)
		return ctx.Err()
	}
	if err := tok.Error(); err != nil {
		return fmt.Errorf("link: %s: connect %s: %w", l.fw.ID(), l.o.Broker, err)
	}
	return nil
}

// newClient makes a client with the device's identity, Last Will and handlers.
func (l *Link) newClient() mqtt.Client {
	id := l.fw.ID()
	opts := mqtt.NewClientOptions().AddBroker(l.o.Broker).SetClientID(id).SetUsername(id).SetPassword(l.o.Password).
		SetCleanSession(false).SetAutoReconnect(true).SetConnectRetry(false).SetMaxReconnectInterval(l.o.Retry).
		SetKeepAlive(l.o.KeepAlive).SetConnectTimeout(10*time.Second).SetWriteTimeout(10*time.Second).SetOrderMatters(false).
		SetBinaryWill(protocol.DeviceTopic(id, protocol.KindStatus), protocol.EncodeStatus(protocol.Status{}), 1, true).
		SetCustomOpenConnectionFn(l.dial)
	var c mqtt.Client
	opts.SetOnConnectHandler(func(mqtt.Client) { go l.up(c) })
	opts.SetConnectionLostHandler(func(_ mqtt.Client, err error) { l.lost(c, err) })
	c = mqtt.NewClient(opts)
	c.AddRoute(protocol.DeviceTopic(id, protocol.KindCmd), func(_ mqtt.Client, m mqtt.Message) {
		l.fw.Command(m.Payload(), l.o.Clock.Now())
	})
	return c
}

// dial opens the socket, unless the device has no signal.
func (l *Link) dial(uri *url.URL, o mqtt.ClientOptions) (net.Conn, error) {
	if l.noSignal.Load() {
		return nil, ErrNoSignal
	}
	if l.o.Jitter > 0 {
		time.Sleep(rand.N(l.o.Jitter))
	}
	mc, err := mqttconn.Dial(uri, o)
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	l.nc = mc
	l.mu.Unlock()
	return mc, nil
}

// current reports whether c is the link's client (not one a reboot replaced).
func (l *Link) current(c mqtt.Client) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.client == c
}

// lost runs when c's connection drops: the firmware keeps what it makes from now on.
func (l *Link) lost(c mqtt.Client, err error) {
	if !l.current(c) {
		return
	}
	l.mu.Lock()
	l.ready = false
	l.mu.Unlock()
	l.fw.Down()
	l.log.Info("connection lost", "err", err, "no_signal", l.noSignal.Load())
}
