// Package fleet publishes protocol v1 traffic for many simulated devices at a fixed
// offered rate over a bounded number of MQTT connections, QoS 1, and records which
// (device, seq) pairs the broker acknowledged. Load tests, end-to-end tests and the
// demo use it.
package fleet

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"carebed/gateway/protocol"
)

// Payload builds the message device sends as its seq-th message at now.
type Payload func(device string, seq uint64, now time.Time) (topic string, payload []byte)

// Options configure a Fleet.
type Options struct {
	// Broker is the MQTT URL, e.g. tcp://127.0.0.1:1883.
	Broker string
	// Devices are the device ids; they are dealt round-robin over the connections.
	Devices []string
	// Conns is the number of MQTT connections (default 4). PerDevice overrides it:
	// one connection per device, client id and username = device id, with a Last Will
	// on the device's status topic, as real firmware connects.
	Conns     int
	PerDevice bool
	// ClientPrefix prefixes the client ids of shared connections.
	ClientPrefix string
	// Rate is the total offered rate in messages per second; Duration how long to
	// offer it (0: until the context ends).
	Rate     float64
	Duration time.Duration
	// Payload builds each message (default: Telemetry with the device clock).
	Payload Payload
	// FirstSeq is the first seq of every device (default 1).
	FirstSeq uint64
	// MaxInflight bounds unacknowledged publishes per connection (default 1000).
	MaxInflight int
	// Record keeps every acknowledged (device, seq) for Acked.
	Record bool
	// QoS0 publishes the Payload messages at QoS 0 instead of 1 (protocol v1 allows
	// it for live telemetry): no PUBACKs, so nothing counts as acknowledged.
	QoS0 bool
	// Volatile keeps no session store: publishes cut by a dropped connection are
	// not sent again. It saves the store's map work per message; for load tests.
	Volatile bool
	// Linger paces the connections' system calls (mqttconn.Options.Linger): for load
	// tests, where many devices share a connection.
	Linger time.Duration
}

// Fleet is a running set of publishers.
type Fleet struct {
	o       Options
	sent    atomic.Int64
	acked   atomic.Int64
	errs    atomic.Int64
	unconf  atomic.Int64
	lastPub atomic.Int64 // unix nanos of the last publish call

	mu      sync.Mutex
	ackedBy map[string][]uint64
	lastErr error
	byDev   map[string]*conn // set once connected
}

// Report is what a run sent.
type Report struct {
	Sent, Acked, Errors int64
	// Unconfirmed publishes failed to be written because the connection dropped;
	// paho keeps them in its session store and sends them again after reconnecting,
	// so they may well arrive, but no PUBACK confirms it. They are not in Acked.
	Unconfirmed int64
	Elapsed     time.Duration
	// LastPublish is when the last message was handed to the client.
	LastPublish time.Time
	LastError   error
}

// Rate is the achieved publish rate.
func (r Report) Rate() float64 { return float64(r.Sent) / r.Elapsed.Seconds() }

// New returns a Fleet; it connects in Run.
func New(o Options) *Fleet {
	if o.Conns <= 0 {
		o.Conns = 4
	}
	if o.PerDevice {
		o.Conns = len(o.Devices)
	}
	if o.Conns > len(o.Devices) {
		o.Conns = len(o.Devices)
	}
	if o.MaxInflight <= 0 {
		o.MaxInflight = 1000
	}
	if o.FirstSeq == 0 {
		o.FirstSeq = 1
	}
	if o.Payload == nil {
		o.Payload = Telemetry
	}
	if o.ClientPrefix == "" {
		o.ClientPrefix = "fleet"
	}
	return &Fleet{o: o, ackedBy: make(map[string][]uint64)}
}

// Telemetry is the default payload: a bed sensor reading with the device clock.
func Telemetry(device string, seq uint64, now time.Time) (string, []byte) {
	hr, rr, batt, rssi := 60+float64(seq%20), 14+float64(seq%4), 90.0, -70.0
	occ := seq%7 != 0
	return protocol.DeviceTopic(device, protocol.KindTelemetry), protocol.EncodeReading(protocol.Reading{
		Seq: seq, TS: now.UnixMilli(), HR: &hr, RR: &rr, Battery: &batt, RSSI: &rssi, Occupied: &occ})
}

// Run connects, offers the rate until Duration passes or ctx ends, waits (bounded)
// for outstanding acknowledgements, disconnects and reports.
func (f *Fleet) Run(ctx context.Context) (Report, error) {
	if len(f.o.Devices) == 0 || f.o.Rate <= 0 {
		return Report{}, errors.New("fleet: no devices or no rate")
	}
	if f.o.Duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, f.o.Duration)
		defer cancel()
	}
	conns, err := f.connect()
	if err != nil {
		return Report{}, err
	}
	f.mu.Lock()
	f.byDev = map[string]*conn{}
	for _, c := range conns {
		for _, d := range c.devices {
			f.byDev[d] = c
		}
	}
	f.mu.Unlock()
	start := time.Now()
	var wg sync.WaitGroup
	for _, c := range conns {
		wg.Go(func() { c.run(ctx, f) })
	}
	wg.Wait()
	elapsed := time.Since(start)
	for _, c := range conns {
		c.client.Disconnect(250)
	}
	return f.report(elapsed), nil
}

