package ingest

import (
	"strings"
	"time"

	"carebed/gateway/deadletter"
	"carebed/gateway/points"
	"carebed/gateway/protocol"
)

// take decodes one message and adds its record (to b.buf), rejection or duplicate to b.
func (h *Handler) take(b *batch, m *Message) {
	msg, err := protocol.Decode(m.Topic, m.Payload)
	kind := msg.Topic.Kind
	if err != nil {
		h.reject(b, m, kind, protocol.ReasonOf(err), err)
		return
	}
	tags, ok := h.o.Directory.Lookup(msg.Topic.Device)
	if !ok {
		h.reject(b, m, kind, ReasonUnknownDevice, errUnknownDevice(msg.Topic.Device))
		return
	}
	if limited, n := limitedCost(&msg); limited {
		if which := h.dedup.allow(tags.Device, m.Received, n); which != "" {
			h.reject(b, m, kind, ReasonRateLimited, rateLimitedError{tags.Device, which, h.o.DeviceLimit})
			return
		}
	}
	stamp := points.Stamp{Received: m.Received, LateAfter: h.o.LateAfter}
	var fresh bool
	switch kind {
	case protocol.KindTelemetry:
		fresh = h.telemetry(b, tags, &msg.Telemetry, stamp)
	case protocol.KindEvent:
		if fresh = h.single(b, tags, kind, msg.Event.Seq, msg.Event.TS, stamp); fresh {
			b.buf = points.AppendEvent(b.buf, tags, msg.Event, stamp)
		}
	case protocol.KindStatus:
		if fresh = h.single(b, tags, kind, msg.Status.Seq, msg.Status.TS, stamp); fresh {
			b.buf = points.AppendStatus(b.buf, tags, msg.Status, stamp)
		}
	}
	if !fresh {
		b.results = append(b.results, result{kind, resultDuplicate})
		return
	}
	b.buf = points.AppendPositions(b.buf, tags, msg, stamp)
	b.ends = append(b.ends, len(b.buf))
	b.results = append(b.results, result{kind, resultStored})
	h.fixes(tags.Device, &msg, m.Received)
	if kind == protocol.KindEvent && len(msg.Event.Unknown) > 0 {
		h.acceptedUnknown(m, msg.Event)
	}
	if n := dropInvalidTS(&msg); n > 0 {
		h.o.Metrics.invalidTS.WithLabelValues(string(kind)).Add(float64(n))
	}
	if h.o.Observer != nil {
		b.observed = append(b.observed, observed{msg: msg, tags: tags, stamp: stamp})
	}
}

// single starts the record of a one-seq message, or reports a duplicate. A status
// message may have no seq (the Last Will): it is never a duplicate.
func (h *Handler) single(b *batch, t points.Tags, kind protocol.Kind, seq uint64, ts int64, s points.Stamp) bool {
	if seq == 0 {
		b.buf = points.AppendRecordHeader(b.buf, t.Device)
		return true
	}
	mk := h.dedup.mark(t.Device, seq)
	if !mk.fresh() {
		return false
	}
	if mk == markReset {
		h.seqReset(t.Device, seq, 1)
	}
	b.keys = append(b.keys, seqKey{t.Device, seq})
	if _, late := s.Delay(ts); late {
		h.o.Metrics.late.WithLabelValues(string(kind)).Inc()
	}
	b.buf = points.AppendRecordHeader(b.buf, t.Device, seq)
	return true
}

// telemetry writes the record of the readings not seen before, or reports that none
// is new.
func (h *Handler) telemetry(b *batch, t points.Tags, tel *protocol.Telemetry, s points.Stamp) bool {
	var seqBuf [32]uint64
	seqs := seqBuf[:0]
	n, resets := 0, 0
	for _, r := range tel.Readings {
		mk := h.dedup.mark(t.Device, r.Seq)
		if !mk.fresh() {
			continue
		}
		if mk == markReset {
			resets++
		}
		tel.Readings[n] = r // filter in place: the decoded message is ours
		n++
		b.keys = append(b.keys, seqKey{t.Device, r.Seq})
		seqs = append(seqs, r.Seq)
		if _, late := s.Delay(r.TS); late {
			h.o.Metrics.late.WithLabelValues(string(protocol.KindTelemetry)).Inc()
		}
	}
	if resets > 0 {
		h.seqReset(t.Device, tel.Readings[n-1].Seq, resets)
	}
	if n == 0 {
		return false
	}
	tel.Readings = tel.Readings[:n]
	b.buf = points.AppendRecordHeader(b.buf, t.Device, seqs...)
	b.buf = points.AppendTelemetry(b.buf, t, *tel, s)
	return true
}

