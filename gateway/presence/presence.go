// Package presence keeps whether the gateway hears each device and stores every
// change in InfluxDB (measurement presence, through the spool), so that a device's
// time online can be reckoned later (the monthly report, docs/report.md). The
// device's own status messages and Last Will say when it goes offline cleanly; a
// device that loses power or coverage sends nothing, and only the gateway can tell
// it fell silent. Before this package only the alert (device_offline) recorded
// that, and not when a village outage folded it away.
package presence

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"carebed/gateway/points"
	"carebed/gateway/protocol"
)

// Spool takes the presence records without waiting for the disk; *spool.Spool is
// one. Observe runs on the ingest's one worker: a wait for an fsync there would hold
// up every device's messages (at a restart, one wait per device).
type Spool interface {
	AppendAsync(recs [][]byte, done func(error)) error
}

// DefaultHeartbeat is assumed for a device that has not said its heartbeat
// interval (the alert rules assume the same).
const DefaultHeartbeat = 5 * time.Minute

// Options configure a Tracker.
type Options struct {
	Spool Spool
	// Heartbeats is how many heartbeat intervals of silence make a device offline
	// for a township (the policy's rules.offline_heartbeats); nil or 0: 3.
	Heartbeats func(township string) int
	Logger     *slog.Logger
	Now        func() time.Time
}

// Tracker is an ingest observer that writes a presence point whenever a device's
// state changes: online on any message (or its status online), offline on its
// status offline (Last Will) or when it has been silent for the policy's number of
// heartbeat intervals. It starts knowing nothing: the first message of each device
// after a start writes a point.
type Tracker struct {
	o   Options
	log *slog.Logger
	mu  sync.Mutex
	dev map[string]*device
}

type device struct {
	tags      points.Tags
	online    bool
	lastSeen  time.Time
	heartbeat time.Duration
	// written is the time of the device's last point: the next is written at least
	// a nanosecond later, so two changes in one batch stay two points.
	written time.Time
}

// stamp returns at, or just after the device's last point.
func (d *device) stamp(at time.Time) time.Time {
	if !at.After(d.written) {
		at = d.written.Add(time.Nanosecond)
	}
	d.written = at
	return at
}

// New returns a Tracker.
func New(o Options) *Tracker {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Tracker{o: o, log: o.Logger.With("component", "presence"), dev: map[string]*device{}}
}

// Observe takes an accepted device message (ingest.Observer).
func (t *Tracker) Observe(_ context.Context, m protocol.Message, tags points.Tags, s points.Stamp) error {
	online, cause := true, "message"
	var hb time.Duration
	if m.Topic.Kind == protocol.KindStatus {
		online, cause = m.Status.Online, "status"
		hb = time.Duration(m.Status.HeartbeatS) * time.Second
	}
	t.mu.Lock()
	d, known := t.dev[tags.Device]
	if !known {
		d = &device{heartbeat: DefaultHeartbeat}
		t.dev[tags.Device] = d
	}
	d.tags, d.lastSeen = tags, s.Received
	if hb > 0 {
		d.heartbeat = hb
	}
	changed := !known || d.online != online
	d.online = online
	var at time.Time
	if changed {
		at = d.stamp(s.Received)
	}
	t.mu.Unlock()
	if changed {
		t.write(points.PresencePoint{Tags: tags, Online: online, Cause: cause, At: at})
	}
	return nil
}

// Tick marks offline the devices silent for their township's heartbeats, as of
// one heartbeat after they were last heard (when their next message was due).
func (t *Tracker) Tick(now time.Time) {
	var gone []points.PresencePoint
	t.mu.Lock()
	for _, d := range t.dev {
		if d.online && now.Sub(d.lastSeen) > time.Duration(t.heartbeats(d.tags.Township))*d.heartbeat {
			d.online = false
			gone = append(gone, points.PresencePoint{Tags: d.tags, Online: false, Cause: "silent", At: d.stamp(d.lastSeen.Add(d.heartbeat))})
		}
	}
	t.mu.Unlock()
	for _, p := range gone {
		t.write(p)
	}
}

// Run ticks every interval until ctx ends.
func (t *Tracker) Run(ctx context.Context, interval time.Duration) {
	tk := time.NewTicker(interval)
	defer tk.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tk.C:
			t.Tick(t.o.Now())
		}
	}
}

func (t *Tracker) heartbeats(township string) int {
	if t.o.Heartbeats != nil {
		if n := t.o.Heartbeats(township); n > 0 {
			return n
		}
	}
	return 3
}

// write spools the point; a failure is logged (the state is kept: the next change
// writes again).
func (t *Tracker) write(p points.PresencePoint) {
	if t.o.Spool == nil {
		return
	}
	rec := points.AppendPresence(points.AppendRecordHeader(nil, p.Tags.Device), p)
	failed := func(err error) {
		if err != nil {
			t.log.Warn("presence point not written to the spool", "device", p.Tags.Device, "err", err)
		}
	}
	failed(t.o.Spool.AppendAsync([][]byte{rec}, failed))
}
