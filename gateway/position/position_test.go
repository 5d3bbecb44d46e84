package position

import (
	"context"
	"path/filepath"
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
