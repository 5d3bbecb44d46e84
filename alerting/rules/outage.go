package rules

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"time"

	"carebed/alerting"
)

// outages groups devices going offline by village: when OutageDevices of one village
// go offline within OutageWithin, it is a power cut or a mast down, not 30 separate
// problems. Each device's offline alert is held for OutageWithin, so that the village
// alert can absorb it before anyone is paged about it alone.
type outages struct {
	mu       sync.Mutex
	villages map[alerting.Place]*village
}

type village struct {
	recent map[string]time.Time // device -> when it went offline, within the window
	// order is recent's entries in the order they came, to forget the old ones
	// from the front: with a township's devices going offline at once, sweeping
	// the whole map for each cost time squared in the village's size.
	order []offlineAt
	down  map[string]bool // devices offline during an open outage
	open  bool
	// joins are the devices that joined the open outage since its alert was last
	// written (at wroteAt), last the latest of them: a township's storm brings
	// thousands within seconds, and each written alone was a commit with its sync.
	joins   int
	last    alerting.Observation
	wroteAt time.Time
}

// FoldJoinsFor is how long the devices joining a village's open outage are folded
// into one repeat of its alert: at most one write a second for a village, the
// repeat counting them all. The alert is open and paging already; a crash loses at
// most this second's count (and Tick writes a quiet village's last fold).
const FoldJoinsFor = time.Second

// join records obs's device joining its village's open outage. It returns the
// observation to write the outage's repeat with and how many devices the repeat
// stands for, or 0 while they are folded (within FoldJoinsFor of the last write).
func (o *outages) join(obs alerting.Observation) (alerting.Observation, int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	v := o.village(obs.Place)
	v.joins++
	v.last = obs
	if !v.wroteAt.IsZero() && obs.Received.Sub(v.wroteAt) < FoldJoinsFor {
		return alerting.Observation{}, 0
	}
	return v.take()
}

// take empties the village's folded joins, returning the last and their count.
func (v *village) take() (alerting.Observation, int) {
	n := v.joins
	v.joins, v.wroteAt = 0, v.last.Received
	return v.last, n
}

// folded is a village's folded joins waiting for their write.
type folded struct {
	last alerting.Observation
	n    int
}

// takeFolded empties every village's folded joins.
func (o *outages) takeFolded() []folded {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []folded
	for _, v := range o.villages {
		if v.joins > 0 {
			last, n := v.take()
			out = append(out, folded{last, n})
		}
	}
	return out
}

// offlineAt is a device that went offline at a time.
type offlineAt struct {
	device string
	at     time.Time
}

func (o *outages) village(p alerting.Place) *village {
	key := alerting.VillagePlace(p)
	if o.villages == nil {
		o.villages = map[alerting.Place]*village{}
	}
	v := o.villages[key]
	if v == nil {
		v = &village{recent: map[string]time.Time{}, down: map[string]bool{}}
		o.villages[key] = v
	}
	return v
}

// offline records a device going offline and reports whether the village is (now)
// in an outage.
func (o *outages) offline(p alerting.Place, device string, at time.Time, t Thresholds) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	v := o.village(p)
	v.forget(at.Add(-t.OutageWithin))
	v.recent[device] = at
	v.order = append(v.order, offlineAt{device, at})
	if !v.open && t.OutageDevices > 0 && len(v.recent) >= t.OutageDevices {
		v.open = true
		for d := range v.recent {
			v.down[d] = true
		}
	}
	if v.open {
		v.down[device] = true
	}
	return v.open
}

// forget drops the devices that went offline before since (the order's front; a
// device that went offline again since keeps its later time).
func (v *village) forget(since time.Time) {
	n := 0
	for n < len(v.order) && v.order[n].at.Before(since) {
		if e := v.order[n]; v.recent[e.device].Equal(e.at) {
			delete(v.recent, e.device)
		}
		n++
	}
	if n > 0 {
		v.order = append(v.order[:0], v.order[n:]...)
	}
}

