package homes

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/twilio/twilio-go/client"

	"carebed/firmware-sim/device"
	"carebed/firmware-sim/fleet"
	"carebed/firmware-sim/internal/watch"
	"carebed/firmware-sim/population"
	"carebed/firmware-sim/scenario"
	"carebed/firmware-sim/simclock"
	"carebed/firmware-sim/smsphone"
	"carebed/gateway/protocol"
	"carebed/internal/devsvc"
)

// smsGateway stands in for the gateway's POST /webhooks/twilio/sms: it takes only
// what twilio-go's RequestValidator accepts for its URL and token.
type smsGateway struct {
	srv   *httptest.Server
	mu    sync.Mutex
	forms []map[string]string
}

const smsToken = "herder-test-token"

func startSMSGateway(t *testing.T) *smsGateway {
	g := &smsGateway{}
	g.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ParseForm() != nil {
			http.Error(w, "bad form", http.StatusBadRequest)
			return
		}
		params := map[string]string{}
		for k := range r.PostForm {
			params[k] = r.PostForm.Get(k)
		}
		v := client.NewRequestValidator(smsToken)
		if !v.Validate(g.url(), params, r.Header.Get("X-Twilio-Signature")) {
			http.Error(w, "bad signature", http.StatusForbidden)
			return
		}
		g.mu.Lock()
		g.forms = append(g.forms, params)
		g.mu.Unlock()
		_, _ = w.Write([]byte("<Response/>"))
	}))
	t.Cleanup(g.srv.Close)
	return g
}

func (g *smsGateway) url() string { return g.srv.URL + "/webhooks/twilio/sms" }

