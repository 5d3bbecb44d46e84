// Package ingest takes device messages of protocol v1 from MQTT, checks them, drops
// duplicates, and hands them off durably to the spool; only then may the broker be
// told the message is safe (PUBACK). Rejected messages go to the dead-letter log with
// their reason and never hold up good traffic.
package ingest

import (
	"context"
	"errors"
	"fmt"
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

// Spool takes records durably. AppendAsync copies recs and returns; done is called with nil
// once the records survive a crash, or with the write error. When AppendAsync itself
// returns an error (full, closed) nothing was taken and done is never called.
type Spool interface {
	AppendAsync(recs [][]byte, done func(error)) error
}

// Observer sees every accepted message that is not a duplicate before it may be
// acknowledged: the alerting rules, which commit what they decide. An error fails
// the hand-off of the whole batch: nothing is acknowledged and the broker
// redelivers it.
type Observer interface {
	Observe(ctx context.Context, m protocol.Message, tags points.Tags, s points.Stamp) error
}

// Positions keeps the last known position of each device.
type Positions interface {
	// Message takes the fixes of an accepted message that arrived at received.
	Message(device string, m protocol.Message, received time.Time)
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
	// Copy: a second copy of a message another session also delivers (the alarm
	// session's events, which the main session takes too). It is stored if it comes
	// first; rejected or a duplicate, it is acknowledged without a dead-letter entry
	// or a count, since the other copy has them.
	Copy bool
}

// Options configure a Handler.
type Options struct {
	Directory   Directory
	Spool       Spool
	DeadLetters DeadLetters
	Metrics     *Metrics
	Logger      *slog.Logger
	// Observer, if set, sees accepted messages before their acknowledgement.
	Observer Observer
	// Positions, if set, takes the fixes of accepted messages.
	Positions Positions
	// LateAfter flags messages whose ts is older than this on arrival.
	LateAfter time.Duration
	// DedupWindow is how many recent seqs per device the duplicate filter remembers.
	DedupWindow int
	// DeviceLimit bounds each device's messages and readings per minute; zero: none.
	DeviceLimit DeviceLimit
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
	// copies are the events a Copy stored first: the other copy, when it comes, is
	// expected and not counted as a duplicate.
	copies copySet
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
	d := newDedup(o.DedupWindow)
	d.limit = o.DeviceLimit
	return &Handler{o: o, dedup: d, log: log, warn: errorLogger{log: log}}
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
// returns an error when ctx ends before the spool took them, or when the spool
// failed to write them; then none may be.
func (h *Handler) Handle(ctx context.Context, msgs []Message) error {
	errc := make(chan error, 1)
	if err := h.HandleAsync(ctx, msgs, func(err error) { errc <- err }); err != nil {
		return err
	}
	return <-errc
}

// HandleAsync is Handle without the wait for the disk: done(nil) is called once the
// messages may be acknowledged, done(err) if they may not. An error returned by
// HandleAsync itself (ctx ended while the spool was full) means done is never called.
// done runs on the spool's flusher and must be quick. While the spool is full or
// failing HandleAsync waits, so a caller that feeds it from the MQTT reader makes the
// broker queue instead of the gateway buffering without bound.
func (h *Handler) HandleAsync(ctx context.Context, msgs []Message, done func(error)) error {
	return h.handleAsync(ctx, msgs, done, nil)
}

// ErrNotStored is returned (wrapped, with the reason) by Offer for a message that was
// rejected: it is in the dead-letter log, not in the spool.
var ErrNotStored = errors.New("ingest: message rejected")

// Offer takes in one message that did not come from the broker (an SOS sent by SMS)
// and waits until it is durably in the spool, or a duplicate. A message rejected
// (unknown device, bad payload) is in the dead-letter log and Offer returns an error
// wrapping ErrNotStored, so that its sender is never told it got through.
func (h *Handler) Offer(ctx context.Context, m Message) error {
	var rejected bool
	errc := make(chan error, 1)
	err := h.handleAsync(ctx, []Message{m}, func(err error) { errc <- err }, func(rs []result) {
		rejected = len(rs) != 1 || rs[0].result == resultRejected
	})
	if err != nil {
		return err
	}
	if err := <-errc; err != nil {
		return err
	}
	if rejected {
		return fmt.Errorf("%w (see the dead-letter log)", ErrNotStored)
	}
	return nil
}

// handleAsync is HandleAsync; seen, when set, is shown the results of the checks
// before anything is handed off.
func (h *Handler) handleAsync(ctx context.Context, msgs []Message, done func(error), seen func([]result)) error {
	scratch := scratches.get()
	// keys and results live on in finish, after this returns.
	out := outcomes.get()
	b := batch{buf: scratch.buf[:0], ends: scratch.ends[:0], observed: scratch.observed[:0],
		seqBuf: scratch.seqs[:0], keys: out.keys[:0], results: out.results[:0]}
	for i := range msgs {
		h.take(&b, &msgs[i])
	}
	if seen != nil {
		seen(b.results)
	}
	defer scratch.put(&b)
	fail := func() {
		h.forget(b.keys)
		out.put(&b)
	}
	if err := h.observe(ctx, b.observed); err != nil {
		fail()
		return err
	}
	finish := func(err error) {
		if err != nil {
			fail()
			done(err)
			return
		}
		now := h.o.Now()
		for i := range msgs {
			h.o.Metrics.latency.Observe(now.Sub(msgs[i].Received).Seconds())
		}
		h.count(b.results)
		out.put(&b)
		done(nil)
	}
	if len(b.ends) == 0 {
		finish(nil)
		return nil
	}
	if err := h.handOff(ctx, b.records(), finish); err != nil {
		fail()
		return err
	}
	return nil
}

func (h *Handler) forget(keys []seqKey) {
	for _, k := range keys {
		h.dedup.forget(k.device, k.seq)
	}
}

// batch collects what one Handle call writes.
type batch struct {
	buf      []byte // the records, back to back
	ends     []int  // where each record ends in buf
	keys     []seqKey
	results  []result
	observed []observed // fresh messages for the Observer
	seqBuf   []uint64   // scratch of seqs
}

type observed struct {
	msg   protocol.Message
	tags  points.Tags
	stamp points.Stamp
}

// observe shows the batch's fresh messages to the Observer.
func (h *Handler) observe(ctx context.Context, obs []observed) error {
	if h.o.Observer == nil {
		return nil
	}
	for _, o := range obs {
		if err := h.o.Observer.Observe(ctx, o.msg, o.tags, o.stamp); err != nil {
			h.warn.report("alerting could not take a message; it waits unacknowledged", err)
			return err
		}
	}
	return nil
}

// scratch is what a batch needs only until HandleAsync returns: the records' bytes
// (the spool copies records when it takes them), their ends and the messages for the
// alert rules. Recycled, because growing them anew for every batch cost a tenth of
// the gateway's CPU (copying and clearing the grown slices).
type scratch struct {
	buf      []byte
	ends     []int
	observed []observed
	seqs     []uint64
}

var scratches = newFreeList(4, func() *scratch { return &scratch{buf: make([]byte, 0, 64<<10)} })

// put keeps b's slices for the next batch, without the references it held.
func (s *scratch) put(b *batch) {
	clear(b.observed)
	s.buf, s.ends, s.observed, s.seqs = b.buf[:0], b.ends[:0], b.observed[:0], b.seqBuf[:0]
	scratches.put(s)
}

// outcome is what a batch needs until the spool has it on disk: the duplicate
// filter's keys (forgotten if the write fails) and the results to count.
type outcome struct {
	keys    []seqKey
	results []result
}

// outcomes are recycled: a batch waits for the spool's group commit, so a few are
// in flight at once.
var outcomes = newFreeList(32, func() *outcome { return &outcome{} })

// put keeps b's outcome slices for another batch.
func (o *outcome) put(b *batch) {
	clear(b.keys) // the device ids
	o.keys, o.results = b.keys[:0], b.results[:0]
	outcomes.put(o)
}

// seqs returns the seqs of the keys marked from index from on (the message being
// taken), in a scratch slice valid until the next call.
func (b *batch) seqs(from int) []uint64 {
	b.seqBuf = b.seqBuf[:0]
	for _, k := range b.keys[from:] {
		b.seqBuf = append(b.seqBuf, k.seq)
	}
	return b.seqBuf
}

// records slices buf into the records.
func (b *batch) records() [][]byte {
	recs := make([][]byte, len(b.ends))
	start := 0
	for i, end := range b.ends {
		recs[i] = b.buf[start:end:end]
		start = end
	}
	return recs
}

type seqKey struct {
	device string
	seq    uint64
}

type result struct {
	kind   protocol.Kind
	result string // one of results
}

// results are the values of carebed_ingest_messages_total's result label.
const (
	resultStored    = "stored"
	resultDuplicate = "duplicate"
	resultRejected  = "rejected"
	// resultCopy: a Copy not stored, or the expected other copy of one; not counted.
	resultCopy = "copy"
)

var results = []string{resultStored, resultDuplicate, resultRejected}

// handOff gives recs to the spool, waiting and retrying while it is full or failing.
func (h *Handler) handOff(ctx context.Context, recs [][]byte, done func(error)) error {
	wait := h.o.RetryMin
	for {
		err := h.o.Spool.AppendAsync(recs, done)
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

// count adds the batch's results to the messages metric, one Add per distinct label
// pair rather than a label lookup per message.
func (h *Handler) count(results []result) {
	var n [8]struct {
		r result
		c int
	}
	used := 0
	for _, r := range results {
		if r.result == resultCopy {
			continue
		}
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
