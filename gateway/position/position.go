// Package position keeps each device's last known position: in memory, fed by the
// ingest from every accepted message with a fix, and saved to the registry's
// positions table in the background, so a restart remembers where a herder was. A
// person's whereabouts are personal data: nothing here logs a position.
package position

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"carebed/gateway/protocol"
	"carebed/gateway/registry"
)

// Store is where positions persist: the registry.
type Store interface {
	SavePositions(ctx context.Context, ps map[string]registry.Position) error
	Positions(ctx context.Context) (map[string]registry.Position, error)
}

// Tracker holds the last known position of each device. It is safe for concurrent use.
type Tracker struct {
	store Store
	log   *slog.Logger

	mu    sync.Mutex
	last  map[string]registry.Position
	dirty map[string]struct{}
}

// New returns a Tracker that persists to store (nil: memory only).
func New(store Store, log *slog.Logger) *Tracker {
	if log == nil {
		log = slog.Default()
	}
	return &Tracker{store: store, log: log.With("component", "position"),
		last: make(map[string]registry.Position), dirty: make(map[string]struct{})}
}

// Load reads the saved positions; a position taken in since is kept if it is newer.
func (t *Tracker) Load(ctx context.Context) error {
	if t.store == nil {
		return nil
	}
	ps, err := t.store.Positions(ctx)
	if err != nil {
		return err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for dev, p := range ps {
		if cur, ok := t.last[dev]; !ok || p.At.After(cur.At) {
			t.last[dev] = p
		}
	}
	return nil
}

// Fix records a fix of device that came with a message whose ts is msgTS (Unix ms,
// 0 for no clock) and arrived at received. An older fix than the one known is
// ignored: replays after a coverage gap come oldest first, but may come after a
// live message.
func (t *Tracker) Fix(device string, f protocol.Fix, msgTS int64, received time.Time) {
	at := received
	if ms := f.At(msgTS); ms > 0 && ms <= protocol.MaxTS {
		at = time.UnixMilli(ms)
	}
	p := registry.Position{Lat: f.Lat, Lon: f.Lon, AccM: f.AccM, At: at, Received: received}
	t.mu.Lock()
	defer t.mu.Unlock()
	if cur, ok := t.last[device]; ok && cur.At.After(at) {
		return
	}
	t.last[device] = p
	t.dirty[device] = struct{}{}
}

// Message records every fix m carries.
func (t *Tracker) Message(device string, m protocol.Message, received time.Time) {
	switch m.Topic.Kind {
	case protocol.KindTelemetry:
		for _, r := range m.Telemetry.Readings {
			if r.Fix != nil {
				t.Fix(device, *r.Fix, r.TS, received)
			}
		}
	case protocol.KindEvent:
		if m.Event.Fix != nil {
			t.Fix(device, *m.Event.Fix, m.Event.TS, received)
		}
	case protocol.KindStatus:
		if m.Status.Fix != nil {
			t.Fix(device, *m.Status.Fix, m.Status.TS, received)
		}
	}
}

// Last returns device's last known position.
func (t *Tracker) Last(device string) (registry.Position, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	p, ok := t.last[device]
	return p, ok
}

// Save writes the positions changed since the last Save. On failure they stay to be
// written next time.
func (t *Tracker) Save(ctx context.Context) error {
	if t.store == nil {
		return nil
	}
	t.mu.Lock()
	batch := make(map[string]registry.Position, len(t.dirty))
	for dev := range t.dirty {
		batch[dev] = t.last[dev]
	}
	clear(t.dirty)
	t.mu.Unlock()
	if err := t.store.SavePositions(ctx, batch); err != nil {
		t.mu.Lock()
		for dev := range batch {
			t.dirty[dev] = struct{}{}
		}
		t.mu.Unlock()
		return err
	}
	return nil
}

// Run saves every interval until ctx ends, then once more.
func (t *Tracker) Run(ctx context.Context, interval time.Duration) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			if err := t.Save(context.Background()); err != nil {
				t.log.Error("last known positions not saved at shutdown", "err", err)
			}
			return
		case <-tick.C:
			if err := t.Save(ctx); err != nil && ctx.Err() == nil {
				t.log.Error("last known positions not saved; retrying", "err", err)
			}
		}
	}
}
