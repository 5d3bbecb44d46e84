package device

import (
	"testing"
	"time"

	"carebed/gateway/protocol"
)

func TestVisitTap(t *testing.T) {
	p := NewPendant(cfg("sos-0001", "sos_pendant"), 0)
	connected(t, p)
	at := t0.Add(time.Minute)
	seq := p.Visit(at)
	ev := events(decodeAll(t, p.Take()))
	if len(ev) != 1 || ev[0].Type != protocol.EventVisit || ev[0].Seq != seq || ev[0].TS != at.UnixMilli() {
		t.Fatalf("sent %+v, want one visit event at %v with seq %d", ev, at, seq)
	}
}
