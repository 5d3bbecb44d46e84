package broker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"carebed/gateway/credential"
	"carebed/gateway/ingest"
	"carebed/gateway/points"
	"carebed/gateway/protocol"
	"carebed/gateway/registry"
	"carebed/internal/testwait"
)

// fakeIngest records what the broker hands off.
type fakeIngest struct {
	mu   sync.Mutex
	msgs []ingest.Message
}

func (f *fakeIngest) Handle(_ context.Context, msgs []ingest.Message) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.msgs = append(f.msgs, msgs...)
	return nil
}

// topics returns the topics handed off so far.
func (f *fakeIngest) topics() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]string, len(f.msgs))
	for i, m := range f.msgs {
		out[i] = m.Topic
	}
	return out
}

type fakeDevices map[string]bool

func (d fakeDevices) Lookup(id string) (points.Tags, bool) { return points.Tags{}, d[id] }

type fakeCreds map[string]registry.Credential

func (c fakeCreds) Credential(_ context.Context, p string) (registry.Credential, error) {
	if cr, ok := c[p]; ok {
		return cr, nil
	}
	return registry.Credential{}, registry.ErrNotFound
}

func (c fakeCreds) Credentials(context.Context) ([]registry.Credential, error) {
	out := make([]registry.Credential, 0, len(c))
	for _, cr := range c {
		out = append(out, cr)
	}
	return out, nil
}

// site is an embedded broker with two devices and two responders, each with a
// password ("pw-" + its name).
type site struct {
	b      *Broker
	ingest *fakeIngest
	reg    *prometheus.Registry
	url    string
	// tls: the broker serves TLS, and rawConnect speaks it.
	tls bool
}

var (
	siteDevices    = []string{"bed-0001", "bed-0002"}
	siteResponders = []string{"r-0000000000000001", "r-0000000000000002"}
)

func newSite(t *testing.T, tune func(*Options)) *site {
	t.Helper()
	devs, creds := fakeDevices{}, fakeCreds{}
	for _, d := range siteDevices {
		devs[d] = true
		creds[d] = registry.Credential{Principal: d, Kind: registry.PrincipalDevice, Hash: credential.Hash("pw-" + d), Issued: time.Now()}
	}
	for _, r := range siteResponders {
		creds[r] = registry.Credential{Principal: r, Kind: registry.PrincipalResponder, Hash: credential.Hash("pw-" + r), Issued: time.Now()}
	}
	s := &site{ingest: &fakeIngest{}, reg: prometheus.NewRegistry()}
	o := Options{Addr: "127.0.0.1:0", Ingest: s.ingest, Devices: devs, Credentials: creds,
		OnResponder: func(context.Context, string, []byte) {}, Registerer: s.reg,
		Logger: slog.New(slog.NewTextHandler(testWriter{t}, nil))}
	if tune != nil {
		tune(&o)
	}
	b, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Serve(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	s.b, s.url = b, "tcp://"+b.Addr().String()
	return s
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) { w.t.Log(string(p)); return len(p), nil }

// dial connects with a persistent session; a device sets its Last Will (offline).
func (s *site) dial(clientID, user string, lost chan<- string) (paho.Client, error) {
	o := paho.NewClientOptions().AddBroker(s.url).SetClientID(clientID).SetUsername(user).
		SetPassword("pw-" + user).SetCleanSession(false).SetProtocolVersion(4).
		SetAutoReconnect(false).SetConnectTimeout(5 * time.Second)
	if strings.HasPrefix(user, "bed-") {
		o.SetBinaryWill(protocol.DeviceTopic(user, protocol.KindStatus), protocol.EncodeStatus(protocol.Status{Online: false}), 1, true)
	}
	if lost != nil {
		o.SetConnectionLostHandler(func(paho.Client, error) { lost <- clientID })
	}
	c := paho.NewClient(o)
	tok := c.Connect()
	if !tok.WaitTimeout(10 * time.Second) {
		return nil, errors.New("connect timed out")
	}
	return c, tok.Error()
}

func (s *site) refused(reason string) float64 {
	return testutil.ToFloat64(s.b.hook.refused.WithLabelValues(reason))
}

// TestEveryPrincipalOnlyItsOwnClientID: nobody, whatever their credential, may
// connect with another principal's client id; the device holding it stays connected
// and its Last Will is not fired.
func TestEveryPrincipalOnlyItsOwnClientID(t *testing.T) {
	s := newSite(t, nil)
	dev, resp := siteDevices[0], siteResponders[0]
	lost := make(chan string, 8)
	victims := map[string]paho.Client{}
	for _, id := range []string{dev, resp} {
		c, err := s.dial(id, id, lost)
		if err != nil {
			t.Fatalf("%s with its own client id refused: %v", id, err)
		}
		defer c.Disconnect(100)
		victims[id] = c
	}
	for i, c := range []struct{ name, clientID, user string }{
		{"responder as a device", dev, resp},
		{"device as another device", dev, siteDevices[1]},
		{"device as a responder", resp, dev},
		{"responder as another responder", resp, siteResponders[1]},
		{"device as the gateway", "carebed-gateway", dev},
		{"responder with a made-up id", "app-1", resp},
	} {
		t.Run(c.name, func(t *testing.T) {
			if cl, err := s.dial(c.clientID, c.user, nil); err == nil {
				cl.Disconnect(0)
				t.Fatalf("%s connected with client id %s", c.user, c.clientID)
			}
			if n := s.refused(refusedClientID); n != float64(i+1) {
				t.Errorf("refused{client_id_mismatch} = %v, want %v", n, i+1)
			}
		})
	}
	select {
	case id := <-lost:
		t.Fatalf("%s was thrown off", id)
	case <-time.After(200 * time.Millisecond):
	}
	for id, c := range victims {
		if !c.IsConnectionOpen() {
			t.Errorf("%s no longer connected", id)
		}
	}
	if got := s.ingest.topics(); len(got) != 0 {
		t.Fatalf("handed off %v: a Last Will fired for a device that never left", got)
	}
	// The device is still served: its publish is handed off.
	tok := victims[dev].Publish(protocol.DeviceTopic(dev, protocol.KindEvent), 1, false,
		protocol.EncodeEvent(protocol.Event{Seq: 1, TS: time.Now().UnixMilli(), Type: protocol.EventSOS}))
	if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("publish: %v", tok.Error())
	}
	testwait.Until(t, 5*time.Second, "the device's event handed off", func() (bool, string) {
		got := s.ingest.topics()
		return len(got) == 1, fmt.Sprint(got)
	})
}

