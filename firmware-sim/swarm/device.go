package swarm

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"carebed/firmware-sim/device"
	"carebed/gateway/protocol"
)

// Device is a simulated device (package device's firmware model) on a swarm
// connection, kept as package link keeps one on paho: after connecting it publishes
// its online status and then what it kept while offline (events, then readings as
// protocol batches), each acknowledged before the next; later messages go out with
// Flush.
type Device struct {
	Model    device.Model
	Password string

	mu   sync.Mutex
	conn *Conn
	// Acked counts the readings the broker acknowledged, replayed or live.
	acked atomic.Int64
}

// Conn is the device's current connection (nil when offline).
func (dv *Device) Conn() *Conn {
	dv.mu.Lock()
	defer dv.mu.Unlock()
	return dv.conn
}

// AckedReadings is how many of its readings the broker acknowledged so far.
func (dv *Device) AckedReadings() int64 { return dv.acked.Load() }

// Up connects with back-off (Dialer.Connect) and publishes the firmware's Up
// messages at now, each acknowledged before the next. It returns how many
// replayed readings were acknowledged. On failure the messages not acknowledged go
// back to the firmware, which sends them again after the next Up.
func (dv *Device) Up(ctx context.Context, d *Dialer, now time.Time) (int, error) {
	fw := dv.Model.Core()
	c, err := d.Connect(ctx, fw.ID(), dv.Password)
	if err != nil {
		return 0, err
	}
	dv.mu.Lock()
	dv.conn = c
	dv.mu.Unlock()
	msgs := fw.Up(now)
	replayed := 0
	for i, m := range msgs {
		if err := c.PublishWait(ctx, m.Topic(), m.Payload, m.Retained); err != nil {
			fw.Keep(msgs[i:])
			c.Drop()
			fw.Down()
			return replayed, err
		}
		if m.Kind == protocol.KindTelemetry {
			dv.acked.Add(int64(len(m.Seqs)))
			replayed += len(m.Seqs)
		}
	}
	return replayed, nil
}

// Cut drops the connection without DISCONNECT, as a power cut does; the firmware
// keeps what it makes until the next Up.
func (dv *Device) Cut() {
	dv.mu.Lock()
	c := dv.conn
	dv.conn = nil
	dv.mu.Unlock()
	if c != nil {
		c.Drop()
	}
	dv.Model.Core().Down()
}

// Flush publishes what the firmware made since (Tick, a button press) without
// waiting; done (may be nil) runs once per message with its result. Messages not
// acknowledged go back to the firmware.
func (dv *Device) Flush(done func(device.Message, error)) {
	fw := dv.Model.Core()
	c := dv.Conn()
	if c == nil {
		return
	}
	for _, m := range fw.Take() {
		err := c.Publish(m.Topic(), m.Payload, m.Retained, func(err error) {
			if err != nil {
				fw.Keep([]device.Message{m})
			} else if m.Kind == protocol.KindTelemetry {
				dv.acked.Add(int64(len(m.Seqs)))
			}
			if done != nil {
				done(m, err)
			}
		})
		if err != nil {
			fw.Keep([]device.Message{m})
			if done != nil {
				done(m, err)
			}
		}
	}
}

// StormReport is what Storm saw.
type StormReport struct {
	// Up is how many devices connected and replayed everything; Failed how many
	// did not before the context ended.
	Up, Failed int
	// Readings is how many replayed readings the broker acknowledged.
	Readings int64
	// Last is when the last device finished its replay.
	Last time.Time
	// Err is one of the failures.
	Err error
}

// Storm brings devs back after an outage, as a township's devices come back when
// the power and the mobile cell return: each starts at a random moment within
// spread (modems register one after another), connects with back-off (a broker
// that turns connections away is tried again later), and replays what it kept. now
// gives the device time of the replay's status. It returns when every device is up
// or ctx ends.
func Storm(ctx context.Context, d *Dialer, devs []*Device, spread time.Duration, now func() time.Time) StormReport {
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		rep     StormReport
		started = time.Now()
	)
	for _, dv := range devs {
		at := time.Duration(0)
		if spread > 0 {
			at = rand.N(spread)
		}
		wg.Go(func() {
			t := time.NewTimer(time.Until(started.Add(at)))
			select {
			case <-ctx.Done():
				t.Stop()
				mu.Lock()
				rep.Failed++
				rep.Err = ctx.Err()
				mu.Unlock()
				return
			case <-t.C:
			}
			n, err := dv.Up(ctx, d, now())
			for err != nil && ctx.Err() == nil && !errors.Is(err, context.Canceled) {
				n, err = dv.Up(ctx, d, now()) // lost during the replay: again, as firmware does
			}
			mu.Lock()
			defer mu.Unlock()
			rep.Readings += int64(n)
			if err != nil {
				rep.Failed++
				rep.Err = err
				return
			}
			rep.Up++
			if t := time.Now(); t.After(rep.Last) {
				rep.Last = t
			}
		})
	}
	wg.Wait()
	return rep
}
