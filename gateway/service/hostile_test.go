package service

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"carebed/firmware-sim/fleet"
	"carebed/gateway/ingest"
	"carebed/gateway/protocol"
)

// hostile is one kind of bad message and the reason it must be counted under.
type hostile struct {
	reason protocol.Reason
	make   func(i int, r *rand.Rand) (topic string, payload []byte)
}

func hostileKinds() []hostile {
	tel := "carebed/v1/bed-0001/telemetry"
	ev := "carebed/v1/bed-0001/event"
	return []hostile{
		{"bad_json", func(i int, _ *rand.Rand) (string, []byte) { return tel, []byte(`{"v":1,"seq":`) }},
		{"bad_json", func(i int, r *rand.Rand) (string, []byte) {
			b := make([]byte, 1+r.IntN(300))
			for j := range b {
				b[j] = byte(r.IntN(256))
			}
			b[0] = 0xff // never valid JSON
			return tel, b
		}},
		{"bad_version", func(i int, _ *rand.Rand) (string, []byte) { return tel, []byte(`{"v":2,"seq":1,"hr":60}`) }},
		{"out_of_range", func(i int, _ *rand.Rand) (string, []byte) { return tel, []byte(`{"v":1,"seq":7,"hr":412}`) }},
		{"unknown_field", func(i int, _ *rand.Rand) (string, []byte) { return tel, []byte(`{"v":1,"seq":7,"hearrate":60}`) }},
		{ingest.ReasonUnknownDevice, func(i int, _ *rand.Rand) (string, []byte) {
			return "carebed/v1/ghost-0001/telemetry", protocol.EncodeReading(protocol.Reading{Seq: uint64(i + 1), HR: f64(60)})
		}},
		{"oversize", func(i int, _ *rand.Rand) (string, []byte) {
			return ev, []byte(`{"v":1,"seq":1,"type":"sos","pad":"` + strings.Repeat("x", 5000) + `"}`)
		}},
		{"bad_topic", func(i int, _ *rand.Rand) (string, []byte) {
			return "carebed/v1/BED_0001/telemetry", protocol.EncodeReading(protocol.Reading{Seq: 1, HR: f64(60)})
		}},
		{"unknown_event_type", func(i int, _ *rand.Rand) (string, []byte) { return ev, []byte(`{"v":1,"seq":9,"type":"earthquake"}`) }},
		{"missing_field", func(i int, _ *rand.Rand) (string, []byte) { return tel, []byte(`{"v":1,"hr":60}`) }},
		{"bad_type", func(i int, _ *rand.Rand) (string, []byte) { return tel, []byte(`{"v":1,"seq":"12","hr":60}`) }},
		{"empty_reading", func(i int, _ *rand.Rand) (string, []byte) { return tel, []byte(`{"v":1,"seq":12}`) }},
	}
}

func TestHostileTrafficIsCountedAndGoodTrafficStored(t *testing.T) {
	const bad = 10_000
	e := newEnv(t, false)
	devices := deviceIDs("bed", 20)
	e.register(devices)
	r := e.start()
	f := fleet.New(fleet.Options{Broker: e.mq.URL, Devices: devices, Conns: 2, Rate: 500,
		Duration: 10 * time.Second, Payload: mixedClock, Record: true, ClientPrefix: "good-pub"})
	done := make(chan fleet.Report, 1)
	go func() { rep, err := f.Run(context.Background()); checkRun(t, err); done <- rep }()

	want := sendHostile(t, e.mq.URL, bad)
	rep := <-done
	if rep.Errors != 0 {
		t.Fatalf("good publisher errors: %d (last %v)", rep.Errors, rep.LastError)
	}
	waitFor(t, 60*time.Second, "every hostile message counted", func() (bool, string) {
		n := metric(t, r.reg, "carebed_ingest_rejects_total", nil)
		return n == bad, fmt.Sprint(n)
	})
	for reason, n := range want {
		if got := metric(t, r.reg, "carebed_ingest_rejects_total", map[string]string{"reason": string(reason)}); got != float64(n) {
			t.Errorf("rejects{reason=%q} = %v, want %d", reason, got, n)
		}
	}
	acked := f.Acked()
	waitFor(t, 60*time.Second, "good traffic stored", func() (bool, string) {
		n := e.influx.Count(t, "SELECT COUNT(seq) FROM telemetry")
		return n >= int64(total(acked)), fmt.Sprintf("%d of %d", n, total(acked))
	})
	exactlyOnce(t, seqsIn(t, e.influx, "telemetry"), acked)
	if n := countLines(t, e.cfg.DeadLetterPath()); n != bad {
		t.Errorf("dead-letter log has %d lines, want %d", n, bad)
	}
	if !r.g.Readiness().Ready {
		t.Errorf("gateway not ready after hostile traffic: %+v", r.g.Readiness())
	}
}

// sendHostile publishes n bad messages, every kind in turn, and returns how many of
// each reason it sent.
func sendHostile(t *testing.T, url string, n int) map[protocol.Reason]int {
	t.Helper()
	c := publishClient(t, url, "hostile")
	kinds := hostileKinds()
	rnd := rand.New(rand.NewPCG(7, 11))
	want := map[protocol.Reason]int{}
	toks := make([]mqtt.Token, 0, n)
	for i := range n {
		k := kinds[i%len(kinds)]
		topic, payload := k.make(i, rnd)
		toks = append(toks, c.Publish(topic, 1, false, payload))
		want[k.reason]++
		if len(toks) == 500 {
			waitTokens(t, toks)
			toks = toks[:0]
		}
	}
	waitTokens(t, toks)
	return want
}

func waitTokens(t *testing.T, toks []mqtt.Token) {
	t.Helper()
	for _, tok := range toks {
		if !tok.WaitTimeout(30*time.Second) || tok.Error() != nil {
			t.Fatalf("hostile publish: %v", tok.Error())
		}
	}
}

func countLines(t *testing.T, path string) int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	s.Buffer(make([]byte, 1<<20), 1<<20)
	n := 0
	for s.Scan() {
		n++
	}
	return n
}