// TestHerderOverMosquitto: a herder home (firmware-sim ledger with one herder) on
// its summer pasture, against a real Mosquitto on a manual clock, from ten minutes
// before a coverage gap to twenty after it. The pendant's every message is one the
// gateway's decoder accepts, its fixes kept; the gap leaves a Last Will; the SOS
// pressed in the gap comes back first after it, with its last fix, then the gap's
// readings as batches, oldest first, with their fixes; and the home's SMS-only
// phone texts the gateway through a webhook twilio-go finds correctly signed.
func TestHerderOverMosquitto(t *testing.T) {
	mq := devsvc.StartMosquitto(t)
	var b bytes.Buffer
	if err := population.WriteWith(&b, population.Options{Homes: 1, Herders: 1, Seed: 1}); err != nil {
		t.Fatal(err)
	}
	devs, err := fleet.ReadLedger(&b)
	if err != nil {
		t.Fatal(err)
	}
	pendant := devs[len(devs)-2]
	if pendant.ID != "h00002-sos" || !pendant.Mobile || !pendant.HasPos {
		t.Fatalf("the herder's pendant row %+v", pendant)
	}
	sc0 := parse(t, "herders: {H-00002: {season: summer}}\n")
	herd := sc0.Herd("H-00002", device.LatLon{Lat: pendant.Lat, Lon: pendant.Lon})
	gapFrom, gapTo := firstGap(herd, time.Date(2026, 7, 20, 0, 0, 0, 0, time.UTC))
	start := gapFrom.Add(-10 * time.Minute)
	sc := parse(t, fmt.Sprintf(`duration: %s
herders: {H-00002: {season: summer}}
events:
  - {at: 20m, home: H-00002, do: sos}
  - {at: 25m, home: H-00002, do: sms, text: "SOS 42.87,83.71"}
`, gapTo.Sub(start)+20*time.Minute))

	g := startSMSGateway(t)
	wd := &world{w: watch.Start(t, mq.URL), clk: simclock.NewManual(start), step: time.Minute}
	h, err := New(Options{Broker: mq.URL, Ledger: devs, Scenario: sc, Clock: wd.clk, Every: 5 * time.Minute,
		Step: time.Minute, Retry: 100 * time.Millisecond, SMS: smsphone.Webhook{URL: g.url(), AuthToken: smsToken, To: "+8613900000000"}})
	if err != nil {
		t.Fatal(err)
	}
	wd.h = h
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- h.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-ran; err != nil {
			t.Error(err)
		}
	})
	watch.Until(t, 20*time.Second, "every device online", func() (bool, string) { return h.Ready(), "" })
	played := make(chan []scenario.Sent, 1)
	go func() { played <- scenario.Play(ctx, sc, wd.clk, h) }()
	wd.drive(t, sc.Duration, played)
	for _, s := range wd.sent {
		if s.Err != nil {
			t.Errorf("scenario step %+v failed", s)
		}
	}

	var sos protocol.Event
	var replayed []protocol.Reading
	watch.Until(t, 15*time.Second, "the pendant back with its SOS and its replay", func() (bool, string) {
		var will, back bool
		sos, replayed = protocol.Event{}, replayed[:0]
		for _, m := range wd.w.Of("h00002-sos") {
			switch {
			case bytes.Equal(m.Payload, []byte(`{"v":1,"online":false}`)):
				will = true
			case will && m.Decoded.Status.Online:
				back = true
			case back && m.Decoded.Topic.Kind == protocol.KindEvent && sos.Seq == 0:
				sos = m.Decoded.Event
			case back && m.Decoded.Telemetry.Batch:
				replayed = append(replayed, m.Decoded.Telemetry.Readings...)
			}
		}
		return will && back && sos.Seq != 0 && len(replayed) >= int(gapTo.Sub(gapFrom)/(5*time.Minute))-1,
			fmt.Sprintf("Last Will %v, back %v, SOS %+v, %d readings replayed", will, back, sos, len(replayed))
	})
	if sos.Type != protocol.EventSOS || sos.Fix == nil || sos.Fix.TS > sos.TS || time.UnixMilli(sos.TS).Before(gapFrom) {
		t.Errorf("the SOS after the gap %+v; want the one pressed in it, with its last fix", sos)
	}
	fixes := 0
	for i, r := range replayed {
		if i > 0 && (r.Seq <= replayed[i-1].Seq || r.TS <= replayed[i-1].TS) {
			t.Fatalf("replay not oldest first: %+v after %+v", r, replayed[i-1])
		}
		if r.Fix != nil {
			fixes++
		}
	}
	if fixes < len(replayed)/2 {
		t.Errorf("%d of %d replayed readings carry a fix", fixes, len(replayed))
	}
	for _, m := range wd.w.Of("h00002-sos") {
		if m.Err != nil {
			t.Errorf("the gateway's decoder rejects %s: %v", m.Payload, m.Err)
		}
		if fixDropped(m.Decoded) != "" {
			t.Errorf("the gateway drops the fix of %s: %s", m.Payload, fixDropped(m.Decoded))
		}
	}

	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.forms) != 1 || g.forms[0]["From"] != "+8613840000002" || g.forms[0]["To"] != "+8613900000000" ||
		g.forms[0]["Body"] != "SOS 42.87,83.71" {
		t.Errorf("the gateway took the SMS %v", g.forms)
	}
	if len(wd.w.Of("h00002-phone")) != 0 {
		t.Error("the SMS-only phone published by MQTT")
	}
}

// firstGap is the first coverage gap of the herd after from.
func firstGap(h device.Herd, from time.Time) (time.Time, time.Time) {
	var gapFrom time.Time
	for at := from; ; at = at.Add(time.Minute) {
		switch c := h.Covered(at); {
		case !c && gapFrom.IsZero():
			gapFrom = at
		case c && !gapFrom.IsZero():
			return gapFrom, at
		}
	}
}

// fixDropped is why the gateway drops a fix of m, "" when it keeps them all.
func fixDropped(m protocol.Message) protocol.FixProblem {
	switch m.Topic.Kind {
	case protocol.KindEvent:
		return m.Event.FixDropped
	case protocol.KindStatus:
		return m.Status.FixDropped
	}
	for _, r := range m.Telemetry.Readings {
		if r.FixDropped != "" {
			return r.FixDropped
		}
	}
	return ""
}
