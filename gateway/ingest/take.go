package ingest

import (
	"carebed/gateway/deadletter"
	"carebed/gateway/points"
	"carebed/gateway/protocol"
)

// take decodes one message and adds its record, rejection or duplicate to b.
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
	var rec []byte
	switch kind {
	case protocol.KindTelemetry:
		rec = h.telemetry(b, tags, msg.Telemetry, stamp)
	case protocol.KindEvent:
		rec = h.single(b, tags, msg.Event.Seq, msg.Event.TS, stamp, func(dst []byte) []byte {
			return points.AppendEvent(dst, tags, msg.Event, stamp)
		})
	case protocol.KindStatus:
		rec = h.single(b, tags, msg.Status.Seq, msg.Status.TS, stamp, func(dst []byte) []byte {
			return points.AppendStatus(dst, tags, msg.Status, stamp)
		})
	}
	if rec == nil {
		b.results = append(b.results, result{kind, "duplicate"})
		return
	}
	b.recs = append(b.recs, rec)
	b.results = append(b.results, result{kind, "stored"})
}

// single builds the record of a one-seq message, or nil for a duplicate. A status
// message may have no seq (the Last Will): it is never a duplicate.
func (h *Handler) single(b *batch, t points.Tags, seq uint64, ts int64, s points.Stamp, lines func([]byte) []byte) []byte {
	hasSeq := seq != 0
	if hasSeq && !h.dedup.mark(t.Device, seq) {
		return nil
	}
	if hasSeq {
		b.keys = append(b.keys, seqKey{t.Device, seq})
	}
	if _, late := s.Delay(ts); late {
		h.o.Metrics.late.WithLabelValues("single").Inc()
	}
	rec := make([]byte, 0, 320)
	if hasSeq {
		rec = points.AppendRecordHeader(rec, t.Device, seq)
	} else {
		rec = points.AppendRecordHeader(rec, t.Device)
	}
	return lines(rec)
}

// telemetry builds the record of the readings not seen before, or nil if none is new.
func (h *Handler) telemetry(b *batch, t points.Tags, tel protocol.Telemetry, s points.Stamp) []byte {
	fresh := tel.Readings[:0:0]
	seqs := make([]uint64, 0, len(tel.Readings))
	for _, r := range tel.Readings {
		if !h.dedup.mark(t.Device, r.Seq) {
			continue
		}
		b.keys = append(b.keys, seqKey{t.Device, r.Seq})
		fresh = append(fresh, r)
		seqs = append(seqs, r.Seq)
		if _, late := s.Delay(r.TS); late {
			h.o.Metrics.late.WithLabelValues("telemetry").Inc()
		}
	}
	if len(fresh) == 0 {
		return nil
	}
	rec := make([]byte, 0, 64+256*len(fresh))
	rec = points.AppendRecordHeader(rec, t.Device, seqs...)
	return points.AppendTelemetry(rec, t, protocol.Telemetry{Readings: fresh, Batch: tel.Batch}, s)
}

// reject counts the message under reason and writes it to the dead-letter log.
func (h *Handler) reject(b *batch, m *Message, kind protocol.Kind, reason protocol.Reason, err error) {
	if kind == "" {
		kind = "unknown"
	}
	b.results = append(b.results, result{kind, "rejected"})
	h.o.Metrics.rejects.WithLabelValues(string(reason)).Inc()
	e := deadletter.NewEntry(m.Received, m.Topic, string(reason), err, m.Payload)
	if werr := h.o.DeadLetters.Write(e); werr != nil {
		h.warn.report("dead-letter log write failed; the rejection is still counted", werr)
	}
}

type unknownDeviceError string

func (e unknownDeviceError) Error() string {
	return string(ReasonUnknownDevice) + ": device " + string(e) + " is not in the registry"
}

func errUnknownDevice(device string) error { return unknownDeviceError(device) }
