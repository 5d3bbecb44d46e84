package service

import (
	"context"
	"sync/atomic"

	"carebed/gateway/points"
	"carebed/gateway/registry"
)

// deviceTable is the registry's devices in memory, swapped whole on refresh, so the
// ingest looks devices up without touching SQLite.
type deviceTable struct {
	m atomic.Pointer[map[string]points.Tags]
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

// load replaces the table with the registry's devices and returns their number.
func (t *deviceTable) load(ctx context.Context, reg *registry.Store) (int, error) {
	devs, err := reg.Devices(ctx)
	if err != nil {
		return 0, err
	}
	m := make(map[string]points.Tags, len(devs))
	for _, d := range devs {
		m[d.ID] = points.Tags{County: d.Place.County, Township: d.Place.Township,
			Village: d.Place.Village, Home: d.Place.Home, Device: d.ID, Kind: d.Kind}
	}
	t.m.Store(&m)
	return len(m), nil
}
