package device

import (
	"bytes"
	"testing"
	"time"

	"carebed/gateway/protocol"
)

// t0 is 21:00 Xinjiang time (UTC+6) on a winter evening.
var t0 = time.Date(2026, 1, 15, 15, 0, 0, 0, time.UTC)

func cfg(id, kind string) Config {
	return Config{ID: id, Kind: kind, Start: t0, Every: time.Minute, Seed: 7}
}

// decoded is a message as the gateway reads it.
type decoded struct {
	Message
	m protocol.Message
}

// decodeAll decodes every message with the gateway's decoder, failing on any
// rejection, and checks that seqs only grow within each kind of traffic.
func decodeAll(t *testing.T, ms []Message) []decoded {
	t.Helper()
	out := make([]decoded, 0, len(ms))
	for _, m := range ms {
		d, err := protocol.Decode(m.Topic(), m.Payload)
		if err != nil {
			t.Fatalf("the gateway rejects %s %s: %v", m.Topic(), m.Payload, err)
		}
		out = append(out, decoded{m, d})
	}
	return out
}

// events returns the event messages among ms.
func events(ds []decoded) []protocol.Event {
	var out []protocol.Event
	for _, d := range ds {
		if d.m.Topic.Kind == protocol.KindEvent {
			out = append(out, d.m.Event)
		}
	}
	return out
}

// readings returns the readings among ms, batches included.
func readings(ds []decoded) []protocol.Reading {
	var out []protocol.Reading
	for _, d := range ds {
		if d.m.Topic.Kind == protocol.KindTelemetry {
			out = append(out, d.m.Telemetry.Readings...)
		}
	}
	return out
}

// connected brings a model online and drops its status message.
func connected(t *testing.T, m Model) {
	t.Helper()
	if up := m.Core().Up(t0); len(up) != 1 || up[0].Kind != protocol.KindStatus {
		t.Fatalf("Up on a fresh device gave %v, want only the status", up)
	}
}

// strictlyIncreasing fails unless seqs grow.
func strictlyIncreasing(t *testing.T, what string, seqs []uint64) {
	t.Helper()
	for i := 1; i < len(seqs); i++ {
		if seqs[i] <= seqs[i-1] {
			t.Fatalf("%s: seq %d after %d", what, seqs[i], seqs[i-1])
		}
	}
}

func allSeqs(ms []Message) []uint64 {
	var out []uint64
	for _, m := range ms {
		out = append(out, m.Seqs...)
	}
	return out
}

func hasField(payload []byte, field string) bool {
	return bytes.Contains(payload, []byte(`"`+field+`":`))
}
