package device

import (
	"time"

	"carebed/gateway/protocol"
)

// Visit is a visitor's card tapped on the device, or its caregiver button pressed
// (探访打卡): it sends a visit event at now, which the gateway records as a visit
// (docs/visits.md), and returns its seq. Pendants and bed sensors have it.
func (f *Firmware) Visit(now time.Time) uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.event(now, protocol.EventVisit, nil, 0)
}
