package service

import (
	"sync/atomic"

	"carebed/gateway/points"
	"carebed/gateway/registry"
)

// deviceTable is the registry's devices in memory, swapped whole on refresh, so the
// ingest looks devices up without touching SQLite.
type deviceTable struct {
	m      atomic.Pointer[map[string]points.Tags]
	mobile atomic.Pointer[map[string]bool] // homes the ledger marks mobile
	phones atomic.Pointer[map[string]bool] // elders' own phones (sms_phone)
}

// SMSOnly reports whether device is an elder's own phone, which sends no heartbeats.
func (t *deviceTable) SMSOnly(device string) bool {
	m := t.phones.Load()
	return m != nil && (*m)[device]
}

// Mobile reports whether the ledger marks home mobile (流动/游牧).
func (t *deviceTable) Mobile(home string) bool {
	m := t.mobile.Load()
	return m != nil && (*m)[home]
}

// Lookup returns the tags of a registered device.
func (t *deviceTable) Lookup(id string) (points.Tags, bool) {
	m := t.m.Load()
	if m == nil {
		return points.Tags{}, false
	}
	tags, ok := (*m)[id]
	return tags, ok
}

// set replaces the table with the registry's devices and returns their number.
func (t *deviceTable) set(devs []registry.Device) int {
	m := make(map[string]points.Tags, len(devs))
	mobile, phones := make(map[string]bool), make(map[string]bool)
	for _, d := range devs {
		if d.SMSOnly() {
			phones[d.ID] = true
		}
		m[d.ID] = points.Tags{County: d.Place.County, Township: d.Place.Township,
			Village: d.Place.Village, Home: d.Place.Home, Device: d.ID, Kind: d.Kind}
		if d.Mobile {
			mobile[d.Place.Home] = true
		}
	}
	t.m.Store(&m)
	t.mobile.Store(&mobile)
	t.phones.Store(&phones)
	return len(m)
}
