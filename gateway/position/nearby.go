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

// Registry is what Nearby reads: the device, every device with its home's place and
// coordinates (whence the villages' coordinates), and every contact.
type Registry interface {
	Devices
	Devices(ctx context.Context) ([]registry.Device, error)
	AllContacts(ctx context.Context) ([]registry.Contact, error)
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
// Nothing is listed for a home without coordinates: how far it is cannot be known.
func (t *Tracker) Nearby(ctx context.Context, reg Registry, device string, beyond float64, now time.Time) ([]Near, error) {
	p, ok := t.Last(device)
	if !ok || now.Sub(p.At) > protocol.MaxFixAge {
		return nil, nil
	}
	d, err := reg.Device(ctx, device)
	if err != nil || (d.Lat == 0 && d.Lon == 0) {
		return nil, nil //nolint:nilerr // an unregistered device has nobody near it
	}
	fix := geo.Point{Lat: p.Lat, Lon: p.Lon}
	if geo.Distance(geo.Point{Lat: d.Lat, Lon: d.Lon}, fix) <= beyond {
		return nil, nil
	}
	homes, villages, err := countyVillages(ctx, reg, d.Place.County)
	if err != nil {
		return nil, err
	}
	cs, err := reg.AllContacts(ctx)
	if err != nil {
		return nil, err
	}
	best := map[string]Near{} // by phone
	for _, c := range cs {
		v, ok := homes[c.Home]
		if !ok || c.Home == d.Place.Home || c.Phone == "" ||
			(c.Role != string(alerting.ReceiverVillageDoctor) && c.Role != string(alerting.ReceiverVillageVisitor)) {
			continue
		}
		at := villages[v].mean()
		m := geo.Distance(at, fix)
		if b, ok := best[c.Phone]; !ok || m < b.Metres {
			best[c.Phone] = Near{Contact: c, Metres: m, Way: geo.DistanceText(m) + " " + geo.Direction(geo.Bearing(at, fix))}
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

// countyVillages maps the county's homes with coordinates to their villages, and the
// villages to their homes' coordinates.
func countyVillages(ctx context.Context, reg Registry, county string) (map[string]registry.Place, map[registry.Place]village, error) {
	devs, err := reg.Devices(ctx)
	if err != nil {
		return nil, nil, err
	}
	homes := map[string]registry.Place{}
	villages := map[registry.Place]village{}
	for _, d := range devs {
		if d.Place.County != county || (d.Lat == 0 && d.Lon == 0) {
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
	return homes, villages, nil
}
