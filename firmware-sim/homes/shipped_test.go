package homes

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"carebed/firmware-sim/fleet"
	"carebed/firmware-sim/scenario"
	"carebed/firmware-sim/simclock"
)

// TestShippedScenariosPlay does every step of the scenarios shipped with the demo
// on the demo ledger's device models (without a broker): every home and device a
// step names exists and does it.
func TestShippedScenariosPlay(t *testing.T) {
	files, err := filepath.Glob("../../deploy/demo/*.yml")
	if err != nil || len(files) < 2 {
		t.Fatalf("shipped scenarios: %v %v", files, err)
	}
	lf, err := os.Open("../../deploy/demo/ledger.csv")
	if err != nil {
		t.Fatal(err)
	}
	devs, err := fleet.ReadLedger(lf)
	lf.Close()
	if err != nil {
		t.Fatal(err)
	}
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
			h, err := New(Options{Broker: "tcp://127.0.0.1:1", Ledger: devs, Scenario: sc, Clock: clk})
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
		})
	}
}
