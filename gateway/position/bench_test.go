package position

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"carebed/gateway/protocol"
	"carebed/gateway/registry"
	"carebed/internal/testledger"
)

// BenchmarkNearby measures finding the responders near an SOS far from its home, a
// cost each such alert's first step pays before any page goes out (the registry's
// places taken at its load; the device read from the registry). One county of homes
// x 3 devices, 300 villages, each with its visitor and doctor.
func BenchmarkNearby(b *testing.B) {
	for _, homes := range []int{10000, 33334} {
		b.Run(fmt.Sprintf("devices=%d", homes*3), func(b *testing.B) {
			reg := countyRegistry(b, homes)
			ctx := context.Background()
			places := loadPlaces(b, reg) // as the gateway takes them at each registry load
			now := time.Now()
			tr := New(nil, nil)
			tr.Fix("hj-00000-0", protocol.Fix{Lat: 42.9, Lon: 84.1, AccM: 15, TS: now.UnixMilli()}, 0, now)
			for b.Loop() {
				near, err := tr.Nearby(ctx, reg, places, "hj-00000-0", 5000, now)
				if err != nil || len(near) == 0 {
					b.Fatalf("Nearby: %d, %v", len(near), err)
				}
			}
		})
	}
}

// BenchmarkPlaces measures what taking the responders' places costs the gateway at
// each registry load (every registry.refresh, 30 s by default): reading the contacts
// and placing them (the devices are read for the load anyway).
func BenchmarkPlaces(b *testing.B) {
	for _, homes := range []int{10000, 33334} {
		b.Run(fmt.Sprintf("devices=%d", homes*3), func(b *testing.B) {
			reg := countyRegistry(b, homes)
			devs, err := reg.Devices(context.Background())
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				contacts, err := reg.AllContacts(context.Background())
				if err != nil || len(NewPlaces(devs, contacts).counties["和静县"]) != 600 {
					b.Fatalf("places: %v", err)
				}
			}
		})
	}
}

// countyRegistry is a registry (SQLite) of testledger.County(homes).
func countyRegistry(b *testing.B, homes int) *registry.Store {
	b.Helper()
	reg, err := registry.Open(filepath.Join(b.TempDir(), "registry.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = reg.Close() })
	if rep, err := reg.Import(context.Background(), strings.NewReader(testledger.County(homes)), registry.ImportOptions{}); err != nil || rep.Imported != homes*3 {
		b.Fatalf("import: %+v %v", rep, err)
	}
	return reg
}

// loadPlaces takes reg's places as the gateway does at each load.
func loadPlaces(b *testing.B, reg *registry.Store) *Places {
	b.Helper()
	devs, err := reg.Devices(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	contacts, err := reg.AllContacts(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	return NewPlaces(devs, contacts)
}
