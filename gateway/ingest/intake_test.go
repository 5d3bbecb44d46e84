package ingest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"carebed/gateway/points"
	"carebed/gateway/protocol"
	"carebed/internal/testwait"
)

// message is an MQTT message as the session hands it to the intake.
type message struct {
	topic   string
	payload []byte
}

func (m message) Duplicate() bool   { return false }
func (m message) Qos() byte         { return 1 }
func (m message) Retained() bool    { return false }
func (m message) Topic() string     { return m.topic }
func (m message) MessageID() uint16 { return 1 }
func (m message) Payload() []byte   { return m.payload }
func (m message) Ack()              {}

// intakeSite is an intake over a handler of devices bed-0001 and pen-0001 with a
// fake spool, running until stop (or the test's end).
type intakeSite struct {
	in   *Intake
	sp   *fakeSpool
	stop func()
}

func startIntake(t *testing.T, o IntakeOptions, sp *fakeSpool, obs Observer) *intakeSite {
	t.Helper()
	h := NewHandler(Options{Directory: fakeDirectory{"bed-0001": {Device: "bed-0001"}, "pen-0001": {Device: "pen-0001"}},
		Spool: sp, DeadLetters: &fakeDead{}, Metrics: NewMetrics(prometheus.NewRegistry()), Now: time.Now, Observer: obs})
	in := NewIntake(o, h)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- in.Run(ctx) }()
	var once sync.Once
	stop := func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(stop)
	return &intakeSite{in: in, sp: sp, stop: stop}
}

// records reports whether the spool holds n records.
func (s *intakeSite) records(n int) func() (bool, string) {
	return func() (bool, string) {
		s.sp.mu.Lock()
		defer s.sp.mu.Unlock()
		return len(s.sp.recs) == n, fmt.Sprint(len(s.sp.recs), " records")
	}
}

// An event does not wait for the readings' linger: it has a lane of its own, so the
// SOS goes at once while a reading taken before it is still held (a reading after a
// quiet spell goes at once).
func TestIntakeEventDoesNotWaitForTheLinger(t *testing.T) {
	s := startIntake(t, IntakeOptions{Linger: time.Hour}, &fakeSpool{}, nil)
	s.in.Take(message{"carebed/v1/bed-0001/telemetry", []byte(`{"v":1,"seq":1,"hr":60}`)})
	testwait.Until(t, 5*time.Second, "the first reading handed off", s.records(1))
	s.in.Take(message{"carebed/v1/bed-0001/telemetry", []byte(`{"v":1,"seq":2,"hr":61}`)}) // held for the linger
	time.Sleep(50 * time.Millisecond)
	if ok, _ := s.records(1)(); !ok {
		t.Fatal("the second reading was not held for the linger")
	}
	s.in.Take(message{"carebed/v1/bed-0001/event", []byte(`{"v":1,"seq":3,"type":"sos"}`)})
	testwait.Until(t, 5*time.Second, "the SOS handed off", s.records(2))
}

// stuckObserver holds every status message in the alert rules until release is
// closed, as a township's devices going offline at once hold them in the alert store.
type stuckObserver struct{ release chan struct{} }

func (o *stuckObserver) Observe(_ context.Context, m protocol.Message, _ points.Tags, _ points.Stamp) error {
	if m.Topic.Kind == protocol.KindStatus {
		<-o.release
	}
	return nil
}

// A backlog of status messages whose alert rules are slow (each writes to the alert
// store) must not hold up an SOS taken after them.
func TestIntakeEventOvertakesAStuckBacklog(t *testing.T) {
	obs := &stuckObserver{release: make(chan struct{})}
	s := startIntake(t, IntakeOptions{}, &fakeSpool{}, obs)
	defer s.stop()
	defer close(obs.release) // before the stop: the worker is held in it
	for seq := 1; seq <= 100; seq++ {
		s.in.Take(message{"carebed/v1/bed-0001/status", []byte(fmt.Sprintf(`{"v":1,"seq":%d,"online":true}`, seq))})
	}
	s.in.Take(message{"carebed/v1/pen-0001/event", []byte(`{"v":1,"seq":1,"type":"sos"}`)})
	testwait.Until(t, 5*time.Second, "the SOS handed off while the status backlog is stuck", s.records(1))
}

// Handle, as the embedded broker calls it for each publish, returns nil only once
// the message is on disk, the write's error when it is not (the broker then withholds the
// PUBACK and the device sends it again), and an error once the intake has stopped.
func TestIntakeHandleWaitsForTheDisk(t *testing.T) {
	writeErr := errors.New("disk full")
	for _, c := range []struct {
		name string
		err  error
	}{{"written", nil}, {"write failed", writeErr}} {
		t.Run(c.name, func(t *testing.T) {
			sp := &fakeSpool{writeErr: c.err}
			s := startIntake(t, IntakeOptions{}, sp, nil)
			msgs := []Message{{Topic: "carebed/v1/bed-0001/telemetry", Payload: []byte(`{"v":1,"seq":1,"hr":60}`)},
				{Topic: "carebed/v1/bed-0001/event", Payload: []byte(`{"v":1,"seq":2,"type":"sos"}`)}}
			if err := s.in.Handle(context.Background(), msgs); !errors.Is(err, c.err) || (c.err == nil) != (err == nil) {
				t.Fatalf("Handle = %v, want %v", err, c.err)
			}
			sp.mu.Lock()
			n := len(sp.recs)
			sp.mu.Unlock()
			if c.err == nil && n != 2 || n == 0 { // a failure returns with the first lane's
				t.Fatalf("%d records written", n)
			}
			s.stop()
			if err := s.in.Handle(context.Background(), msgs[:1]); err == nil {
				t.Fatal("Handle after the intake stopped returned nil")
			}
		})
	}
}
