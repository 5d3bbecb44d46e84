package homes

import (
	"context"
	"errors"
	"sync"
	"time"

	"carebed/firmware-sim/device"
	"carebed/firmware-sim/link"
	"carebed/firmware-sim/smsphone"
)

// connectAtOnce bounds the connections opened in parallel.
const connectAtOnce = 32

// Run connects every device, then moves them all every Options.Step of simulated
// time until ctx ends; then every device says goodbye and disconnects. It fails
// when a device cannot connect.
func (h *Homes) Run(ctx context.Context) error {
	if err := h.connect(ctx); err != nil {
		h.close()
		return err
	}
	for {
		now := h.o.Clock.Now()
		h.round(now)
		select {
		case <-ctx.Done():
			h.close()
			return nil
		case <-h.o.Clock.Wait(now.Add(h.o.Step)):
		}
	}
}

// connect connects every device, a few at a time.
func (h *Homes) connect(ctx context.Context) error {
	sem := make(chan struct{}, connectAtOnce)
	errs := make([]error, len(h.units))
	var wg sync.WaitGroup
	for i, u := range h.units {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			errs[i] = u.link.Connect(cctx)
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// round moves every device to now and publishes what it made. A herder's device
// that has just lost its coverage (a gap on the pasture) loses its signal first,
// and gets it back when the gap ends (unless the scenario keeps it cut).
func (h *Homes) round(now time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, u := range h.units {
		if covered := u.model.Core().Covered(now); covered == u.gapCut {
			u.gapCut = !covered
			u.setSignal()
		}
		u.model.Tick(now)
		u.link.Flush()
	}
}

// setSignal cuts or restores the link as the scenario and the coverage say.
func (u *unit) setSignal() {
	if u.scenarioCut || u.gapCut {
		u.link.Cut()
	} else {
		u.link.Restore()
	}
}

// close says goodbye from every device, in parallel.
func (h *Homes) close() {
	var wg sync.WaitGroup
	for _, u := range h.units {
		wg.Go(u.link.Close)
	}
	wg.Wait()
}

// Ready reports whether every device is online with its replay done.
func (h *Homes) Ready() bool {
	for _, u := range h.units {
		if !u.link.Ready() && !u.link.Offline() {
			return false
		}
	}
	return true
}

// Model returns the model of a device, or nil.
func (h *Homes) Model(id string) device.Model {
	if u := h.byID[id]; u != nil {
		return u.model
	}
	return nil
}

// Phone returns the SMS-only phone of a home, or nil.
func (h *Homes) Phone(home string) *smsphone.Phone { return h.phones[home] }

// Link returns the link of a device, or nil.
func (h *Homes) Link(id string) *link.Link {
	if u := h.byID[id]; u != nil {
		return u.link
	}
	return nil
}
