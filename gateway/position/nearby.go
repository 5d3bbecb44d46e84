package position

import (
	"cmp"
	"context"
	"slices"
	"time"

	"carebed/alerting"
	"carebed/gateway/geo"
	"carebed/gateway/protocol"
	"carebed/gateway/registry"
)

// Places is what Nearby needs of the registry, taken from it at each load rather than
// read for each alert (at 100,000 devices reading them took half a second, before
// any page of a far-away SOS went out; BenchmarkNearby): by county, its village
// doctors and visitors, each placed at a village they serve (the mean of its homes'
// coordinates), one entry per phone and village.
type Places struct {
	counties map[string][]placed
}

// placed is a responder at one of their villages: their contact of a home there, and
// another home's when there is one (Nearby leaves out the device's own home).
type placed struct {
	c, other registry.Contact
	at       geo.Point
}

// NewPlaces places the responders among contacts at the villages of devs' homes.
// Homes without coordinates place nobody.
func NewPlaces(devs []registry.Device, contacts []registry.Contact) *Places {
	homes, villages := homeVillages(devs)
	type key struct {
		phone   string
		village registry.Place
	}
	index := map[key]int{}
	p := &Places{counties: map[string][]placed{}}
	for _, c := range contacts {
		v, ok := homes[c.Home]
		if !ok || c.Phone == "" ||
			(c.Role != string(alerting.ReceiverVillageDoctor) && c.Role != string(alerting.ReceiverVillageVisitor)) {
			continue
		}
		k := key{c.Phone, v}
		i, seen := index[k]
		if !seen {
			index[k] = len(p.counties[v.County])
			p.counties[v.County] = append(p.counties[v.County], placed{c: c, at: villages[v].mean()})
			continue
		}
		if e := &p.counties[v.County][i]; e.other.Home == "" && c.Home != e.c.Home {
			e.other = c
		}
	}
	return p
}

// Near is a responder near a device far from home: one of their contacts (the one of
// their nearest village), how far the device is from them and which way ("8.5 公里
// 西北").
type Near struct {
	Contact registry.Contact
	Metres  float64
	Way     string
}

// Nearby lists the village doctors and visitors of device's county nearest to its last
// known position, nearest first, one per phone, none of its own home's: when the fix
// is younger than protocol.MaxFixAge and farther than beyond metres from its home.
// The ledger places people only through the homes they serve, so a responder is placed
// at the nearest of their villages, a village at the mean of its homes' coordinates.
// Nothing is listed for a home without coordinates: how far it is cannot be known,
// nor before the registry's places are known (places nil).
func (t *Tracker) Nearby(ctx context.Context, devices Devices, places *Places, device string, beyond float64, now time.Time) ([]Near, error) {
	p, ok := t.Last(device)
	if !ok || now.Sub(p.At) > protocol.MaxFixAge || places == nil {
		return nil, nil
	}
	d, err := devices.Device(ctx, device)
	if err != nil || (d.Lat == 0 && d.Lon == 0) {
		return nil, nil //nolint:nilerr // an unregistered device has nobody near it
	}
	fix := geo.Point{Lat: p.Lat, Lon: p.Lon}
	if geo.Distance(geo.Point{Lat: d.Lat, Lon: d.Lon}, fix) <= beyond {
		return nil, nil
	}
	best := map[string]Near{} // by phone
	for _, e := range places.counties[d.Place.County] {
		c := e.c
		if c.Home == d.Place.Home {
			if c = e.other; c.Home == "" {
				continue
			}
		}
		m := geo.Distance(e.at, fix)
		if b, ok := best[c.Phone]; !ok || m < b.Metres {
			best[c.Phone] = Near{Contact: c, Metres: m, Way: geo.DistanceText(m) + " " + geo.Direction(geo.Bearing(e.at, fix))}
		}
	}
	out := make([]Near, 0, len(best))
	for _, n := range best {
		out = append(out, n)
	}
	slices.SortFunc(out, func(a, b Near) int {
		return cmp.Or(cmp.Compare(a.Metres, b.Metres), cmp.Compare(a.Contact.Phone, b.Contact.Phone))
	})
	return out, nil
}

// village sums the coordinates of a village's homes.
type village struct {
	lat, lon float64
	n        int
}

func (v village) mean() geo.Point {
	return geo.Point{Lat: v.lat / float64(v.n), Lon: v.lon / float64(v.n)}
}

// homeVillages maps the homes with coordinates to their villages, and the villages
// to their homes' coordinates.
func homeVillages(devs []registry.Device) (map[string]registry.Place, map[registry.Place]village) {
	homes := map[string]registry.Place{}
	villages := map[registry.Place]village{}
	for _, d := range devs {
		if d.Lat == 0 && d.Lon == 0 {
			continue
		}
		if _, seen := homes[d.Place.Home]; seen {
			continue
		}
		key := registry.Place{County: d.Place.County, Township: d.Place.Township, Village: d.Place.Village}
		homes[d.Place.Home] = key
		v := villages[key]
		v.lat, v.lon, v.n = v.lat+d.Lat, v.lon+d.Lon, v.n+1
		villages[key] = v
	}
	return homes, villages
}