// online records a device back and reports whether that ended the village's outage
// (every device that went down with it is back), with the joins folded until then
// (n > 0), to be written before the outage is resolved.
func (o *outages) online(p alerting.Place, device string) (ended bool, last alerting.Observation, n int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	v := o.village(p)
	delete(v.recent, device)
	if !v.open || !v.down[device] {
		return false, last, 0
	}
	delete(v.down, device)
	if len(v.down) > 0 {
		return false, last, 0
	}
	v.open = false
	if v.joins > 0 {
		last, n = v.take()
	}
	v.wroteAt = time.Time{} // a new outage's first device is written at once
	return true, last, n
}

// deviceOffline holds the device's offline alert and raises or repeats the village
// outage when enough devices of the village are down.
func (e *Engine) deviceOffline(ctx context.Context, o alerting.Observation) error {
	t := e.o.Thresholds(o.Place.Township, o.Place.Home)
	if t.Mobile { // not in the village: no part of its outage
		return e.raise(ctx, o, alerting.KindDeviceOffline, alerting.Warning, o.Received.Add(t.OutageWithin))
	}
	outage := e.outages.offline(o.Place, o.Device, o.Received, t)
	if !outage {
		return e.raise(ctx, o, alerting.KindDeviceOffline, alerting.Warning, o.Received.Add(t.OutageWithin))
	}
	last, n := e.outages.join(o)
	if n == 0 { // folded into the next write
		return nil
	}
	return e.writeOutage(ctx, last, n)
}

// writeOutage raises or repeats the village outage of last's village for n devices
// (last the latest of them) and folds the village's held device alerts into it.
func (e *Engine) writeOutage(ctx context.Context, last alerting.Observation, n int) error {
	r := raiseOf(last, alerting.KindVillageOutage, alerting.High, time.Time{})
	r.Place, r.Reports = alerting.VillagePlace(last.Place), n
	if n > 1 {
		r.Detail = alerting.OutageJoinsDetail(n, r.Detail)
	}
	if err := e.store(ctx, r); err != nil {
		return err
	}
	held, err := e.o.Store.CancelPendingInVillage(ctx, last.Place, alerting.KindDeviceOffline, last.Received, "village outage")
	if held > 0 {
		e.log.Info("device offline alerts folded into the village outage", "village", last.Place.Village, "alerts", strconv.Itoa(held))
	}
	return err
}

// writeFolded writes the joins folded in every village (Tick, and before a save).
func (e *Engine) writeFolded(ctx context.Context) error {
	var errs []error
	for _, f := range e.outages.takeFolded() {
		errs = append(errs, e.writeOutage(ctx, f.last, f.n))
	}
	return errors.Join(errs...)
}

// deviceOnline resolves the device's offline alert and, when the last device of a
// village outage is back, the outage.
func (e *Engine) deviceOnline(ctx context.Context, o alerting.Observation) error {
	if err := e.resolveOpen(ctx, o.Place, alerting.KindDeviceOffline, o.Device, o); err != nil {
		return err
	}
	ended, last, n := e.outages.online(o.Place, o.Device)
	if !ended {
		return nil
	}
	if n > 0 {
		if err := e.writeOutage(ctx, last, n); err != nil {
			return err
		}
	}
	return e.resolveOpen(ctx, alerting.VillagePlace(o.Place), alerting.KindVillageOutage, "", o)
}

// resolveOpen auto-resolves the open alert of kind at p (of device, unless empty).
func (e *Engine) resolveOpen(ctx context.Context, p alerting.Place, kind alerting.Kind, device string, o alerting.Observation) error {
	a, err := e.o.Store.OpenAlert(ctx, p.Home, kind)
	if err != nil || device != "" && a.Device != device {
		return ignoreNotFound(err)
	}
	_, err = e.o.Store.Resolve(ctx, a.ID, o.Device, "device", alerting.OutcomeAutoResolved, "back online", o.Received)
	return err
}
