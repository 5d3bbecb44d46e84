package rules

import (
	"context"
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
// (every device that went down with it is back).
func (o *outages) online(p alerting.Place, device string) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	v := o.village(p)
	delete(v.recent, device)
	if !v.open || !v.down[device] {
		return false
	}
	delete(v.down, device)
	if len(v.down) > 0 {
		return false
	}
	v.open = false
	return true
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
	vo := o
	vo.Place = alerting.VillagePlace(o.Place)
	if err := e.raise(ctx, vo, alerting.KindVillageOutage, alerting.High, time.Time{}); err != nil {
		return err
	}
	n, err := e.o.Store.CancelPendingInVillage(ctx, o.Place, alerting.KindDeviceOffline, o.Received, "village outage")
	if n > 0 {
		e.log.Info("device offline alerts folded into the village outage", "village", o.Place.Village, "alerts", strconv.Itoa(n))
	}
	return err
}

// deviceOnline resolves the device's offline alert and, when the last device of a
// village outage is back, the outage.
func (e *Engine) deviceOnline(ctx context.Context, o alerting.Observation) error {
	if err := e.resolveOpen(ctx, o.Place, alerting.KindDeviceOffline, o.Device, o); err != nil {
		return err
	}
	if !e.outages.online(o.Place, o.Device) {
		return nil
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