// dropInvalidTS sets every ts of m past protocol.MaxTS to 0 (no clock), once its points
// are written (flagged ts_invalid, at the arrival time), so the alert rules too take
// the arrival time: an SOS from a device whose clock says 2300 still pages, now. It
// returns how many it changed.
func dropInvalidTS(m *protocol.Message) int {
	n := 0
	fix := func(ts *int64) {
		if points.InvalidTS(*ts) {
			*ts = 0
			n++
		}
	}
	switch m.Topic.Kind {
	case protocol.KindTelemetry:
		for i := range m.Telemetry.Readings {
			fix(&m.Telemetry.Readings[i].TS)
		}
	case protocol.KindEvent:
		fix(&m.Event.TS)
	case protocol.KindStatus:
		fix(&m.Status.TS)
	}
	return n
}

// seqReset counts n resets of device's duplicate filter and logs the message's last
// one: a seq more than protocol.MaxSeqJump from the one before (see dedup).
func (h *Handler) seqReset(device string, seq uint64, n int) {
	h.o.Metrics.seqResets.Add(float64(n))
	h.log.Warn("seq far from the device's last one: duplicate filter reset to it; check the device's counter",
		"device", device, "seq", seq, "resets", n)
}

// reject counts the message under reason and writes it to the dead-letter log.
func (h *Handler) reject(b *batch, m *Message, kind protocol.Kind, reason protocol.Reason, err error) {
	if kind == "" {
		kind = "unknown"
	}
	b.results = append(b.results, result{kind, resultRejected})
	h.o.Metrics.rejects.WithLabelValues(string(reason)).Inc()
	e := deadletter.NewEntry(m.Received, m.Topic, string(reason), err, redactLocation(m.Payload))
	if werr := h.o.DeadLetters.Write(e); werr != nil {
		h.warn.report("dead-letter log write failed; the rejection is still counted", werr)
	}
}

// fixes counts the positions dropped from m and hands the ones kept to the position
// tracker. Positions are never logged.
func (h *Handler) fixes(device string, m *protocol.Message, received time.Time) {
	drop := func(p protocol.FixProblem) {
		if p != "" {
			h.o.Metrics.fixDropped.WithLabelValues(string(p)).Inc()
		}
	}
	switch m.Topic.Kind {
	case protocol.KindTelemetry:
		for i := range m.Telemetry.Readings {
			drop(m.Telemetry.Readings[i].FixDropped)
		}
	case protocol.KindEvent:
		drop(m.Event.FixDropped)
	case protocol.KindStatus:
		drop(m.Status.FixDropped)
	}
	if h.o.Positions != nil {
		h.o.Positions.Message(device, *m, received)
	}
}

// acceptedUnknown counts the unknown fields of an alarm event that was taken anyway
// and keeps the message in the dead-letter log as a warning, so the firmware vendor
// learns of the field while the alarm still pages.
func (h *Handler) acceptedUnknown(m *Message, e protocol.Event) {
	for _, f := range e.Unknown {
		h.o.Metrics.unknown.WithLabelValues(h.o.Metrics.fieldLabels.label(f)).Inc()
	}
	err := unknownFieldsWarning{e.Type, e.Unknown}
	entry := deadletter.NewEntry(m.Received, m.Topic, string(protocol.ReasonUnknownField), err, redactLocation(m.Payload))
	entry.Level = deadletter.LevelWarning
	if werr := h.o.DeadLetters.Write(entry); werr != nil {
		h.warn.report("dead-letter log write failed; the warning is still counted", werr)
	}
}

type unknownFieldsWarning struct {
	typ    protocol.EventType
	fields []string
}

func (w unknownFieldsWarning) Error() string {
	return "accepted: " + string(w.typ) + " event with field(s) protocol v1 does not define: " +
		strings.Join(w.fields, ", ") + "; the alarm was raised, the field(s) ignored"
}

type unknownDeviceError string

func (e unknownDeviceError) Error() string {
	return string(ReasonUnknownDevice) + ": device " + string(e) + " is not in the registry"
}

func errUnknownDevice(device string) error { return unknownDeviceError(device) }
