package fleet

import (
	"context"
	"fmt"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"carebed/gateway/protocol"
)

// conn is one MQTT connection publishing for its share of the devices.
type conn struct {
	client  mqtt.Client
	devices []string
	seq     map[string]uint64
	rate    float64
}

type pending struct {
	tok    mqtt.Token
	device string
	seq    uint64
}

func (c *conn) connect(o Options, i int) error {
	opts := mqtt.NewClientOptions().AddBroker(o.Broker).SetCleanSession(false).
		SetAutoReconnect(true).SetConnectRetry(false).SetMaxReconnectInterval(time.Second).
		SetKeepAlive(30 * time.Second).SetConnectTimeout(10 * time.Second).SetWriteTimeout(30 * time.Second)
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
		seq := c.seq[d]
		c.seq[d] = seq + 1
		now := time.Now()
		topic, payload := f.o.Payload(d, seq, now)
		tok := c.client.Publish(topic, 1, false, payload)
		f.sent.Add(1)
		f.lastPub.Store(now.UnixNano())
		inflight <- pending{tok, d, seq}
		next = next.Add(interval)
	}
	close(inflight)
	<-done
}

// collect waits for each publish's acknowledgement, in order. A publish stored while
// the connection is down completes after the reconnection, hence the long bound.
func (c *conn) collect(inflight <-chan pending, f *Fleet) {
	for p := range inflight {
		if !p.tok.WaitTimeout(2 * time.Minute) {
			f.ack(p.device, p.seq, fmt.Errorf("no PUBACK for %s seq %d", p.device, p.seq))
			continue
		}
		f.ack(p.device, p.seq, p.tok.Error())
	}
}
