package device

import (
	"testing"
	"time"

	"carebed/gateway/protocol"
)

func TestPendantPresses(t *testing.T) {
	cases := []struct {
		name   string
		window time.Duration
		gaps   []time.Duration // between presses
		want   []protocol.EventType
	}{
		{"one press", 0, nil, []protocol.EventType{protocol.EventSOS}},
		{"double press", 0, []time.Duration{10 * time.Second}, []protocol.EventType{protocol.EventSOS, protocol.EventSOSCancel}},
		{"second press just inside the window", 0, []time.Duration{30 * time.Second}, []protocol.EventType{protocol.EventSOS, protocol.EventSOSCancel}},
		{"second press after the window", 0, []time.Duration{31 * time.Second}, []protocol.EventType{protocol.EventSOS, protocol.EventSOS}},
		{"short window", 5 * time.Second, []time.Duration{10 * time.Second}, []protocol.EventType{protocol.EventSOS, protocol.EventSOS}},
		{"three presses", 0, []time.Duration{time.Second, time.Second}, []protocol.EventType{protocol.EventSOS, protocol.EventSOSCancel, protocol.EventSOS}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := NewPendant(cfg("sos-0001", "sos_pendant"), c.window)
			connected(t, p)
			at := t0.Add(time.Minute)
			p.Press(at)
			for _, g := range c.gaps {
				at = at.Add(g)
				p.Press(at)
			}
			ev := events(decodeAll(t, p.Take()))
			if len(ev) != len(c.want) {
				t.Fatalf("sent %+v, want %v", ev, c.want)
			}
			for i, e := range ev {
				if e.Type != c.want[i] {
					t.Errorf("event %d is %s, want %s", i, e.Type, c.want[i])
				}
				if e.Type == protocol.EventSOSCancel && e.Cancels != ev[i-1].Seq {
					t.Errorf("sos_cancel cancels %d, want the SOS's seq %d", e.Cancels, ev[i-1].Seq)
				}
			}
		})
	}
}
