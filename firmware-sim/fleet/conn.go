package fleet

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"carebed/gateway/protocol"
	"carebed/gateway/protocol/mqttconn"
)

// conn is one MQTT connection publishing for its share of the devices.
type conn struct {
	client  mqtt.Client
	devices []string
	rate    float64

	mu   sync.Mutex
	seq  map[string]uint64
	nc   net.Conn // the current socket (PerDevice), to cut it
	held [][]byte // telemetry kept while offline, replayed as batches
	lost int      // held readings dropped because the buffer was full

	offline atomic.Bool // no signal: the device keeps its readings
	cut     atomic.Bool // set by a power cut, cleared by the replay after it
}

// maxHeld bounds the readings a device keeps while offline.
const maxHeld = 1000

// errNoSignal is what dialling returns while a device is cut off.
var errNoSignal = errors.New("no signal")

// next takes the device's next seq.
func (c *conn) next(d string) uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.seq[d]
	c.seq[d] = s + 1
	return s
}

type pending struct {
	tok    mqtt.Token
	device string
	seq    uint64
	status bool // not a Payload message: not recorded in Acked
}

func (c *conn) connect(o Options, i int) error {
	opts := mqtt.NewClientOptions().AddBroker(o.Broker).SetCleanSession(false).
		SetAutoReconnect(true).SetConnectRetry(false).SetMaxReconnectInterval(time.Second).
		SetKeepAlive(30 * time.Second).SetConnectTimeout(10 * time.Second).SetWriteTimeout(30 * time.Second)
	if o.Volatile {
		opts.SetStore(mqttconn.NopStore{})
	}
	if mqttconn.Supports(o.Broker) {
		dial := mqttconn.Dialer(mqttconn.Options{Linger: o.Linger})
		opts.SetCustomOpenConnectionFn(func(u *url.URL, co mqtt.ClientOptions) (net.Conn, error) {
			return c.dial(dial, u, co) // coalesced writes: the load generator must not be the bottleneck
		})
	}
	if o.PerDevice {
		d := c.devices[0]
		opts.SetClientID(d).SetUsername(d).
			SetBinaryWill(protocol.DeviceTopic(d, protocol.KindStatus), protocol.EncodeStatus(protocol.Status{Online: false}), 1, true).
			SetOnConnectHandler(func(mqtt.Client) {
				if c.cut.Load() {
					go c.back()
				}
			})
	} else {
		opts.SetClientID(fmt.Sprintf("%s-%d", o.ClientPrefix, i))
	}
	c.client = mqtt.NewClient(opts)
	return c.firstConnect(o.Broker, 15*time.Second)
}

// firstConnect connects, trying again for up to within as firmware does: a broker
// may turn a connection away while many connect at once (the embedded broker's
// limits on connections still authenticating from one address).
func (c *conn) firstConnect(broker string, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		tok := c.client.Connect()
		ok := tok.WaitTimeout(time.Until(deadline))
		if ok && tok.Error() == nil {
			return nil
		}
		if !ok || time.Now().Add(backoff).After(deadline) {
			return fmt.Errorf("connect %s: %v", broker, tok.Error())
		}
		time.Sleep(backoff + time.Duration(rand.Int64N(int64(backoff))))
	}
}

// backoff is the least wait before a device tries to connect again.
const backoff = 100 * time.Millisecond

// dial opens the socket, unless the device has no signal (a power cut).
func (c *conn) dial(dial mqtt.OpenConnectionFunc, uri *url.URL, o mqtt.ClientOptions) (net.Conn, error) {
	if c.offline.Load() {
		return nil, errNoSignal
	}
	nc, err := dial(uri, o)
	if err == nil {
		c.mu.Lock()
		c.nc = nc
		c.mu.Unlock()
	}
	return nc, err
}

// powerCut drops the device's connection without a DISCONNECT (the broker then
// publishes its Last Will) and keeps it offline for d.
func (c *conn) powerCut(d time.Duration) {
	c.offline.Store(true)
	c.cut.Store(true)
	c.mu.Lock()
	nc := c.nc
	c.mu.Unlock()
	if dc, ok := nc.(interface{ Drop() }); ok {
		dc.Drop()
	} else if nc != nil {
		nc.Close()
	}
	time.AfterFunc(d, func() { c.offline.Store(false) })
}

// hold keeps a telemetry payload while offline; it reports false for other messages.
func (c *conn) hold(topic string, payload []byte) bool {
	if !strings.HasSuffix(topic, "/"+string(protocol.KindTelemetry)) {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.held) >= maxHeld {
		c.held, c.lost = c.held[1:], c.lost+1
	}
	c.held = append(c.held, payload)
	return true
}

