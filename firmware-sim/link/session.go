package link

import (
	"context"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"carebed/firmware-sim/device"
	"carebed/gateway/protocol"
)

// ackWait bounds the wait for a PUBACK or SUBACK.
const ackWait = 30 * time.Second

// up runs after c has connected: subscribe to cmd, then the firmware's online
// status and what it kept, each acknowledged before the next; then live traffic.
func (l *Link) up(c mqtt.Client) {
	if !l.current(c) {
		return
	}
	l.mu.Lock()
	l.gen++
	gen := l.gen
	l.mu.Unlock()
	l.stats.connects.Add(1)
	sub := c.Subscribe(protocol.DeviceTopic(l.fw.ID(), protocol.KindCmd), 1, nil)
	if !sub.WaitTimeout(ackWait) || sub.Error() != nil {
		l.log.Warn("subscribing to cmd failed", "err", sub.Error())
	}
	msgs := l.fw.Up(l.o.Clock.Now())
	for i, m := range msgs {
		if !l.publishWait(c, m) {
			l.fw.Keep(msgs[i:])
			return
		}
		if m.Replay {
			l.stats.replayed.Add(1)
		}
	}
	l.mu.Lock()
	l.ready = l.client == c && l.gen == gen && c.IsConnectionOpen()
	l.mu.Unlock()
	l.log.Info("online", "replayed", len(msgs)-1)
	l.Flush()
}

// publishWait publishes m and waits for its PUBACK.
func (l *Link) publishWait(c mqtt.Client, m device.Message) bool {
	l.stats.published.Add(1)
	tok := c.Publish(m.Topic(), 1, m.Retained, m.Payload)
	if !tok.WaitTimeout(ackWait) || tok.Error() != nil {
		l.stats.failed.Add(1)
		return false
	}
	l.stats.acked.Add(1)
	return true
}

// Flush publishes what the firmware has made since, once the device is online;
// messages not acknowledged go back to the firmware, which sends them again after
// the next connect.
func (l *Link) Flush() {
	l.mu.Lock()
	c, ready := l.client, l.ready
	l.mu.Unlock()
	if !ready {
		return
	}
	msgs := l.fw.Take()
	if len(msgs) == 0 {
		return
	}
	toks := make([]mqtt.Token, len(msgs))
	for i, m := range msgs {
		toks[i] = c.Publish(m.Topic(), 1, m.Retained, m.Payload)
	}
	l.stats.published.Add(int64(len(msgs)))
	l.wg.Go(func() { l.await(msgs, toks) })
}

// await waits for the acknowledgements of msgs and gives back those that failed.
func (l *Link) await(msgs []device.Message, toks []mqtt.Token) {
	var failed []device.Message
	for i, tok := range toks {
		if !tok.WaitTimeout(ackWait) || tok.Error() != nil {
			failed = append(failed, msgs[i])
			continue
		}
		l.stats.acked.Add(1)
	}
	if len(failed) > 0 {
		l.stats.failed.Add(int64(len(failed)))
		l.fw.Keep(failed)
	}
}

// Cut takes the device's signal away: the connection drops without a DISCONNECT
// (the broker publishes the Last Will) and no reconnection succeeds until Restore.
func (l *Link) Cut() {
	l.noSignal.Store(true)
	l.drop()
}

// Restore gives the signal back: the next reconnection attempt (within
// Options.Retry) succeeds, and the device says it is online and replays.
func (l *Link) Restore() { l.noSignal.Store(false) }

// Offline reports whether the device's signal is cut.
func (l *Link) Offline() bool { return l.noSignal.Load() }

// drop ends the socket as a lost network does.
func (l *Link) drop() {
	l.mu.Lock()
	nc := l.nc
	l.mu.Unlock()
	if dc, ok := nc.(interface{ Drop() }); ok {
		dc.Drop()
	} else if nc != nil {
		nc.Close()
	}
}

// Reboot power-cycles the device: the connection drops without a DISCONNECT, the
// firmware restarts (its seq continues from flash, its RAM is lost) and a new
// client connects with the same persistent session.
func (l *Link) Reboot(ctx context.Context) error {
	l.noSignal.Store(true)
	l.mu.Lock()
	old := l.client
	l.client, l.ready = nil, false
	l.mu.Unlock()
	l.drop()
	if old != nil {
		old.Disconnect(0)
	}
	l.fw.Down()
	l.fw.Reboot(l.o.Clock.Now())
	l.noSignal.Store(false)
	return l.Connect(ctx)
}

// Close says goodbye as firmware does before a planned power-off (a retained
// offline status, so the gateway does not wait for a Last Will that never comes),
// disconnects, and waits (bounded) for outstanding acknowledgements.
func (l *Link) Close() {
	l.mu.Lock()
	c, ready := l.client, l.ready
	l.client, l.ready = nil, false
	l.mu.Unlock()
	if c == nil {
		return
	}
	if ready {
		l.publishWait(c, l.fw.Goodbye(l.o.Clock.Now()))
	}
	c.Disconnect(250)
	done := make(chan struct{})
	go func() { l.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
	}
}

// Ready reports whether the device is online with its replay done.
func (l *Link) Ready() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.ready
}
