package service

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"testing"
	"time"

	"carebed/alerting"
	"carebed/firmware-sim/fleet"
	"carebed/firmware-sim/homes"
	"carebed/firmware-sim/scenario"
	"carebed/firmware-sim/simclock"
	"carebed/internal/devsvc"
)

// simScenario exercises the firmware models through the gateway: an SOS someone
// takes, a double press, a fall the detector catches and the wearer cancels, and a
// home without signal for a few seconds.
const simScenario = `
clocks: {H-0012: +2m}
events:
  - {at: 1s, home: H-0001, do: sos}
  - {at: 1s, home: H-0012, do: sos, cancel_after: 2s}
  - {at: 2s, home: H-0020, do: fall, kind: fall-forward, cancel_after: 1s}
  - {at: 2s, home: H-0013, do: offline, for: 4s}
`

// TestSimDevicesThroughTheGateway plays firmware-sim's device models (package
// homes: every device its own connection, its firmware's behaviour) against the
// gateway's embedded broker and checks what the gateway made of them.
func TestSimDevicesThroughTheGateway(t *testing.T) {
	e := newEnv(t, true)
	ledger, err := os.ReadFile(devsvc.RepoRoot() + "/deploy/demo/ledger.csv")
	if err != nil {
		t.Fatal(err)
	}
	e.importLedger(string(ledger))
	admin := e.countyAdmin("和静县")
	r := e.start()
	devs, err := fleet.ReadLedger(bytes.NewReader(ledger))
	if err != nil {
		t.Fatal(err)
	}
	sc, err := scenario.Parse([]byte(simScenario))
	if err != nil {
		t.Fatal(err)
	}
	clk := simclock.Wall()
	h, err := homes.New(homes.Options{Broker: "tcp://" + r.g.BrokerAddr(), Ledger: devs, Scenario: sc, Clock: clk,
		Every: time.Second, Step: 200 * time.Millisecond, FirstSeq: uint64(time.Now().UnixMilli()), Retry: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- h.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-ran; err != nil {
			t.Error(err)
		}
	}()
	waitFor(t, 20*time.Second, "every device online", func() (bool, string) { return h.Ready(), "" })
	start := time.Now()
	for _, s := range scenario.Play(ctx, sc, clk, h) {
		if s.Err != nil || s.Type == "fall (missed)" {
			t.Fatalf("scenario step %+v", s)
		}
	}
	simAlerts(t, r)
	simAckFeedback(t, r, h, admin)
	simInflux(t, e, start)
}

// simAlerts: the SOS pages; the fall is cancelled inside the hold-off; the double
// press's cancel comes after paging, so that SOS stays open (someone looks in).
func simAlerts(t *testing.T, r *running) {
	waitFor(t, 20*time.Second, "the alerts", func() (bool, string) {
		all, err := r.g.alerts.List(context.Background(), alerting.Filter{})
		if err != nil {
			return false, err.Error()
		}
		got := map[string]alerting.Alert{}
		for _, a := range all {
			got[a.Place.Home+"/"+string(a.Kind)] = a
		}
		fall, sos, double := got["H-0020/fall"], got["H-0001/sos"], got["H-0012/sos"]
		return fall.Outcome == alerting.OutcomeCancelled && sos.ID != 0 && double.ID != 0 && double.State != alerting.StateResolved,
			fmt.Sprintf("%+v", all)
	})
}

// simAckFeedback takes H-0001's SOS through the API, as the county's duty desk:
// the pendant plays ack_feedback.
func simAckFeedback(t *testing.T, r *running, h *homes.Homes, token string) {
	all, err := r.g.alerts.List(context.Background(), alerting.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	var id int64
	for _, a := range all {
		if a.Place.Home == "H-0001" && a.Kind == alerting.KindSOS {
			id = a.ID
		}
	}
	if code, body := call(t, http.MethodPost, fmt.Sprintf("http://%s/api/v1/alerts/%d/ack", r.g.HTTPAddr(), id), token, "{}"); code != http.StatusOK {
		t.Fatalf("ack: %d %s", code, body)
	}
	waitFor(t, 10*time.Second, "the pendant to play ack_feedback", func() (bool, string) {
		heard := h.Model("hj-0001-sos").Core().Heard()
		return len(heard) == 1 && heard[0].Played && heard[0].Cmd.Alert != "", fmt.Sprintf("%+v", heard)
	})
}

// simInflux: the double press's events carry the device clock, two minutes fast;
// the home that lost its signal replayed what it kept, flagged as replayed.
func simInflux(t *testing.T, e *env, start time.Time) {
	waitFor(t, 30*time.Second, "the double press and the replay in InfluxDB", func() (bool, string) {
		rows := e.influx.Query(t, "SELECT seq, type FROM event WHERE device = 'yq-0012-sos'")
		replayed := e.influx.Count(t, "SELECT COUNT(seq) FROM telemetry WHERE replayed = true AND home = 'H-0013'")
		types := ""
		ahead := true
		for _, row := range rows {
			types += fmt.Sprint(row[2]) + " "
			ms, err := row[0].(json.Number).Int64()
			ahead = ahead && err == nil && time.UnixMilli(ms).After(start.Add(90*time.Second))
		}
		return types == "sos sos_cancel " && ahead && replayed >= 4, fmt.Sprintf("events %q (2 min ahead %v), %d replayed", types, ahead, replayed)
	})
}