// back runs after reconnecting from a power cut: the device says it is online and
// replays what it kept, as batches.
func (c *conn) back() {
	d := c.devices[0]
	c.mu.Lock()
	held := c.held
	c.held = nil
	c.mu.Unlock()
	st := protocol.Status{Seq: c.next(d), TS: time.Now().UnixMilli(), Online: true, FW: "sim-1.0", HeartbeatS: 60}
	c.client.Publish(protocol.DeviceTopic(d, protocol.KindStatus), 1, true, protocol.EncodeStatus(st)).WaitTimeout(10 * time.Second)
	var batch []protocol.Reading
	flush := func() {
		if len(batch) > 0 {
			c.client.Publish(protocol.DeviceTopic(d, protocol.KindTelemetry), 1, false, protocol.EncodeBatch(batch)).WaitTimeout(10 * time.Second)
			batch = batch[:0]
		}
	}
	for _, p := range held {
		tel, err := protocol.DecodeTelemetry(p)
		if err != nil {
			continue
		}
		batch = append(batch, tel.Readings...)
		if len(batch) >= 200 { // ~20 KB, well under the 64 KiB batch limit
			flush()
		}
	}
	flush()
	c.cut.Store(false)
}

// paceSlack is how far ahead of its schedule a connection may publish before it
// sleeps: sleeping for every message (tens of microseconds apart at load rates)
// costs a timer and a wake-up each; this way a connection publishes a burst per
// millisecond and the rate over a second is the same.
const paceSlack = time.Millisecond

// run publishes at c.rate until ctx ends, then waits up to 30 s for acknowledgements.
func (c *conn) run(ctx context.Context, f *Fleet) {
	inflight := make(chan pending, f.o.MaxInflight)
	done := make(chan struct{})
	go func() { c.collect(inflight, f); close(done) }()
	if f.o.PerDevice {
		c.online(f, inflight)
	}
	interval := time.Duration(float64(time.Second) / c.rate)
	next := time.Now()
	pace := time.NewTimer(time.Hour)
	defer pace.Stop()
	for i := 0; ctx.Err() == nil; i++ {
		if wait := time.Until(next); wait > paceSlack {
			pace.Reset(wait)
			select {
			case <-ctx.Done():
			case <-pace.C:
			}
			if ctx.Err() != nil {
				break
			}
		}
		c.publish(f, c.devices[i%len(c.devices)], inflight)
		next = next.Add(interval)
	}
	close(inflight)
	<-done
}

// publish sends device's next message (or keeps it, offline).
func (c *conn) publish(f *Fleet, d string, inflight chan<- pending) {
	seq := c.next(d)
	now := time.Now()
	topic, payload := f.o.Payload(d, seq, now)
	if c.offline.Load() && c.hold(topic, payload) {
		return
	}
	qos := byte(1)
	if f.o.QoS0 {
		qos = 0
	}
	tok := c.client.Publish(topic, qos, false, payload)
	f.sent.Add(1)
	f.lastPub.Store(now.UnixNano())
	inflight <- pending{tok: tok, device: d, seq: seq}
}

// online announces the device as firmware does after connecting: a retained status
// that the Last Will overwrites if the device vanishes.
func (c *conn) online(f *Fleet, inflight chan<- pending) {
	d := c.devices[0]
	seq := c.next(d)
	st := protocol.Status{Seq: seq, TS: time.Now().UnixMilli(), Online: true, FW: "sim-1.0", HeartbeatS: 60}
	tok := c.client.Publish(protocol.DeviceTopic(d, protocol.KindStatus), 1, true, protocol.EncodeStatus(st))
	f.sent.Add(1)
	inflight <- pending{tok, d, seq, true}
}

// collect waits for each publish's acknowledgement, in order. A publish stored while
// the connection is down completes after the reconnection, hence the long bound. One
// timer serves every wait (paho's WaitTimeout makes one per call).
func (c *conn) collect(inflight <-chan pending, f *Fleet) {
	bound := time.NewTimer(time.Hour)
	defer bound.Stop()
	for p := range inflight {
		if !wait(p.tok, bound, 2*time.Minute) {
			f.ack(p.device, p.seq, fmt.Errorf("no PUBACK for %s seq %d", p.device, p.seq))
			continue
		}
		if p.status {
			f.ack("", 0, p.tok.Error())
			continue
		}
		f.ack(p.device, p.seq, p.tok.Error())
	}
}

// wait waits for tok for at most d, reusing timer; false: it timed out.
func wait(tok mqtt.Token, timer *time.Timer, d time.Duration) bool {
	select {
	case <-tok.Done():
		return true
	default:
	}
	timer.Reset(d)
	select {
	case <-tok.Done():
		return true
	case <-timer.C:
		return false
	}
}
