package ingest

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// Topics the gateway subscribes to for the ingest: every device's telemetry, events
// and status, QoS 1.
var Topics = map[string]byte{"carebed/v1/+/telemetry": 1, EventTopics: 1, "carebed/v1/+/status": 1}

// EventTopics is the filter of every device's events (an SOS, a fall), which the
// gateway's alarm session reads.
const EventTopics = "carebed/v1/+/event"

// IntakeOptions configure an Intake.
type IntakeOptions struct {
	// Inflight bounds messages received and not yet handed off; it should be at
	// least the broker's max_inflight_messages so the reader never waits.
	Inflight int
	// MaxBatch bounds the messages one hand-off takes.
	MaxBatch int
	// Linger: under load the worker hands off at most once per Linger (zero:
	// DefaultLinger, negative: no pacing).
	Linger  time.Duration
	Logger  *slog.Logger
	Metrics *Metrics
}

// DefaultLinger is the default Linger of the intake and of the session's connection
// (mqttconn.Options.Linger). Under load it cut the MQTT client's CPU per message by
// more than half (docs/performance.md); it delays a message by at most this much,
// and a lone message not at all.
const DefaultLinger = 500 * time.Microsecond

// Intake takes device messages from MQTT sessions (Take is their route), hands them
// off to the Handler in batches, and acknowledges each message once its batch is
// durable. Events (an SOS, a fall) have a lane and a worker of their own: a backlog
// of readings and status messages, whose alert rules may write to the alert store
// for each (a township's devices going offline and back), never holds up an alarm.
type Intake struct {
	o       IntakeOptions
	h       *Handler
	in      chan received // readings and status
	events  chan received
	stop    chan struct{}  // closed when the intake stops taking messages
	pending sync.WaitGroup // batches handed off and not yet acknowledged
	batches *freeList[*workBatch]
}

type received struct {
	msg  mqtt.Message
	when time.Time
	copy bool // Message.Copy
}

// NewIntake returns an Intake that hands messages to h.
func NewIntake(o IntakeOptions, h *Handler) *Intake {
	if o.MaxBatch <= 0 {
		o.MaxBatch = 1024
	}
	if o.Inflight <= 0 {
		o.Inflight = 10000
	}
	if o.Linger == 0 {
		o.Linger = DefaultLinger
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Metrics == nil {
		o.Metrics = h.o.Metrics
	}
	in := &Intake{o: o, h: h, in: make(chan received, o.Inflight), events: make(chan received, o.Inflight),
		stop: make(chan struct{})}
	// Batches wait for the spool's group commit before they are recycled, so under
	// load dozens are in flight; most are small (whatever queued while the worker
	// handed off the previous one), so they start small and grow as needed.
	in.batches = newFreeList(64, func() *workBatch {
		return &workBatch{msgs: make([]Message, 0, 16), acks: make([]mqtt.Message, 0, 16)}
	})
	return in
}

// Take queues a message; it runs on the MQTT client's reader path. Once the intake
// stops, messages are left unacknowledged: the broker redelivers them to the next
// session.
func (in *Intake) Take(m mqtt.Message) { in.take(m, false) }

// TakeCopy is Take for a session whose messages another session also delivers (the
// alarm session's events): see Message.Copy.
func (in *Intake) TakeCopy(m mqtt.Message) { in.take(m, true) }

func (in *Intake) take(m mqtt.Message, copy bool) {
	lane := in.in
	if isEvent(m.Topic()) {
		lane = in.events
	}
	select {
	case <-in.stop:
		refuse(m, ErrStopped)
		return
	default:
	}
	select {
	case lane <- received{msg: m, when: in.h.o.Now(), copy: copy}:
		in.o.Metrics.queue.Set(float64(len(in.in) + len(in.events)))
	case <-in.stop:
		refuse(m, ErrStopped)
	}
}

// Refusable is a message that is told when it will not be acknowledged (Ack is
// never called then): a publish the embedded broker must not acknowledge.
type Refusable interface {
	Refuse(err error)
}

// ErrStopped refuses what arrives once the intake stops (the gateway is stopping).
var ErrStopped = errors.New("ingest: the intake has stopped")

func refuse(m mqtt.Message, err error) {
	if r, ok := m.(Refusable); ok {
		r.Refuse(err)
	}
}

// Handle queues each of msgs on its lane and returns once all are durable (nil), or
// the first reason one is not. The embedded broker calls it from every client's
// reader, so that its devices' messages are handed off in batches by the intake's
// workers like an external broker's: a few writers to the alert store rather than one
// per connection, and an SOS on its own lane while a township comes back at once.
func (in *Intake) Handle(ctx context.Context, msgs []Message) error {
	done := make(chan error, len(msgs))
	for i := range msgs {
		in.Take(&handed{m: &msgs[i], done: done})
	}
	for range msgs {
		select {
		case err := <-done:
			if err != nil {
				return err
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// handed is a message given to Handle: its outcome goes to done.
type handed struct {
	m    *Message
	done chan error
}

func (h *handed) Duplicate() bool   { return false }
func (h *handed) Qos() byte         { return 1 }
func (h *handed) Retained() bool    { return false }
func (h *handed) Topic() string     { return h.m.Topic }
func (h *handed) MessageID() uint16 { return 0 }
func (h *handed) Payload() []byte   { return h.m.Payload }
func (h *handed) Ack()              { h.done <- nil }
func (h *handed) Refuse(err error)  { h.done <- err }

// Run hands messages off until ctx ends, then stops taking messages, finishes the
// ones queued (within a bound) and waits for their acknowledgements to go out; close
// the session after it returns.
func (in *Intake) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	work, stopWork := context.WithCancel(context.Background())
	defer stopWork()
	// One worker a lane: it never waits for the disk (the spool acknowledges from
	// its flusher), and it keeps each device's events in order, which the alert rules
	// need (a fall_cancel must not overtake its fall). A device's events and readings
	// may be taken in either order: the rules go by each message's own time.
	wg.Go(func() { in.work(work, in.in, true) })
	wg.Go(func() { in.work(work, in.events, false) })
	<-ctx.Done()
	close(in.stop)
	in.drain(work)
	stopWork()
	wg.Wait()
	in.refuseQueued()
	in.pending.Wait() // their acks go out before the disconnect
	return nil
}

// refuseQueued refuses what the workers left queued (the drain's bound passed): an
// external broker redelivers it to the next session by itself.
func (in *Intake) refuseQueued() {
	for _, lane := range []chan received{in.in, in.events} {
		for {
			select {
			case r := <-lane:
				refuse(r.msg, ErrStopped)
				continue
			default:
			}
			break
		}
	}
}

// drain waits, up to a bound, for the worker to empty the queue.
func (in *Intake) drain(ctx context.Context) {
	deadline := time.Now().Add(10 * time.Second)
	for len(in.in)+len(in.events) > 0 && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(10 * time.Millisecond)
	}
}
