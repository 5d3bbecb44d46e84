package homes

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"carebed/firmware-sim/fleet"
	"carebed/firmware-sim/scenario"
	"carebed/firmware-sim/simclock"
	"carebed/firmware-sim/smsphone"
)

// TestShippedScenariosPlay does every step of the scenarios shipped with the demo
// on the demo ledgers' device models (without a broker; the SMS-only phone texts
// a webhook that checks Twilio's signature): every home and device a step names
// exists and does it.
func TestShippedScenariosPlay(t *testing.T) {
	files, err := filepath.Glob("../../deploy/demo/*.yml")
	if err != nil || len(files) < 2 {
		t.Fatalf("shipped scenarios: %v %v", files, err)
	}
	ledgers, _ := filepath.Glob("../../deploy/demo/ledger*.csv")
	var devs []fleet.LedgerDevice
	for _, l := range ledgers {
		lf, err := os.Open(l)
		if err != nil {
			t.Fatal(err)
		}
		d, err := fleet.ReadLedger(lf)
		lf.Close()
		if err != nil {
			t.Fatal(err)
		}
		devs = append(devs, d...)
	}
	g := startSMSGateway(t)
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			b, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			sc, err := scenario.Parse(b)
			if err != nil {
				t.Fatal(err)
			}
			clk := simclock.NewManual(sc.Begin(t0))
			h, err := New(Options{Broker: "tcp://127.0.0.1:1", Ledger: devs, Scenario: sc, Clock: clk,
				SMS: smsphone.Webhook{URL: g.url(), AuthToken: smsToken}})
			if err != nil {
				t.Fatal(err)
			}
			start := clk.Now()
			for _, st := range sc.Steps() {
				clk.Set(start.Add(st.At))
				if got := h.Do(st); got.Err != nil {
					t.Errorf("%v %s%s %s: %v", st.At, st.Home, st.Village, st.Do, got.Err)
				}
			}
			clk.Set(start.Add(sc.Duration))
			for _, u := range h.units {
				u.model.Tick(clk.Now())
			}
			if sc.Duration < time.Minute {
				t.Errorf("duration %v", sc.Duration)
			}
			if _, ok := h.Model("hj-0021-sos").Core().Herd(); !ok || h.Phone("H-0021") == nil {
				t.Error("the demo's herder home H-0021 has no GPS pendant or no SMS-only phone")
			}
		})
	}
}
