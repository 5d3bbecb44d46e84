package service

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"carebed/alerting"
	"carebed/firmware-sim/fleet"
	"carebed/firmware-sim/population"
	"carebed/firmware-sim/scenario"
	"carebed/internal/devsvc"
)

// TestDemoScenarioThroughTheGateway plays a scenario with firmware-sim's fleet (every
// device its own connection, as firmware) against the gateway's embedded broker.
func TestDemoScenarioThroughTheGateway(t *testing.T) {
	e := newEnv(t, true)
	ledger, err := os.ReadFile(devsvc.RepoRoot() + "/deploy/demo/ledger.csv")
	if err != nil {
		t.Fatal(err)
	}
	e.importLedger(string(ledger))
	r := e.start()
	devs, err := fleet.ReadLedger(bytes.NewReader(ledger))
	if err != nil {
		t.Fatal(err)
	}
	kinds, byHome, ids := map[string]string{}, map[[2]string]string{}, []string(nil)
	for _, d := range devs {
		kinds[d.ID], byHome[[2]string{d.Home, d.Kind}] = d.Kind, d.ID
		ids = append(ids, d.ID)
	}
	sc, err := scenario.Parse([]byte(`events:
  - {at: 1s, home: H-0001, do: sos}
  - {at: 2s, home: H-0020, do: fall, cancel_after: 500ms}
`))
	if err != nil {
		t.Fatal(err)
	}
	fl := fleet.New(fleet.Options{Broker: "tcp://" + r.g.BrokerAddr(), Devices: ids, PerDevice: true,
		Rate: float64(len(ids)), Duration: 4 * time.Second, Payload: fleet.Homes(kinds)})
	done := make(chan []scenario.Sent, 1)
	go func() {
		waitFor(t, 20*time.Second, "devices connected", func() (bool, string) { return fl.Connected(ids[0]), "" })
		done <- scenario.Run(context.Background(), sc, func(home, kind string) (string, bool) {
			id, ok := byHome[[2]string{home, kind}]
			return id, ok
		}, func(string) []string { return nil }, fl)
	}()
	if _, err := fl.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, s := range <-done {
		if s.Err != nil {
			t.Fatalf("scenario event %+v failed", s)
		}
	}
	waitFor(t, 10*time.Second, "the SOS alert and the cancelled fall", func() (bool, string) {
		all, err := r.g.alerts.List(context.Background(), alerting.Filter{})
		if err != nil {
			return false, err.Error()
		}
		got := map[alerting.Kind]alerting.Alert{}
		for _, a := range all {
			got[a.Kind] = a
		}
		sos, fall := got[alerting.KindSOS], got[alerting.KindFall]
		return sos.Place.Home == "H-0001" && fall.Outcome == alerting.OutcomeCancelled, fmt.Sprintf("%+v", all)
	})
}

// TestVillagePowerCutScenario cuts a village's devices off for a few seconds: their
// Last Wills make one village outage alert, and when they come back they say so and
// replay what they kept, which lands in InfluxDB flagged as replayed.
func TestVillagePowerCutScenario(t *testing.T) {
	e := newEnv(t, true)
	var ledger bytes.Buffer
	if err := population.Write(&ledger, 30, 1); err != nil {
		t.Fatal(err)
	}
	e.importLedger(ledger.String())
	r := e.start()
	devs, err := fleet.ReadLedger(bytes.NewReader(ledger.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	kinds, byVillage, ids := map[string]string{}, map[string][]string{}, []string(nil)
	for _, d := range devs {
		kinds[d.ID] = d.Kind
		byVillage[d.Village] = append(byVillage[d.Village], d.ID)
		ids = append(ids, d.ID)
	}
	village := devs[0].Village
	if len(byVillage[village]) < 5 {
		t.Fatalf("village %s has %d devices; the test needs an outage (5)", village, len(byVillage[village]))
	}
	sc, err := scenario.Parse([]byte("events:\n  - {at: 1s, village: " + village + ", do: power_cut, for: 3s}\n"))
	if err != nil {
		t.Fatal(err)
	}
	fl := fleet.New(fleet.Options{Broker: "tcp://" + r.g.BrokerAddr(), Devices: ids, PerDevice: true,
		Rate: float64(len(ids)) * 2, Duration: 7 * time.Second, Payload: fleet.Homes(kinds)})
	done := make(chan []scenario.Sent, 1)
	go func() {
		waitFor(t, 20*time.Second, "devices connected", func() (bool, string) { return fl.Connected(ids[0]), "" })
		done <- scenario.Run(context.Background(), sc, func(string, string) (string, bool) { return "", false },
			func(v string) []string { return byVillage[v] }, fl)
	}()
	if _, err := fl.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if sent := <-done; len(sent) != 1 || sent[0].Err != nil {
		t.Fatalf("scenario: %+v", sent)
	}
	waitFor(t, 10*time.Second, "the outage alert, resolved when the village came back", func() (bool, string) {
		all, err := r.g.alerts.List(context.Background(), alerting.Filter{Severity: alerting.High})
		if err != nil || len(all) != 1 {
			return false, fmt.Sprint(all, err)
		}
		a := all[0]
		return a.Kind == alerting.KindVillageOutage && a.Place.Village == village && a.State == alerting.StateResolved, fmt.Sprintf("%+v", a)
	})
	r.stop() // flushes the spool
	waitFor(t, 20*time.Second, "replayed readings in InfluxDB", func() (bool, string) {
		n := e.influx.Count(t, "SELECT COUNT(seq) FROM telemetry WHERE replayed = true AND village = '"+village+"'")
		return n > 0, fmt.Sprint(n)
	})
}
