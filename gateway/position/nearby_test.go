package position

import (
	"context"
	"fmt"
	"testing"
	"time"

	"carebed/gateway/protocol"
	"carebed/gateway/registry"
)

// fakeRegistry is three villages of 和静县 (two homes in 巴伦台村, whose mean places
// the village) and one of another county, with their contacts.
type fakeRegistry struct{ fakeDevices }

// places are the registry's places, as the gateway takes them at each load.
func (f fakeRegistry) places() *Places {
	var devs []registry.Device
	for _, d := range f.fakeDevices {
		devs = append(devs, d)
	}
	return NewPlaces(devs, []registry.Contact{
		{Home: "H-1", Role: "village_doctor", Phone: "+861"},  // the herder's own doctor
		{Home: "H-2", Role: "village_doctor", Phone: "+862"},  // 巴伦台村
		{Home: "H-3", Role: "village_visitor", Phone: "+863"}, // 巴伦台村 too
		{Home: "H-4", Role: "village_doctor", Phone: "+864"},  // 巴西里克村, near the pasture
		{Home: "H-4", Role: "family", Phone: "+865"},          // not a responder
		{Home: "H-5", Role: "village_doctor", Phone: "+866"},  // another county, nearer still
		{Home: "H-2", Role: "village_doctor", Phone: "+864"},  // +864 serves 巴伦台村 too: placed at the nearer
		{Home: "H-9", Role: "village_visitor", Phone: "+869"}, // a home without coordinates
		{Home: "H-6", Role: "village_doctor", Phone: "+861"},  // the herder's doctor serves a neighbour too
	})
}

func TestNearby(t *testing.T) {
	now := time.Date(2026, 7, 1, 10, 0, 0, 0, time.UTC)
	place := func(county, village, home string) registry.Place {
		return registry.Place{County: county, Township: "镇", Village: village, Home: home}
	}
	reg := fakeRegistry{fakeDevices{
		"h1-sos": {ID: "h1-sos", Place: place("和静县", "哈尔莫敦村", "H-1"), Lat: 42.30, Lon: 86.40},
		"h2-bed": {ID: "h2-bed", Place: place("和静县", "巴伦台村", "H-2"), Lat: 42.74, Lon: 86.28},
		"h3-bed": {ID: "h3-bed", Place: place("和静县", "巴伦台村", "H-3"), Lat: 42.76, Lon: 86.30},
		"h4-bed": {ID: "h4-bed", Place: place("和静县", "巴西里克村", "H-4"), Lat: 42.95, Lon: 84.20},
		"h5-bed": {ID: "h5-bed", Place: place("和硕县", "某村", "H-5"), Lat: 42.90, Lon: 84.10},
		"h9-bed": {ID: "h9-bed", Place: place("和静县", "无坐标村", "H-9")},
		"h6-bed": {ID: "h6-bed", Place: place("和静县", "哈尔莫敦村", "H-6"), Lat: 42.30, Lon: 86.40},
	}}
	tr := New(nil, nil)
	tr.Fix("h1-sos", protocol.Fix{Lat: 42.90, Lon: 84.10, AccM: 15, TS: now.Add(-time.Minute).UnixMilli()}, 0, now)
	near, err := tr.Nearby(context.Background(), reg, reg.places(), "h1-sos", 5000, now)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, n := range near {
		got = append(got, fmt.Sprintf("%s %s %s", n.Contact.Phone, n.Contact.Home, n.Way))
	}
	want := "[+864 H-4 9.9 公里 西南 +862 H-2 179 公里 西 +863 H-3 179 公里 西 +861 H-6 200 公里 西]"
	if fmt.Sprint(got) != want {
		t.Errorf("Nearby = %v\nwant %s", got, want)
	}

	// Near home, stale or unknown: nobody.
	for _, c := range []struct {
		name   string
		fix    protocol.Fix
		beyond float64
	}{
		{"within beyond", protocol.Fix{Lat: 42.31, Lon: 86.40, AccM: 15, TS: now.UnixMilli()}, 5000},
		{"fix too old", protocol.Fix{Lat: 42.90, Lon: 84.10, AccM: 15, TS: now.Add(-8 * 24 * time.Hour).UnixMilli()}, 5000},
	} {
		tr := New(nil, nil)
		tr.Fix("h1-sos", c.fix, 0, now)
		if near, err := tr.Nearby(context.Background(), reg, reg.places(), "h1-sos", c.beyond, now); len(near) != 0 || err != nil {
			t.Errorf("%s: %+v %v, want nobody", c.name, near, err)
		}
	}
	if near, _ := New(nil, nil).Nearby(context.Background(), reg, reg.places(), "h1-sos", 5000, now); len(near) != 0 {
		t.Errorf("no fix: %+v, want nobody", near)
	}
}