// TestRetainedStatusIsTakenIn: firmware publishes its status retained (docs/protocol.md);
// the broker, which keeps no retained messages, still takes it in and acknowledges it.
func TestRetainedStatusIsTakenIn(t *testing.T) {
	s := newSite(t, nil)
	c, err := s.dial("bed-0001", "bed-0001", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Disconnect(100)
	topic := protocol.DeviceTopic("bed-0001", protocol.KindStatus)
	if tok := c.Publish(topic, 1, true, protocol.EncodeStatus(protocol.Status{Online: true})); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("publish: %v", tok.Error())
	}
	if got := s.ingest.topics(); len(got) != 1 || got[0] != topic {
		t.Fatalf("handed off %v, want the status", got)
	}
}

// failingCreds is a registry that cannot be read while fail is set.
type failingCreds struct {
	fakeCreds
	fail bool
}

func (f *failingCreds) Credentials(ctx context.Context) ([]registry.Credential, error) {
	if f.fail {
		return nil, errors.New("registry unreachable")
	}
	return f.fakeCreds.Credentials(ctx)
}

// TestRecheckClosesWhatTheRegistryNoLongerAllows: at a registry refresh the broker
// closes the connections of a revoked credential, a rotated one and a device removed
// from the registry, reading the credentials once; the others stay, and a registry
// that cannot be read closes nobody.
func TestRecheckClosesWhatTheRegistryNoLongerAllows(t *testing.T) {
	var devs fakeDevices
	var creds fakeCreds
	reg := &failingCreds{}
	s := newSite(t, func(o *Options) {
		devs, creds = o.Devices.(fakeDevices), o.Credentials.(fakeCreds)
		reg.fakeCreds, o.Credentials = creds, reg
	})
	lost := make(chan string, 8)
	for _, id := range append(append([]string{}, siteDevices...), siteResponders...) {
		c, err := s.dial(id, id, lost)
		if err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		defer c.Disconnect(0)
	}
	revoked, removed, rotated, kept := siteDevices[0], siteDevices[1], siteResponders[0], siteResponders[1]
	c := creds[revoked]
	c.Revoked = time.Now()
	creds[revoked] = c
	c = creds[rotated]
	c.Issued = c.Issued.Add(time.Second)
	creds[rotated] = c
	delete(devs, removed)

	reg.fail = true
	if err := s.b.Recheck(); err == nil {
		t.Error("Recheck with the registry unreadable: no error")
	}
	select {
	case id := <-lost:
		t.Fatalf("%s closed while the registry could not be read", id)
	case <-time.After(200 * time.Millisecond):
	}

	reg.fail = false
	if err := s.b.Recheck(); err != nil {
		t.Fatal(err)
	}
	closed := map[string]bool{}
	testwait.Until(t, 10*time.Second, "three connections closed", func() (bool, string) {
		for {
			select {
			case id := <-lost:
				closed[id] = true
			default:
				return len(closed) == 3, fmt.Sprint(closed)
			}
		}
	})
	if closed[kept] {
		t.Errorf("%s, whose credential did not change, was closed", kept)
	}
	for reason, want := range map[string]float64{refusedRevoked: 1, refusedRotated: 1, refusedUnknown: 1} {
		if n := testutil.ToFloat64(s.b.dropped.WithLabelValues(reason)); n != want {
			t.Errorf("disconnected{%s} = %v, want %v", reason, n, want)
		}
	}
}
