package bench

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"carebed/alerting/notify/twilio/twiliotest"
	"carebed/firmware-sim/fleet"
	"carebed/gateway/protocol"
)

// latencyTelemetryRate is the msg/s of telemetry while the SOS events arrive
// (CAREBED_LATENCY_RATE, default 5,000: the real rates are 500 to 2,000).
var latencyTelemetryRate = envRates("CAREBED_LATENCY_RATE", []float64{5000})[0]

const latencySOS = 100 // SOS events, one every 100 ms, each from another home

// BenchmarkEventToSMS measures the time from an SOS publish to the first SMS request
// reaching (a fake) Twilio, while the gateway also takes 5,000 msg/s of telemetry.
// The SMS goes through the real twilio-go client; the fake answers at once.
func BenchmarkEventToSMS(b *testing.B) {
	for range b.N {
		arrivals := &arrivals{at: map[string]time.Time{}}
		api := twiliotest.NewAPI("AC0123456789abcdef0123456789abcdef", "0123456789abcdef0123456789abcdef")
		srv := httptest.NewServer(arrivals.wrap(api))
		b.Cleanup(srv.Close)
		s := newStand(b, fmt.Sprintf("twilio:\n  account_sid: AC0123456789abcdef0123456789abcdef\n"+
			"  auth_token: 0123456789abcdef0123456789abcdef\n  from: \"+15005550006\"\n  base_url: %s\n", srv.URL))
		load := fleet.New(fleet.Options{Broker: s.mq.URL, Devices: s.devices, Conns: 4, Rate: latencyTelemetryRate,
			Duration: 3*time.Second + latencySOS*100*time.Millisecond + 3*time.Second, ClientPrefix: "latency-load"})
		done := make(chan fleet.Report, 1)
		go func() { rep, _ := load.Run(context.Background()); done <- rep }()
		time.Sleep(3 * time.Second) // the telemetry load is running
		sent := publishSOS(b, s)
		waitUntil(b, 30*time.Second, "an SMS for every SOS", func() bool { return arrivals.count(sent) == len(sent) })
		rep := <-done
		lat := arrivals.latencies(sent)
		slices.Sort(lat)
		p50, p99 := lat[len(lat)/2], lat[min(len(lat)-1, len(lat)*99/100)]
		b.ReportMetric(float64(p50.Microseconds())/1000, "p50_ms")
		b.ReportMetric(float64(p99.Microseconds())/1000, "p99_ms")
		b.ReportMetric(float64(lat[len(lat)-1].Microseconds())/1000, "max_ms")
		b.Logf("event to first SMS request over %d SOS with %.0f msg/s of telemetry (sent %.0f msg/s): p50 %s, p99 %s, max %s",
			len(lat), float64(latencyTelemetryRate), rep.Rate(), p50, p99, lat[len(lat)-1])
	}
}

// publishSOS sends one SOS from each of the first latencySOS devices, 100 ms apart,
// and returns when each went out, by the family phone of its home.
func publishSOS(b *testing.B, s *stand) map[string]time.Time {
	c := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(s.mq.URL).SetClientID("latency-sos"))
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		b.Fatal(tok.Error())
	}
	defer c.Disconnect(100)
	sent := map[string]time.Time{}
	for i := range latencySOS {
		now := time.Now()
		ev := protocol.EncodeEvent(protocol.Event{Seq: uint64(now.UnixMilli()), TS: now.UnixMilli(), Type: protocol.EventSOS})
		tok := c.Publish(protocol.DeviceTopic(s.devices[i], protocol.KindEvent), 1, false, ev)
		sent["+86"+familyPhone(i)] = now
		if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			b.Fatal(tok.Error())
		}
		time.Sleep(100 * time.Millisecond)
	}
	return sent
}

// arrivals records when the first SMS to each number reached the fake Twilio.
type arrivals struct {
	mu sync.Mutex
	at map[string]time.Time
}

func (a *arrivals) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		now := time.Now()
		if f, err := os.OpenFile("/tmp/sms-arrivals.log", os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644); err == nil { // DEBUG
			defer func() {
				fmt.Fprintf(f, "%s %s %s %v\n", now.Format(time.RFC3339Nano), r.Method, r.PostForm.Get("To"), time.Since(now))
				f.Close()
			}()
		}
		if r.Method == http.MethodPost && r.ParseForm() == nil {
			a.mu.Lock()
			if to := r.PostForm.Get("To"); a.at[to].IsZero() {
				a.at[to] = now
			}
			a.mu.Unlock()
		}
		h.ServeHTTP(w, r)
	})
}

// first is when the first SMS to phone arrived (zero: none yet).
func (a *arrivals) first(phone string) time.Time {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.at[phone]
}

func (a *arrivals) count(sent map[string]time.Time) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	n := 0
	for phone := range sent {
		if !a.at[phone].IsZero() {
			n++
		}
	}
	return n
}

func (a *arrivals) latencies(sent map[string]time.Time) []time.Duration {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []time.Duration
	for phone, t := range sent {
		out = append(out, a.at[phone].Sub(t))
	}
	return out
}
