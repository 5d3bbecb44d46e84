package device

import (
	"time"

	"carebed/gateway/protocol"
)

// Up is called once the device has connected (and subscribed to its cmd topic). It
// returns what the firmware publishes then, in protocol order: its online status
// (retained), the events it kept while offline, oldest first, then the readings it
// kept, as batches. A device without a clock drops its kept readings instead (the
// gateway would store them at the time of arrival). From now on new messages wait
// in the outbox for Take.
func (f *Firmware) Up(now time.Time) []Message {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.connected = true
	st := protocol.Status{Seq: f.seq.Next(), TS: f.ts(now), Online: true, FW: f.c.FW, HeartbeatS: f.heartbeatS(), Fix: f.lastFix(now)}
	out := []Message{{Device: f.c.ID, Kind: protocol.KindStatus, Retained: true, Payload: protocol.EncodeStatus(st), Seqs: []uint64{st.Seq}}}
	events, readings := f.buf.take()
	for _, e := range events {
		out = append(out, eventMessage(f.c.ID, e, true))
	}
	if f.c.Clock.None {
		f.buf.dropped += len(readings)
		readings = nil
	}
	for _, b := range Batches(readings) {
		out = append(out, batchMessage(f.c.ID, b))
	}
	return out
}

// Down is called when the connection is lost: messages not yet taken, and from now
// on every new one, go to the buffer.
func (f *Firmware) Down() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.connected = false
	for _, m := range f.out {
		f.keep(m)
	}
	f.out = nil
}

// Take returns the messages to publish now and empties the outbox.
func (f *Firmware) Take() []Message {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := f.out
	f.out = nil
	return out
}

// Keep gives back messages whose publish was not acknowledged: they are kept and
// sent again, with their seq, after the next connect. A status is not kept: the
// next connect says it anew. Nor is what was in RAM before a reboot.
func (f *Firmware) Keep(ms []Message) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, m := range ms {
		switch {
		case m.Kind == protocol.KindStatus:
		case m.boot != f.reboots && m.event == nil:
			f.buf.dropped++
		default:
			f.keep(m)
		}
	}
}

// Goodbye is the retained offline status a device publishes before a planned
// disconnect (the broker sends the Last Will only when a connection is lost).
func (f *Firmware) Goodbye(now time.Time) Message {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.connected = false
	st := protocol.Status{Seq: f.seq.Next(), TS: f.ts(now)}
	return Message{Device: f.c.ID, Kind: protocol.KindStatus, Retained: true, Payload: protocol.EncodeStatus(st), Seqs: []uint64{st.Seq}}
}

// Reboot restarts the firmware at now: what was in RAM (the outbox, the readings
// kept) is lost, the seq continues from its flash reservation, events kept in
// flash stay. The device is disconnected until Up.
func (f *Firmware) Reboot(now time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seq.Reboot()
	f.connected = false
	f.buf.dropped += len(f.buf.readings)
	f.buf.readings = nil
	for _, m := range f.out {
		if m.event != nil {
			f.buf.addEvent(*m.event)
		}
	}
	f.out = nil
	f.reboots++
	f.log.Info("rebooted", "at", now, "next_seq", f.seq.Peek())
}

// Stats is a device's state for summaries and tests.
type Stats struct {
	NextSeq                  uint64
	Connected                bool
	KeptReadings, KeptEvents int
	Dropped                  int // readings and events lost to a full buffer, a reboot, or a missing clock
	Battery                  float64
	Reboots                  int
}

// Stats returns the device's state.
func (f *Firmware) Stats() Stats {
	f.mu.Lock()
	defer f.mu.Unlock()
	return Stats{NextSeq: f.seq.Peek(), Connected: f.connected, KeptReadings: len(f.buf.readings),
		KeptEvents: len(f.buf.events), Dropped: f.buf.dropped, Battery: f.battery, Reboots: f.reboots}
}