func (f *Fleet) report(elapsed time.Duration) Report {
	f.mu.Lock()
	defer f.mu.Unlock()
	return Report{Sent: f.sent.Load(), Acked: f.acked.Load(), Errors: f.errs.Load(), Unconfirmed: f.unconf.Load(), Elapsed: elapsed,
		LastPublish: time.Unix(0, f.lastPub.Load()), LastError: f.lastErr}
}

// Sent is the number of publishes so far (for progress displays).
func (f *Fleet) Sent() int64 { return f.sent.Load() }

// Acked returns, per device, the seqs the broker acknowledged (Options.Record).
func (f *Fleet) Acked() map[string][]uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make(map[string][]uint64, len(f.ackedBy))
	for d, s := range f.ackedBy {
		out[d] = append([]uint64(nil), s...)
	}
	return out
}

func (f *Fleet) ack(device string, seq uint64, err error) {
	if err != nil && isConnLost(err) {
		f.unconf.Add(1)
		return
	}
	if err != nil {
		f.errs.Add(1)
		f.mu.Lock()
		f.lastErr = err
		f.mu.Unlock()
		return
	}
	f.acked.Add(1)
	if f.o.Record && device != "" {
		f.mu.Lock()
		f.ackedBy[device] = append(f.ackedBy[device], seq)
		f.mu.Unlock()
	}
}

// connect opens every connection, in parallel, and waits for all of them.
func (f *Fleet) connect() ([]*conn, error) {
	conns := make([]*conn, f.o.Conns)
	for i := range conns {
		conns[i] = &conn{rate: f.o.Rate / float64(f.o.Conns), seq: map[string]uint64{}}
	}
	for i, d := range f.o.Devices {
		c := conns[i%len(conns)]
		c.devices = append(c.devices, d)
		c.seq[d] = f.o.FirstSeq
	}
	errs := make([]error, len(conns))
	var wg sync.WaitGroup
	for i, c := range conns {
		wg.Go(func() { errs[i] = c.connect(f.o, i) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		for _, c := range conns {
			if c.client != nil {
				c.client.Disconnect(0)
			}
		}
		return nil, fmt.Errorf("fleet: %w", err)
	}
	return conns, nil
}

// isConnLost reports a publish that paho could not write because the connection was
// closed under it; with a persistent session paho resends it after reconnecting.
func isConnLost(err error) bool {
	return errors.Is(err, net.ErrClosed) || strings.Contains(err.Error(), "use of closed network connection")
}

// ErrNotConnected is returned by Event before Run has connected the device.
var ErrNotConnected = errors.New("fleet: device not connected")

// Event publishes an event from device on its own connection with its next seq, as
// its firmware would (cancels: the seq a *_cancel cancels), and waits for the PUBACK.
func (f *Fleet) Event(device, eventType string, cancels uint64) (uint64, error) {
	f.mu.Lock()
	c := f.byDev[device]
	f.mu.Unlock()
	if c == nil {
		return 0, ErrNotConnected
	}
	seq := c.next(device)
	ev := protocol.Event{Seq: seq, TS: time.Now().UnixMilli(), Type: protocol.EventType(eventType)}
	if strings.HasSuffix(eventType, "_cancel") {
		ev.Cancels = cancels
	}
	tok := c.client.Publish(protocol.DeviceTopic(device, protocol.KindEvent), 1, false, protocol.EncodeEvent(ev))
	f.sent.Add(1)
	if !tok.WaitTimeout(10 * time.Second) {
		return seq, fmt.Errorf("fleet: no PUBACK for %s event %s", device, eventType)
	}
	return seq, tok.Error()
}

// Connected reports whether Run has connected the device.
func (f *Fleet) Connected(device string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.byDev[device] != nil
}

// PowerCut cuts devices off for d, as a village power cut does: each drops its
// connection without a DISCONNECT (the broker publishes its Last Will), keeps its
// readings, and after d reconnects, says it is online and replays them as batches.
// Only for PerDevice fleets.
func (f *Fleet) PowerCut(devices []string, d time.Duration) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.o.PerDevice {
		return errors.New("fleet: power cuts need one connection per device")
	}
	for _, dev := range devices {
		c := f.byDev[dev]
		if c == nil {
			return ErrNotConnected
		}
		c.powerCut(d)
	}
	return nil
}
