package device

import (
	"hash/fnv"
	"math"
	"time"

	"carebed/gateway/protocol"
)

// Message is one publish of a device, QoS 1.
type Message struct {
	Device   string
	Kind     protocol.Kind
	Retained bool
	Payload  []byte
	// Seqs are the seqs the message carries: one, or a batch's, in order; none
	// for a status without seq.
	Seqs []uint64
	// Replay marks an event or a batch kept while offline and sent after it.
	Replay bool

	boot    int // the firmware's reboot count when it was made
	reading *protocol.Reading
	event   *protocol.Event
	batch   []protocol.Reading
}

// Topic is the message's topic.
func (m Message) Topic() string { return protocol.DeviceTopic(m.Device, m.Kind) }

// Batch reports whether the message is a telemetry batch.
func (m Message) Batch() bool { return m.batch != nil }

// reading makes a reading taken at t with battery and, when the device can reach
// the network, the signal strength; fill adds what the device senses.
func (f *Firmware) reading(t time.Time, fill func(*protocol.Reading, time.Time)) {
	f.drain(t)
	batt := math.Round(f.battery*10) / 10
	r := protocol.Reading{Seq: f.seq.Next(), TS: f.ts(t), Battery: &batt}
	if f.connected {
		rssi := math.Round(min(-30, max(-120, f.c.RSSI+3*f.rng.NormFloat64())))
		r.RSSI = &rssi
	}
	if fill != nil {
		fill(&r, t)
	}
	if r.Fix == nil {
		r.Fix = f.freshFix(t)
	}
	f.emit(Message{Device: f.c.ID, Kind: protocol.KindTelemetry, Payload: protocol.EncodeReading(r), Seqs: []uint64{r.Seq}, reading: &r})
}

// event makes an event that happened at t and returns its seq.
func (f *Firmware) event(t time.Time, typ protocol.EventType, confidence *float64, cancels uint64) uint64 {
	f.drain(t)
	e := protocol.Event{Seq: f.seq.Next(), TS: f.ts(t), Type: typ, Confidence: confidence}
	if typ.IsCancel() {
		e.Cancels = cancels
	}
	if typ == protocol.EventSOS || typ == protocol.EventFall {
		e.Fix = f.lastFix(t) // the last fix the device has, however old
	}
	f.emit(eventMessage(f.c.ID, e, false))
	f.log.Info("event", "type", typ, "seq", e.Seq, "connected", f.connected)
	return e.Seq
}

func eventMessage(device string, e protocol.Event, replay bool) Message {
	return Message{Device: device, Kind: protocol.KindEvent, Payload: protocol.EncodeEvent(e), Seqs: []uint64{e.Seq}, Replay: replay, event: &e}
}

func batchMessage(device string, rs []protocol.Reading) Message {
	seqs := make([]uint64, len(rs))
	for i, r := range rs {
		seqs[i] = r.Seq
	}
	return Message{Device: device, Kind: protocol.KindTelemetry, Payload: protocol.EncodeBatch(rs), Seqs: seqs, Replay: true, batch: rs}
}

// reports makes the periodic readings due by now.
func (f *Firmware) reports(now time.Time, fill func(*protocol.Reading, time.Time)) {
	for !f.next.After(now) {
		f.reading(f.next, fill)
		f.next = f.next.Add(f.c.Every)
	}
}

// drain runs the battery down to the time t; crossing the low mark sends low_battery.
func (f *Firmware) drain(t time.Time) {
	if t.After(f.drainedAt) {
		f.battery = max(0, f.battery-f.c.DrainPerDay*t.Sub(f.drainedAt).Hours()/24)
		f.drainedAt = t
	}
	if f.battery <= lowBatteryAt && !f.lowSent {
		f.lowSent = true
		f.event(t, protocol.EventLowBattery, nil, 0)
	}
}

// Raise reports an event the device detected at now (smoke, gas, water_leak,
// tamper, ...) and returns its seq.
func (f *Firmware) Raise(now time.Time, typ protocol.EventType) uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.event(now, typ, nil, 0)
}

// hash turns a device id into a seed.
func hash(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return h.Sum64()
}
