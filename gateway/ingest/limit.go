package ingest

import (
	"strconv"
	"time"

	"golang.org/x/time/rate"

	"carebed/gateway/protocol"
)

// DeviceLimit bounds what one device may send, as token buckets: messages and
// telemetry readings per minute, with bursts on top. A message over either limit is
// rejected (ReasonRateLimited): counted, written to the dead-letter log and
// acknowledged like any reject. Alarm events and their cancels, status messages and
// any event type not listed in limitedEvents are never limited. A zero per-minute
// rate turns that limit off.
type DeviceLimit struct {
	MessagesPerMinute, MessageBurst int
	ReadingsPerMinute, ReadingBurst int
}

// ReasonRateLimited: the device sent more messages or readings than its limit
// (ingest.device_limit); an ingest reject reason.
const ReasonRateLimited protocol.Reason = "rate_limited"

// limitedEvents are the event types that count against the limits: those that page
// nobody at once. Every other type (sos, fall, smoke, gas, water_leak, tamper, the
// cancels, and any type a later protocol adds) always passes.
var limitedEvents = map[protocol.EventType]bool{
	protocol.EventBedExit: true, protocol.EventBedReturn: true, protocol.EventLowBattery: true,
	protocol.EventVisit: true,
}

// limitedCost reports whether m counts against its device's limits, and how many
// readings it carries.
func limitedCost(m *protocol.Message) (limited bool, readings int) {
	switch m.Topic.Kind {
	case protocol.KindTelemetry:
		return true, len(m.Telemetry.Readings)
	case protocol.KindEvent:
		return limitedEvents[m.Event.Type], 0
	}
	return false, 0
}

// deviceBuckets are one device's token buckets, kept beside its duplicate filter in
// the same map entry; nil until the device first sends a limited message.
type deviceBuckets struct {
	msgs, readings *rate.Limiter
}

// newBuckets returns full buckets for l; a bucket whose rate is 0 is nil (no limit).
func newBuckets(l DeviceLimit) *deviceBuckets {
	b := &deviceBuckets{}
	if l.MessagesPerMinute > 0 {
		b.msgs = rate.NewLimiter(rate.Limit(float64(l.MessagesPerMinute)/60), max(1, l.MessageBurst))
	}
	if l.ReadingsPerMinute > 0 {
		b.readings = rate.NewLimiter(rate.Limit(float64(l.ReadingsPerMinute)/60), max(1, l.ReadingBurst))
	}
	return b
}

// allow takes one message and n readings from the buckets at time at; it reports
// which limit refused them, or "" when both allow them.
func (b *deviceBuckets) allow(at time.Time, n int) string {
	if b.msgs != nil && !b.msgs.AllowN(at, 1) {
		return "messages"
	}
	if b.readings != nil && n > 0 && !b.readings.AllowN(at, n) {
		return "readings"
	}
	return ""
}

// allow applies device's limits to a message of n readings received at at; it
// reports which limit refused it, or "".
func (d *dedup) allow(device string, at time.Time, n int) string {
	if d.limit == (DeviceLimit{}) {
		return ""
	}
	sh := d.shard(device)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	w := sh.window(device, d.words)
	if w.buckets == nil {
		w.buckets = newBuckets(d.limit)
	}
	return w.buckets.allow(at, n)
}

// rateLimitedError says which of the device's limits a message went over.
type rateLimitedError struct {
	device, which string
	limit         DeviceLimit
}

func (e rateLimitedError) Error() string {
	per, burst := e.limit.MessagesPerMinute, e.limit.MessageBurst
	if e.which == "readings" {
		per, burst = e.limit.ReadingsPerMinute, e.limit.ReadingBurst
	}
	return string(ReasonRateLimited) + ": device " + e.device + " sent more " + e.which + " than its limit of " +
		strconv.Itoa(per) + " a minute (burst " + strconv.Itoa(burst) + "; ingest.device_limit)"
}
