// Package ingest takes device messages of protocol v1 from MQTT, checks them, drops
// duplicates, and hands them off durably to the spool; only then may the broker be
// told the message is safe (PUBACK). Rejected messages go to the dead-letter log with
// their reason and never hold up good traffic.
package ingest

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"carebed/gateway/deadletter"
	"carebed/gateway/points"
	"carebed/gateway/protocol"
)

// Directory finds the place and identity tags of a registered device.
type Directory interface {
	Lookup(device string) (points.Tags, bool)
}

// Spool takes records durably: when Append returns nil they survive a crash.
type Spool interface {
	Append(recs [][]byte) error
}

// DeadLetters keeps rejected messages.
type DeadLetters interface {
	Write(deadletter.Entry) error
}

// Message is one MQTT message as received.
type Message struct {
	Topic    string
	Payload  []byte
	Received time.Time
}

// Options configure a Handler.
type Options struct {
	Directory   Directory
	Spool       Spool
	DeadLetters DeadLetters
	Metrics     *Metrics
	Logger      *slog.Logger
	// LateAfter flags messages whose ts is older than this on arrival.
	LateAfter time.Duration
	// DedupWindow is how many recent seqs per device the duplicate filter remembers.
	DedupWindow int
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// RetryMin and RetryMax bound the wait between attempts to hand off to a full or
	// failing spool.
	RetryMin, RetryMax time.Duration
}

// Handler checks messages and hands them off. It is safe for concurrent use: the
// spool merges concurrent hand-offs into one disk sync.
type Handler struct {
	o     Options
	dedup *dedup
	log   *slog.Logger
	warn  errorLogger
}

// NewHandler returns a Handler; Directory, Spool and DeadLetters are required.
func NewHandler(o Options) *Handler {
	if o.Metrics == nil {
		o.Metrics = NewMetrics(nil)
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.DedupWindow <= 0 {
		o.DedupWindow = 1024
	}
	if o.RetryMin <= 0 {
		o.RetryMin = 50 * time.Millisecond
	}
	if o.RetryMax < o.RetryMin {
		o.RetryMax = 5 * time.Second
	}
	log := o.Logger.With("component", "ingest")
	return &Handler{o: o, dedup: newDedup(o.DedupWindow), log: log, warn: errorLogger{log: log}}
}

// Rebuild feeds the duplicate filter with a record kept in the spool; the gateway
// calls it for every retained record at start, so a message redelivered after a crash
// is recognised.
func (h *Handler) Rebuild(rec []byte) error {
	r, err := points.ParseRecord(rec)
	if err != nil {
		return err
	}
	for _, s := range r.Seqs {
		h.dedup.mark(r.Device, s)
	}
	return nil
}

// DevicesSeen reports how many devices the duplicate filter knows.
func (h *Handler) DevicesSeen() int { return h.dedup.devices() }

// Handle takes msgs in and returns nil once each is either durably in the spool, in
// the dead-letter log, or a duplicate: then all of them may be acknowledged. It
// returns an error only when ctx ends before the hand-off; then none may be.
func (h *Handler) Handle(ctx context.Context, msgs []Message) error {
	var b batch
	for i := range msgs {
		h.take(&b, &msgs[i])
	}
	if len(b.recs) > 0 {
		if err := h.handOff(ctx, b.recs); err != nil {
			for _, k := range b.keys {
				h.dedup.forget(k.device, k.seq)
			}
			return err
		}
	}
	now := h.o.Now()
	for i := range msgs {
		h.o.Metrics.latency.Observe(now.Sub(msgs[i].Received).Seconds())
	}
	h.count(b.results)
	return nil
}

// count adds the batch's results to the messages metric, one Add per distinct label
// pair rather than a label lookup per message.
func (h *Handler) count(results []result) {
	var n [8]struct {
		r result
		c int
	}
	used := 0
	for _, r := range results {
		i := 0
		for i < used && n[i].r != r {
			i++
		}
		if i == used {
			if used == len(n) {
				h.o.Metrics.messages.WithLabelValues(string(r.kind), r.result).Inc()
				continue
			}
			n[i].r, used = r, used+1
		}
		n[i].c++
	}
	for _, e := range n[:used] {
		h.o.Metrics.messages.WithLabelValues(string(e.r.kind), e.r.result).Add(float64(e.c))
	}
}

// batch collects what one Handle call writes.
type batch struct {
	recs    [][]byte
	keys    []seqKey
	results []result
}

type seqKey struct {
	device string
	seq    uint64
}

type result struct {
	kind   protocol.Kind
	result string
}

// handOff appends recs, waiting and retrying while the spool is full or failing.
func (h *Handler) handOff(ctx context.Context, recs [][]byte) error {
	wait := h.o.RetryMin
	for {
		err := h.o.Spool.Append(recs)
		if err == nil {
			h.warn.clear("spool hand-off works again")
			return nil
		}
		h.o.Metrics.appendErrors.Inc()
		h.warn.report("spool hand-off failed; messages wait unacknowledged", err)
		select {
		case <-ctx.Done():
			return errors.Join(ctx.Err(), err)
		case <-time.After(wait):
		}
		wait = min(wait*2, h.o.RetryMax)
	}
}
