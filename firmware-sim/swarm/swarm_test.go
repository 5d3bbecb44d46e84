package swarm

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"testing"
	"time"

	"carebed/firmware-sim/device"
	"carebed/firmware-sim/internal/watch"
	"carebed/gateway/protocol"
	"carebed/internal/devcerts"
	"carebed/internal/devsvc"
)

func TestBackoffWait(t *testing.T) {
	b := Backoff{Min: 100 * time.Millisecond, Max: time.Second}
	for _, tc := range []struct {
		attempt int
		ceil    time.Duration
	}{{0, 100 * time.Millisecond}, {1, 200 * time.Millisecond}, {3, 800 * time.Millisecond}, {4, time.Second}, {60, time.Second}} {
		for range 200 {
			if w := b.Wait(tc.attempt); w <= 0 || w > tc.ceil {
				t.Fatalf("attempt %d: waited %v, want (0, %v]", tc.attempt, w, tc.ceil)
			}
		}
	}
}

// TestStormReplaysOverSources: devices that kept 30 readings come back at once over
// two loopback source addresses, replay them as batches, and the broker delivers
// every seq once; the connections then stay up on PINGREQs alone.
func TestStormReplaysOverSources(t *testing.T) {
	mq := devsvc.StartMosquitto(t)
	w := watch.Start(t, mq.URL)
	d, err := New(Options{Broker: mq.Addr, Sources: []string{"127.0.0.1", "127.0.0.2"}, KeepAlive: 2 * time.Second,
		Backoff: Backoff{Min: 50 * time.Millisecond, Max: time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Close)
	start := time.Now().Add(-30 * time.Minute)
	devs := make([]*Device, 40)
	for i := range devs {
		fw := device.NewAlarm(device.Config{ID: fmt.Sprintf("alarm-%04d", i), Kind: "gas_detector", Start: start, Every: time.Minute})
		fw.Tick(time.Now()) // not connected: 30 readings kept
		devs[i] = &Device{Model: fw}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rep := Storm(ctx, d, devs, time.Second, time.Now)
	if rep.Up != len(devs) || rep.Failed != 0 || rep.Readings != 30*int64(len(devs)) {
		t.Fatalf("storm: %+v; want %d up, %d readings", rep, len(devs), 30*len(devs))
	}
	for _, dv := range devs {
		id := dv.Model.Core().ID()
		watch.Until(t, 10*time.Second, id+"'s 30 readings", func() (bool, string) {
			seqs := map[uint64]int{}
			batches := 0
			for _, m := range w.Of(id) {
				if m.Decoded.Topic.Kind == protocol.KindTelemetry {
					batches++
					for _, r := range m.Decoded.Telemetry.Readings {
						seqs[r.Seq]++
					}
				}
			}
			return len(seqs) == 30 && batches == 1, fmt.Sprintf("%d seqs in %d messages", len(seqs), batches)
		})
	}
	time.Sleep(3 * time.Second) // longer than the keepalive: only PINGREQs keep them up
	if st := d.Stats(); st.Open != len(devs) || st.Pings == 0 {
		t.Fatalf("after the keepalive: %+v; want %d open and pings sent", st, len(devs))
	}
	local := map[string]bool{}
	for _, dv := range devs {
		local[dv.Conn().nc.LocalAddr().(*net.TCPAddr).IP.String()] = true
	}
	if !local["127.0.0.1"] || !local["127.0.0.2"] {
		t.Errorf("source addresses used: %v; want both", local)
	}
}

// TestCutPublishesTheWill: a device cut off without DISCONNECT leaves its retained
// offline status, as firmware on a power cut does.
// Over TLS as well: the handshake, then a cut closes the socket beneath TLS.
func TestCutPublishesTheWill(t *testing.T) {
	for _, transport := range []string{"tcp", "tls"} {
		t.Run(transport, func(t *testing.T) { cutPublishesTheWill(t, transport == "tls") })
	}
}

func cutPublishesTheWill(t *testing.T, overTLS bool) {
	var o devsvc.MosquittoOptions
	var cfg *tls.Config
	if overTLS {
		certs, err := devcerts.Generate(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		ca, err := os.ReadFile(certs.CA)
		if err != nil {
			t.Fatal(err)
		}
		roots := x509.NewCertPool()
		roots.AppendCertsFromPEM(ca)
		o.CertFile, o.KeyFile = certs.Server, certs.ServerKey
		cfg = &tls.Config{RootCAs: roots, ServerName: "127.0.0.1"}
	}
	mq := devsvc.StartMosquittoWith(t, o)
	w := watch.StartTLS(t, mq.URL, cfg)
	d, err := New(Options{Broker: mq.Addr, TLS: cfg})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Close)
	dv := &Device{Model: device.NewPendant(device.Config{ID: "sos-0001", Kind: "sos_pendant", Start: time.Now()}, 0)}
	if _, err := dv.Up(context.Background(), d, time.Now()); err != nil {
		t.Fatal(err)
	}
	dv.Model.(*device.Pendant).Press(time.Now())
	acked := make(chan error, 1)
	dv.Flush(func(_ device.Message, err error) { acked <- err })
	if err := <-acked; err != nil {
		t.Fatal(err)
	}
	dv.Cut()
	watch.Until(t, 10*time.Second, "online, sos, then the Last Will", func() (bool, string) {
		ms := w.Of("sos-0001")
		ok := len(ms) == 3 && ms[0].Decoded.Status.Online && ms[1].Decoded.Event.Type == protocol.EventSOS &&
			ms[2].Decoded.Topic.Kind == protocol.KindStatus && !ms[2].Decoded.Status.Online
		return ok, fmt.Sprint(len(ms), " messages")
	})
}

// TestOnLost: a connection the broker closes (another takes its client id) is
// reported lost; one dropped on purpose is not.
func TestOnLost(t *testing.T) {
	mq := devsvc.StartMosquitto(t)
	lost := make(chan string, 4)
	d, err := New(Options{Broker: mq.Addr, OnLost: func(c *Conn, _ error) { lost <- c.Device() }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Close)
	ctx := context.Background()
	first, err := d.Connect(ctx, "bed-0001", "")
	if err != nil {
		t.Fatal(err)
	}
	second, err := d.Connect(ctx, "bed-0001", "") // Mosquitto closes the first
	if err != nil {
		t.Fatal(err)
	}
	select {
	case id := <-lost:
		if id != "bed-0001" {
			t.Fatalf("lost %q", id)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the taken-over connection was not reported lost")
	}
	<-first.Done()
	if err := first.Publish("x", nil, false, nil); err == nil {
		t.Error("publish on a lost connection: no error")
	}
	second.Drop()
	select {
	case id := <-lost:
		t.Fatalf("a dropped connection reported lost: %s", id)
	case <-time.After(500 * time.Millisecond):
	}
}
