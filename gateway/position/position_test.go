package position

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"carebed/gateway/protocol"
	"carebed/gateway/registry"
)

func TestTrackerKeepsNewestAndPersists(t *testing.T) {
	path := filepath.Join(t.TempDir(), "registry.db")
	st, err := registry.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	recv := time.UnixMilli(1764401005000)
	tr := New(st, nil)
	ev := protocol.Message{Topic: protocol.Topic{Kind: protocol.KindEvent},
		Event: protocol.Event{Seq: 3, TS: 1764401000000, Type: protocol.EventSOS, Fix: &protocol.Fix{Lat: 42.87, Lon: 83.71, AccM: 15}}}
	tr.Message("p-1", ev, recv)
	// A replayed, older reading does not move the device back.
	tr.Fix("p-1", protocol.Fix{Lat: 43, Lon: 84, AccM: 5, TS: 1764300000000}, 1764300000000, recv)
	// A device without a clock: the fix is dated on arrival.
	tr.Fix("p-2", protocol.Fix{Lat: 42.5, Lon: 86.3, AccM: 20}, 0, recv)
	if p, ok := tr.Last("p-1"); !ok || p.Lat != 42.87 || !p.At.Equal(time.UnixMilli(1764401000000)) {
		t.Errorf("p-1 last = %+v %v", p, ok)
	}
	if p, _ := tr.Last("p-2"); !p.At.Equal(recv) {
		t.Errorf("p-2 at %v, want the arrival %v", p.At, recv)
	}
	if err := tr.Save(ctx); err != nil {
		t.Fatal(err)
	}
	again := New(st, nil)
	if err := again.Load(ctx); err != nil {
		t.Fatal(err)
	}
	for _, dev := range []string{"p-1", "p-2"} {
		want, _ := tr.Last(dev)
		got, ok := again.Last(dev)
		if !ok || got.Lat != want.Lat || got.Lon != want.Lon || got.AccM != want.AccM || !got.At.Equal(want.At) || !got.Received.Equal(want.Received) {
			t.Errorf("%s after reload = %+v, want %+v", dev, got, want)
		}
	}
	// The table keeps the newer position even when an older one is saved later.
	old := New(st, nil)
	old.Fix("p-1", protocol.Fix{Lat: 1, Lon: 1, AccM: 1, TS: 1}, 0, recv)
	if err := old.Save(ctx); err != nil {
		t.Fatal(err)
	}
	ps, err := st.Positions(ctx)
	if err != nil || ps["p-1"].Lat != 42.87 {
		t.Errorf("stored p-1 = %+v %v", ps["p-1"], err)
	}
}

type fakeDevices map[string]registry.Device

func (f fakeDevices) Device(_ context.Context, id string) (registry.Device, error) {
	d, ok := f[id]
	if !ok {
		return d, registry.ErrNotFound
	}
	return d, nil
}

func TestWhere(t *testing.T) {
	now := time.Date(2026, 7, 1, 10, 0, 0, 0, time.UTC)
	devs := fakeDevices{
		"p-1": {ID: "p-1", Place: registry.Place{Village: "哈尔莫敦村"}, Lat: 42.74, Lon: 86.29},
		"p-2": {ID: "p-2", Place: registry.Place{Village: "巴伦台村"}},
		"p-3": {ID: "p-3", Place: registry.Place{Village: "哈尔莫敦村"}, Lat: 42.89, Lon: 86.09},
	}
	tr := New(nil, nil)
	tr.Fix("p-1", protocol.Fix{Lat: 42.89, Lon: 86.09, AccM: 15, TS: now.Add(-3 * time.Hour).UnixMilli()}, 0, now)
	tr.Fix("p-2", protocol.Fix{Lat: 42.89, Lon: 86.09, AccM: 15, TS: now.Add(-time.Minute).UnixMilli()}, 0, now)
	tr.Fix("p-3", protocol.Fix{Lat: 42.8955, Lon: 86.09, AccM: 15, TS: now.Add(-time.Minute).UnixMilli()}, 0, now)
	tr.Fix("p-old", protocol.Fix{Lat: 42.89, Lon: 86.09, AccM: 15, TS: now.Add(-8 * 24 * time.Hour).UnixMilli()}, 0, now)
	tests := []struct{ device, prefix string }{
		{"p-1", "距哈尔莫敦村 23 公里 西北（3 小时前） https://uri.amap.com/marker?position="},
		{"p-2", "最后位置 https://uri.amap.com/marker?position="}, // the home has no coordinates
		{"p-3", ""},    // 600 m from home: at home, the address says it
		{"p-old", ""},  // a week and more: no use
		{"p-none", ""}, // never sent a fix
	}
	for _, tt := range tests {
		got := tr.Where(context.Background(), devs, tt.device, now)
		if tt.prefix == "" && got != "" || tt.prefix != "" && !strings.HasPrefix(got, tt.prefix) {
			t.Errorf("Where(%s) = %q, want %q…", tt.device, got, tt.prefix)
		}
	}
}
