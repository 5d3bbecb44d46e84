package fleet

import (
	"context"
	"fmt"
	"sync"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/eclipse/paho.mqtt.golang/packets"

	"carebed/gateway/protocol"
	"carebed/gateway/protocol/mqttconn"
)

// conn is one MQTT connection publishing for its share of the devices.
type conn struct {
	client  mqtt.Client
	devices []string
	rate    float64

	mu  sync.Mutex
	seq map[string]uint64
}

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
		opts.SetStore(nopStore{})
	}
	if mqttconn.Supports(o.Broker) {
		opts.SetCustomOpenConnectionFn(mqttconn.Dial) // coalesced writes: the load generator must not be the bottleneck
	}
	if o.PerDevice {
		d := c.devices[0]
		opts.SetClientID(d).SetUsername(d).
			SetBinaryWill(protocol.DeviceTopic(d, protocol.KindStatus), protocol.EncodeStatus(protocol.Status{Online: false}), 1, true)
	} else {
		opts.SetClientID(fmt.Sprintf("%s-%d", o.ClientPrefix, i))
	}
	c.client = mqtt.NewClient(opts)
	tok := c.client.Connect()
	if !tok.WaitTimeout(15*time.Second) || tok.Error() != nil {
		return fmt.Errorf("connect %s: %v", o.Broker, tok.Error())
	}
	return nil
}

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
	for i := 0; ctx.Err() == nil; i++ {
		if wait := time.Until(next); wait > 0 {
			select {
			case <-ctx.Done():
			case <-time.After(wait):
			}
			if ctx.Err() != nil {
				break
			}
		}
		d := c.devices[i%len(c.devices)]
		seq := c.next(d)
		now := time.Now()
		topic, payload := f.o.Payload(d, seq, now)
		tok := c.client.Publish(topic, 1, false, payload)
		f.sent.Add(1)
		f.lastPub.Store(now.UnixNano())
		inflight <- pending{tok: tok, device: d, seq: seq}
		next = next.Add(interval)
	}
	close(inflight)
	<-done
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
// the connection is down completes after the reconnection, hence the long bound.
func (c *conn) collect(inflight <-chan pending, f *Fleet) {
	for p := range inflight {
		if !p.tok.WaitTimeout(2 * time.Minute) {
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

// nopStore is a paho Store that keeps nothing (Options.Volatile).
type nopStore struct{}

func (nopStore) Open()                             {}
func (nopStore) Put(string, packets.ControlPacket) {}
func (nopStore) Get(string) packets.ControlPacket  { return nil }
func (nopStore) All() []string                     { return nil }
func (nopStore) Del(string)                        {}
func (nopStore) Close()                            {}
func (nopStore) Reset()                            {}
