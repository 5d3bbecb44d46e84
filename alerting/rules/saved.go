package rules

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"carebed/alerting"
)

// ConditionStore keeps the derived conditions' state between runs: one opaque value
// per device.
type ConditionStore interface {
	SaveConditions(ctx context.Context, states map[string][]byte) error
	LoadConditions(ctx context.Context) (map[string][]byte, error)
}

// savedState is a devState as the store keeps it.
type savedState struct {
	Place        alerting.Place  `json:"place"`
	HeartbeatS   int64           `json:"heartbeat_s"`
	Occupied     bool            `json:"occupied,omitempty"`
	NoHRSince    time.Time       `json:"no_hr_since,omitzero"`
	AbnormalFrom time.Time       `json:"abnormal_from,omitzero"`
	ExitAt       time.Time       `json:"exit_at,omitzero"`
	LastActivity time.Time       `json:"last_activity,omitzero"`
	Silent       bool            `json:"silent,omitempty"`
	Senses       bool            `json:"senses,omitempty"`
	LowBattery   bool            `json:"low_battery,omitempty"`
	Raised       []alerting.Kind `json:"raised,omitempty"`
}

// Save writes the state of every device that changed since the last Save, so that
// after a restart (Restore) a night bed exit, a missing heart rate or a silence goes
// on being timed from when it began, and a device that never speaks again is still
// found silent. The gateway saves every 30 s and when it stops. The village outages'
// folded joins are written first (to the alert store).
func (e *Engine) Save(ctx context.Context, st ConditionStore) error {
	var folded error
	if err := e.writeFolded(ctx); err != nil {
		folded = fmt.Errorf("writing the village outages' repeats: %w", err)
	}
	return errors.Join(folded, e.saveConditions(ctx, st))
}

// saveConditions writes the state of every device that changed since the last save.
func (e *Engine) saveConditions(ctx context.Context, st ConditionStore) error {
	dirty := e.conds.takeDirty() // copied under the lock the ingest takes; encoded outside it
	if len(dirty) == 0 {
		return nil
	}
	states := make(map[string][]byte, min(len(dirty), SaveChunk))
	saved := 0
	for device, sv := range dirty {
		b, err := json.Marshal(sv)
		if err != nil {
			e.conds.markDirty(dirty)
			return err
		}
		states[device] = b
		if len(states) == SaveChunk || saved+len(states) == len(dirty) {
			if err := st.SaveConditions(ctx, states); err != nil {
				e.conds.markDirty(dirty) // those saved already are saved again: harmless
				return fmt.Errorf("saving the state of %d devices: %w", len(dirty), err)
			}
			saved += len(states)
			clear(states)
		}
	}
	return nil
}

// SaveChunk is how many devices' state Save writes in one transaction: the alert
// store has one writer, and a township's 19,000 devices saved at once held an SOS's
// alert for 60 ms on a quiet machine and over 400 ms in a reconnect storm; in chunks
// of 500 a raise waits for one of them (under 10 ms).
const SaveChunk = 500

// Restore loads the saved state of the devices keep accepts (the registered ones);
// it returns how many. now is the start: the gateway was away until then, so
// silence counts from now, and a device's timed conditions wait for its first
// message (its queued messages say what happened meanwhile).
func (e *Engine) Restore(ctx context.Context, st ConditionStore, now time.Time, keep func(device string) bool) (int, error) {
	states, err := st.LoadConditions(ctx)
	if err != nil {
		return 0, fmt.Errorf("loading the devices' condition state: %w", err)
	}
	e.conds.mu.Lock()
	defer e.conds.mu.Unlock()
	if e.conds.devices == nil {
		e.conds.devices = map[string]*devState{}
	}
	n := 0
	for device, b := range states {
		var s savedState
		if !keep(device) || json.Unmarshal(b, &s) != nil {
			continue // removed from the registry, or unreadable: starts afresh
		}
		if _, seen := e.conds.devices[device]; seen {
			continue
		}
		e.conds.devices[device] = s.restore(device, now)
		n++
	}
	return n, nil
}

func (c *conditions) takeDirty() map[string]savedState {
	c.mu.Lock()
	defer c.mu.Unlock()
	dirty := map[string]savedState{}
	for device, d := range c.devices {
		if d.dirty {
			dirty[device], d.dirty = d.saved(), false
		}
	}
	return dirty
}

// markDirty marks devices whose save failed, to be saved next time.
func (c *conditions) markDirty(states map[string]savedState) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for device := range states {
		if d := c.devices[device]; d != nil {
			d.dirty = true
		}
	}
}

func (d *devState) saved() savedState {
	s := savedState{Place: d.obs.Place, HeartbeatS: int64(d.heartbeat / time.Second),
		Occupied: d.occupied, NoHRSince: d.noHRSince, AbnormalFrom: d.abnormalFrom,
		ExitAt: d.exitAt, LastActivity: d.lastActivity, Silent: d.silent, Senses: d.senses,
		LowBattery: d.lowBattery}
	for k, on := range d.raised {
		if on {
			s.Raised = append(s.Raised, k)
		}
	}
	return s
}

func (s savedState) restore(device string, now time.Time) *devState {
	d := &devState{obs: alerting.Observation{Device: device, Place: s.Place}, heartbeat: time.Duration(s.HeartbeatS) * time.Second,
		lastSeen: now, occupied: s.Occupied, noHRSince: s.NoHRSince, abnormalFrom: s.AbnormalFrom,
		exitAt: s.ExitAt, lastActivity: s.LastActivity, silent: s.Silent, senses: s.Senses,
		lowBattery: s.LowBattery, raised: map[alerting.Kind]bool{}, stale: true}
	if d.heartbeat <= 0 {
		d.heartbeat = defaultHeartbeat
	}
	if d.lastActivity.IsZero() {
		d.lastActivity = now
	}
	for _, k := range s.Raised {
		d.raised[k] = true
	}
	return d
}
