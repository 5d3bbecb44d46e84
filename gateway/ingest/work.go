package ingest

import (
	"context"
	"strings"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// work hands off batches of the messages queued on lane; each batch is acknowledged
// from the spool's flusher once it is on disk, so the worker goes on decoding
// meanwhile. With pace, under load it hands off at most once per Linger, so that
// batches hold dozens of messages rather than the few that queued while the previous
// one was handed off: each hand-off has a cost of its own. A message after a quiet
// spell goes at once. The events' lane has no pace: an SOS or a fall goes to the
// alert rules at once.
func (in *Intake) work(ctx context.Context, lane chan received, pace bool) {
	var last time.Time // the previous hand-off
	timer := time.NewTimer(0)
	for {
		w := in.batches.get()
		select {
		case <-ctx.Done():
			return
		case r := <-lane:
			w.msgs, w.acks = appendReceived(w.msgs[:0], w.acks[:0], r)
		}
		w.msgs, w.acks = in.fill(lane, w.msgs, w.acks)
		if wait := in.o.Linger - time.Since(last); pace && wait > 0 && len(w.msgs) < in.o.MaxBatch {
			timer.Reset(wait)
			w.msgs, w.acks = in.linger(ctx, lane, timer, w.msgs, w.acks)
		}
		last = time.Now()
		in.o.Metrics.queue.Set(float64(len(in.in) + len(in.events)))
		in.pending.Add(1)
		if err := in.h.HandleAsync(ctx, w.msgs, func(err error) { in.acknowledge(w, err) }); err != nil {
			for _, m := range w.acks {
				refuse(m, err)
			}
			in.pending.Done()
			return
		}
	}
}

// linger waits for the pace timer, taking in what arrives on lane meanwhile, and
// stops early for a full batch.
func (in *Intake) linger(ctx context.Context, lane chan received, pace *time.Timer, msgs []Message, acks []mqtt.Message) ([]Message, []mqtt.Message) {
	for len(msgs) < in.o.MaxBatch {
		select {
		case <-ctx.Done():
			pace.Stop()
			return msgs, acks
		case <-pace.C:
			return in.fill(lane, msgs, acks)
		case r := <-lane:
			msgs, acks = appendReceived(msgs, acks, r)
		}
	}
	pace.Stop() // Go 1.23+: no stale tick is left for the next Reset
	return msgs, acks
}

// isEvent reports whether topic is a device's event topic (protocol v1).
func isEvent(topic string) bool { return strings.HasSuffix(topic, "/event") }

// workBatch is one hand-off's messages; recycled once they are acknowledged.
type workBatch struct {
	msgs []Message
	acks []mqtt.Message
}

// acknowledge sends the PUBACKs of a batch that is on disk. Without them (err) the
// broker redelivers the messages to the next session.
func (in *Intake) acknowledge(w *workBatch, err error) {
	defer in.pending.Done()
	for _, m := range w.acks {
		if err == nil {
			m.Ack()
		} else {
			refuse(m, err)
		}
	}
	clear(w.acks)
	clear(w.msgs)
	in.batches.put(w)
}

// fill adds what is queued on lane, without waiting, up to MaxBatch.
func (in *Intake) fill(lane chan received, msgs []Message, acks []mqtt.Message) ([]Message, []mqtt.Message) {
	for len(msgs) < in.o.MaxBatch {
		select {
		case r := <-lane:
			msgs, acks = appendReceived(msgs, acks, r)
		default:
			return msgs, acks
		}
	}
	return msgs, acks
}

func appendReceived(msgs []Message, acks []mqtt.Message, r received) ([]Message, []mqtt.Message) {
	msgs = append(msgs, Message{Topic: r.msg.Topic(), Payload: r.msg.Payload(), Received: r.when, Copy: r.copy})
	return msgs, append(acks, r.msg)
}
