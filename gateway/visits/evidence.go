package visits

import (
	"context"
	"slices"
	"time"

	"carebed/gateway/points"
	"carebed/gateway/protocol"
)

// keepActivity is how long sensor activity and unconfirmed check-ins are kept in
// memory: the window, plus time for a device's late (spooled) messages to arrive.
const keepActivity = 3 * time.Hour

// MotionThreshold is the bed sensor motion (0..1) that counts as someone there.
const MotionThreshold = 0.2

// Observe is an ingest observer: it keeps the activity of each home's sensors in
// memory (motion, a change of occupancy, any device event but low_battery) and
// records a visit event as a visit. It fails only when a visit event cannot be
// recorded; the broker then delivers the message again.
func (s *Service) Observe(ctx context.Context, m protocol.Message, t points.Tags, st points.Stamp) error {
	if t.Home == "" {
		return nil
	}
	at := func(ts int64) time.Time {
		if points.HasClock(ts) {
			return time.UnixMilli(ts)
		}
		return st.Received
	}
	switch m.Topic.Kind {
	case protocol.KindEvent:
		e := m.Event
		if e.Type == protocol.EventLowBattery {
			return nil
		}
		when := at(e.TS)
		// The activity first: a check-in recorded once the visit event is counted
		// finds it.
		s.active(ctx, t.Home, when)
		if e.Type == protocol.EventVisit {
			return s.deviceVisit(ctx, t, e, when)
		}
	case protocol.KindTelemetry:
		for _, r := range m.Telemetry.Readings {
			if s.readingActive(t.Device, r) {
				s.active(ctx, t.Home, at(r.TS))
			}
		}
	}
	return nil
}

// readingActive reports whether a reading shows someone there: motion at or over
// MotionThreshold, or occupancy that changed since the device's last reading.
func (s *Service) readingActive(device string, r protocol.Reading) bool {
	active := r.Motion != nil && *r.Motion >= MotionThreshold
	if r.Occupied != nil {
		s.mu.Lock()
		prev, seen := s.occupied[device]
		s.occupied[device] = *r.Occupied
		s.mu.Unlock()
		active = active || seen && prev != *r.Occupied
	}
	return active
}

// active records activity at a home and confirms the check-ins it falls near.
func (s *Service) active(ctx context.Context, home string, at time.Time) {
	now := s.o.Now()
	s.mu.Lock()
	s.activity[home] = remember(prune(s.activity[home], now), at)
	var confirm []Visit
	keep := s.pending[home][:0]
	for _, p := range s.pending[home] {
		switch {
		case near(p.v.At, at):
			confirm = append(confirm, p.v)
		case now.Sub(p.v.At) < keepActivity:
			keep = append(keep, p)
		}
	}
	if len(keep) == 0 {
		delete(s.pending, home)
	} else {
		s.pending[home] = keep
	}
	s.mu.Unlock()
	for _, v := range confirm {
		if err := s.st.confirm(ctx, v.ID); err != nil {
			s.log.Warn("a check-in confirmed by sensors could not be marked", "home", home, "visit", v.ID, "err", err)
			continue
		}
		v.Confirmed = true
		s.log.Info("check-in confirmed by the home's sensors", "home", home, "visit", v.ID)
		s.writePoint(v)
	}
}

// maxActivity bounds the activity kept per home.
const maxActivity = 256

// remember adds at to a home's activity: not when the latest is within a minute of
// it (a sensor reporting every few seconds), and dropping the oldest when full.
func remember(acts []time.Time, at time.Time) []time.Time {
	if n := len(acts); n > 0 {
		if d := at.Sub(acts[n-1]); d > -time.Minute && d < time.Minute {
			return acts
		}
	}
	if len(acts) >= maxActivity {
		acts = slices.Delete(acts, 0, 1)
	}
	return append(acts, at)
}

// prune drops activity older than keepActivity.
func prune(acts []time.Time, now time.Time) []time.Time {
	return slices.DeleteFunc(acts, func(t time.Time) bool { return now.Sub(t) > keepActivity })
}

// near reports whether a and b are within Window of each other.
func near(a, b time.Time) bool {
	d := a.Sub(b)
	return d >= -Window && d <= Window
}

// sawActivity reports whether the home's sensors showed someone within Window of at.
func (s *Service) sawActivity(home string, at time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.ContainsFunc(s.activity[home], func(t time.Time) bool { return near(t, at) })
}

// awaitEvidence keeps an unconfirmed check-in so that sensor activity arriving later
// (up to Window after it, or late from a device that was offline) confirms it.
func (s *Service) awaitEvidence(v Visit) {
	s.mu.Lock()
	s.pending[v.Home] = append(s.pending[v.Home], pendingVisit{v: v})
	s.mu.Unlock()
}

// loadPending reloads the unconfirmed check-ins of the last keepActivity after a
// restart (the activity itself is not kept across restarts).
func (s *Service) loadPending(ctx context.Context) error {
	since := s.o.Now().Add(-keepActivity).UnixMilli()
	vs, err := s.st.list(ctx, `WHERE NOT confirmed AND at_ms >= ?`, since)
	if err != nil {
		return err
	}
	for _, v := range vs {
		s.awaitEvidence(v)
	}
	return nil
}
