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
	stamp := points.Stamp{Received: m.Received, LateAfter: h.o.LateAfter}
	marked := len(b.keys)
	var fresh bool
	switch kind {
	case protocol.KindTelemetry:
		fresh = h.freshReadings(b, tags.Device, &msg.Telemetry, stamp)
	case protocol.KindEvent:
		fresh = h.freshSingle(b, tags.Device, kind, msg.Event.Seq, msg.Event.TS, stamp)
	case protocol.KindStatus:
		fresh = h.freshSingle(b, tags.Device, kind, msg.Status.Seq, msg.Status.TS, stamp)
	}
	if !fresh {
		r := resultDuplicate
		if kind == protocol.KindEvent && (m.Copy || h.copies.took(tags.Device, msg.Event.Seq)) {
			r = resultCopy
		}
		b.results = append(b.results, result{kind, r})
		return
	}
	// Only what is new counts against the device's limits: a redelivery after a
	// reconnect takes no tokens. A refused message is forgotten by the duplicate
	// filter, so its redelivery is taken once the buckets refill.
	if limited, n := limitedCost(&msg); limited {
		if which := h.dedup.allow(tags.Device, m.Received, n); which != "" {
			h.forget(b.keys[marked:])
			b.keys = b.keys[:marked]
			h.reject(b, m, kind, ReasonRateLimited, rateLimitedError{tags.Device, which, h.o.DeviceLimit})
			return
		}
	}
	if m.Copy && kind == protocol.KindEvent {
		h.copies.add(tags.Device, msg.Event.Seq)
	}
	switch kind {
	case protocol.KindTelemetry:
		b.buf = points.AppendRecordHeader(b.buf, tags.Device, b.seqs(marked)...)
		b.buf = points.AppendTelemetry(b.buf, tags, msg.Telemetry, stamp)
	case protocol.KindEvent:
		b.buf = points.AppendRecordHeader(b.buf, tags.Device, b.seqs(marked)...)
		b.buf = points.AppendEvent(b.buf, tags, msg.Event, stamp)
	case protocol.KindStatus:
		b.buf = points.AppendRecordHeader(b.buf, tags.Device, b.seqs(marked)...)
		b.buf = points.AppendStatus(b.buf, tags, msg.Status, stamp)
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

// freshSingle marks the seq of a one-seq message in the duplicate filter and
// reports whether it is new. A status message may have no seq (the Last Will): it
// is never a duplicate.
func (h *Handler) freshSingle(b *batch, device string, kind protocol.Kind, seq uint64, ts int64, s points.Stamp) bool {
	if seq == 0 {
		return true
	}
	mk := h.dedup.mark(device, seq)
	if !mk.fresh() {
		return false
	}
	if mk == markReset {
		h.seqReset(device, seq, 1)
	}
	b.keys = append(b.keys, seqKey{device, seq})
	if _, late := s.Delay(ts); late {
		h.o.Metrics.late.WithLabelValues(string(kind)).Inc()
	}
	return true
}

// freshReadings marks the readings' seqs in the duplicate filter, keeps only those
// not seen before (in place: the decoded message is ours) and reports whether any is.
func (h *Handler) freshReadings(b *batch, device string, tel *protocol.Telemetry, s points.Stamp) bool {
	n, resets := 0, 0
	for _, r := range tel.Readings {
		mk := h.dedup.mark(device, r.Seq)
		if !mk.fresh() {
			continue
		}
		if mk == markReset {
			resets++
		}
		tel.Readings[n] = r
		n++
		b.keys = append(b.keys, seqKey{device, r.Seq})
		if _, late := s.Delay(r.TS); late {
			h.o.Metrics.late.WithLabelValues(string(protocol.KindTelemetry)).Inc()
		}
	}
	if resets > 0 {
		h.seqReset(device, tel.Readings[n-1].Seq, resets)
	}
	tel.Readings = tel.Readings[:n]
	return n > 0
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

// reject counts the message under reason and writes it to the dead-letter log; a
// Copy leaves both to the other copy.
func (h *Handler) reject(b *batch, m *Message, kind protocol.Kind, reason protocol.Reason, err error) {
	if m.Copy {
		b.results = append(b.results, result{kind, resultCopy})
		return
	}
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
