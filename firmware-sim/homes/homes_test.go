package homes

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"carebed/firmware-sim/fleet"
	"carebed/firmware-sim/population"
	"carebed/firmware-sim/scenario"
	"carebed/firmware-sim/simclock"
	"carebed/gateway/protocol"
)

// t0 is 21:00 Xinjiang time.
var t0 = time.Date(2026, 1, 15, 15, 0, 0, 0, time.UTC)

// ledger is n generated homes (pendant h0000N-sos, fall sensor h0000N-fall, bed
// sensor h0000N-bed in home H-0000N) and a smoke detector in the first.
func ledger(t *testing.T, n int) []fleet.LedgerDevice {
	t.Helper()
	var b bytes.Buffer
	if err := population.Write(&b, n, 1); err != nil {
		t.Fatal(err)
	}
	devs, err := fleet.ReadLedger(&b)
	if err != nil {
		t.Fatal(err)
	}
	return append(devs, fleet.LedgerDevice{ID: "h00001-smoke", Kind: "smoke_detector", Home: "H-00001", Village: devs[0].Village})
}

func parse(t *testing.T, yml string) scenario.Scenario {
	t.Helper()
	s, err := scenario.Parse([]byte(yml))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestDoWithoutBroker checks which device does each step, without connecting.
func TestDoWithoutBroker(t *testing.T) {
	clk := simclock.NewManual(t0)
	h, err := New(Options{Broker: "tcp://127.0.0.1:1", Ledger: ledger(t, 2), Clock: clk, Every: time.Minute,
		Scenario: parse(t, "devices: {sos_cancel_window: 20s}\n")})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		step          scenario.Step
		advance       time.Duration
		device, typ   string
		seq, errMatch string
	}{
		{scenario.Step{Home: "H-00001", Do: "sos"}, 0, "h00001-sos", "sos", "seq", ""},
		{scenario.Step{Home: "H-00001", Do: scenario.SOSCancel}, 15 * time.Second, "h00001-sos", "sos_cancel", "seq", ""},
		{scenario.Step{Home: "H-00001", Do: "sos"}, time.Minute, "h00001-sos", "sos", "seq", ""},
		{scenario.Step{Home: "H-00001", Do: scenario.SOSCancel}, 25 * time.Second, "h00001-sos", "sos", "seq", ""}, // after the window: a new SOS
		{scenario.Step{Home: "H-00002", Do: "fall", Kind: "fall-backward"}, time.Minute, "h00002-fall", "fall", "seq", ""},
		{scenario.Step{Home: "H-00002", Do: scenario.FallCancel}, 5 * time.Second, "h00002-fall", "fall_cancel", "seq", ""},
		{scenario.Step{Home: "H-00002", Do: scenario.FallCancel}, 5 * time.Second, "h00002-fall", "fall_cancel", "none", ""},
		{scenario.Step{Home: "H-00002", Do: "high_hr", For: 10 * time.Minute}, 0, "h00002-bed", "high_hr", "none", ""},
		{scenario.Step{Home: "H-00001", Do: "smoke"}, 0, "h00001-smoke", "smoke", "seq", ""},
		{scenario.Step{Home: "H-00002", Do: "smoke"}, 0, "", "smoke", "none", "has no smoke_detector"},
		{scenario.Step{Home: "H-00009", Do: "sos"}, 0, "", "sos", "none", "has no sos_pendant"},
		{scenario.Step{Village: "nowhere", Do: "power_cut", For: time.Minute}, 0, "0 devices", "power_cut", "none", "has no devices"},
		{scenario.Step{Home: "H-00002", Do: "offline", For: time.Minute}, 0, "3 devices", "offline", "none", ""},
	}
	for _, c := range cases {
		clk.Advance(c.advance)
		got := h.Do(c.step)
		if got.Device != c.device || got.Type != c.typ || (got.Seq > 0) != (c.seq == "seq") ||
			(c.errMatch == "") != (got.Err == nil) || got.Err != nil && !strings.Contains(got.Err.Error(), c.errMatch) {
			t.Errorf("%s %s: %+v", c.step.Home+c.step.Village, c.step.Do, got)
		}
	}
	if !h.Link("h00002-bed").Offline() || h.Link("h00001-bed").Offline() {
		t.Error("offline cut the wrong home")
	}
}

func TestNewRejects(t *testing.T) {
	if _, err := New(Options{Broker: "tcp://127.0.0.1:1"}); err == nil {
		t.Error("an empty ledger was accepted")
	}
	l := ledger(t, 1)
	if _, err := New(Options{Broker: "tcp://127.0.0.1:1", Ledger: append(l, l[0])}); err == nil {
		t.Error("a device twice was accepted")
	}
	if _, err := New(Options{Broker: "http://127.0.0.1:1", Ledger: l}); err == nil {
		t.Error("an http broker was accepted")
	}
}

// eventsOf keeps the events of the types given.
func eventsOf(evs []protocol.Event, types ...protocol.EventType) []protocol.Event {
	var out []protocol.Event
	for _, e := range evs {
		for _, typ := range types {
			if e.Type == typ {
				out = append(out, e)
			}
		}
	}
	return out
}
