// Package broker is the MQTT broker built into the gateway (mochi-mqtt), for the
// demo and for small sites that run one binary. Devices authenticate with their
// registered id, may publish only under their own carebed/v1/{device}/ topics and
// read only their own cmd topic. Their messages reach the ingest through a hook that
// blocks until the durable hand-off: the PUBACK is sent only after it, so the
// embedded mode loses nothing either.
package broker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/listeners"
)

// Options configure a Broker.
type Options struct {
	// Listener accepts device connections; Addr is used when it is nil.
	Listener net.Listener
	Addr     string
	Ingest   Ingest
	Devices  Devices
	Logger   *slog.Logger
}

// Broker is the embedded MQTT broker.
type Broker struct {
	srv    *mqtt.Server
	addr   net.Addr
	cancel context.CancelFunc // ends hand-offs that wait for a full spool
}

// New builds the broker and binds its listener; Serve starts it.
func New(o Options) (*Broker, error) {
	if o.Ingest == nil || o.Devices == nil {
		return nil, errors.New("broker: Ingest and Devices are required")
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
	log := o.Logger.With("component", "broker")
	srv := mqtt.New(&mqtt.Options{InlineClient: true, Logger: log})
	ctx, cancel := context.WithCancel(context.Background())
	h := &hook{ingest: o.Ingest, devices: o.Devices, log: log, ctx: ctx}
	if err := srv.AddHook(h, nil); err != nil {
		cancel()
		ln.Close()
		return nil, fmt.Errorf("broker: %w", err)
	}
	if err := srv.AddListener(listeners.NewNet("devices", ln)); err != nil {
		cancel()
		ln.Close()
		return nil, fmt.Errorf("broker: %w", err)
	}
	return &Broker{srv: srv, addr: ln.Addr(), cancel: cancel}, nil
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
