// Package broker is the MQTT broker built into the gateway (mochi-mqtt), for the
// demo and for small sites that run one binary. Devices authenticate with their
// registered id and provisioned password, responder apps with theirs; both are held to
// the topic rules of package brokerauth, the same rules `gateway broker export` writes
// for Mosquitto. Devices' messages reach the ingest through a hook that blocks until
// the durable hand-off: the PUBACK is sent only after it, so the embedded mode loses
// nothing either.
package broker

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
	"github.com/prometheus/client_golang/prometheus"

	"carebed/gateway/brokerauth"
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
}

// Broker is the embedded MQTT broker.
type Broker struct {
	srv     *mqtt.Server
	addr    net.Addr
	cancel  context.CancelFunc // ends hand-offs that wait for a full spool
	hook    *hook
	dropped *prometheus.CounterVec
	log     *slog.Logger
}

// maxWritesPending bounds the packets queued to one client (mochi's
// MaximumClientWritesPending, 8,192 by default). Mochi makes each client's queue at
// that size when it connects: 64 KiB of pointers a device, 6 GiB at 100,000 devices.
// A device gets a command now and then (ack_feedback) and a responder's app its
// pushes, all QoS 1; mochi takes the client's lock for each one's packet id, which
// its writer holds while a write is blocked, so a publisher waits for a slow client
// rather than filling its queue (up to the client's keepalive and a half when the
// link is dead: the gateway never publishes from a path that may not wait).
const maxWritesPending = 64

// readBufferSize is each client's read buffer (mochi's 2 KiB by default). A device's
// packets are a few hundred bytes; a batch's longer body is read past the buffer in
// one call. BenchmarkConnectionMemory at 8,000 connections: 256 queued and 2 KiB took
// 12.4-12.7 KB of heap a connection, 64 and 512 bytes 8.9-9.3 KB (docs/performance.md).
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
	caps := mqtt.NewDefaultServerCapabilities()
	// Checked against a packet's declared length before its body is read (mochi
	// allocates the whole body at once): without it one CONNECT declaring 200 MB
	// takes 200 MB, from anyone, before any password is checked.
	caps.MaximumPacketSize = brokerauth.MaxPacketSize
	caps.MaximumClientWritesPending = maxWritesPending
	srv := mqtt.New(&mqtt.Options{InlineClient: true, Logger: log, Capabilities: caps,
		ClientNetReadBufferSize: readBufferSize})
	ctx, cancel := context.WithCancel(context.Background())
	refused, dropped := refusedCounter(o.Registerer), droppedCounter(o.Registerer)
	h := &hook{ingest: o.Ingest, devices: o.Devices, creds: o.Credentials, allowNoPassword: o.AllowNoPassword,
		onResponder: o.OnResponder, refused: refused, log: log, ctx: ctx}
	if err := srv.AddHook(h, nil); err != nil {
		cancel()
		ln.Close()
		return nil, fmt.Errorf("broker: %w", err)
	}
	if err := srv.AddListener(newGuard(ln, o.Limits.withDefaults(), refused, dropped, log)); err != nil {
		cancel()
		ln.Close()
		return nil, fmt.Errorf("broker: %w", err)
	}
	return &Broker{srv: srv, addr: ln.Addr(), cancel: cancel, hook: h, dropped: dropped, log: log}, nil
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
	for _, cl := range b.srv.Clients.GetAll() {
		if cl.Net.Inline || cl.Closed() {
			continue
		}
		reason := b.hook.recheck(cl, creds)
		if reason == "" {
			continue
		}
		b.log.Warn("closed a connection", "reason", reason, "client_id", cl.ID, "remote", cl.Net.Remote)
		b.dropped.WithLabelValues(reason).Inc()
		b.srv.DisconnectClient(cl, packets.ErrNotAuthorized) //nolint:errcheck // closing it either way
	}
	return nil
}

func refusedCounter(r prometheus.Registerer) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "carebed_broker_refused_total",
		Help: "Connections the embedded broker refused, by reason (unknown_user, client_id_mismatch, " +
			"no_credential, revoked, wrong_password, registry_error; before authentication: too_many_connecting, " +
			"too_many_from_address, connect_timeout, packet_too_large)."}, []string{"reason"})
	for _, reason := range []string{refusedUnknown, refusedClientID, refusedNoCredential, refusedRevoked, refusedPassword,
		refusedRegistry, refusedBusy, refusedAddrBusy, refusedTimeout, refusedPacketLarge} {
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
func (b *Broker) Serve() error { return b.srv.Serve() }

// Publish sends a message from the gateway itself, e.g. a cmd to a device.
func (b *Broker) Publish(topic string, payload []byte, retain bool, qos byte) error {
	return b.srv.Publish(topic, payload, retain, qos)
}

// Close disconnects every client and stops the listener. Publishes not yet handed
// off are not acknowledged, so devices send them again.
func (b *Broker) Close() error {
	b.cancel()
	return b.srv.Close()
}
