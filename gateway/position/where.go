package position

import (
	"context"
	"time"

	"carebed/gateway/geo"
	"carebed/gateway/protocol"
	"carebed/gateway/registry"
)

// Devices finds a registered device with its home's place and coordinates: the
// registry.
type Devices interface {
	Device(ctx context.Context, id string) (registry.Device, error)
}

// Where is the text an SOS or fall page gives about where the person is, from the
// device's last known position seen from its home village: "距巴伦台村 23 公里 西北
// https://uri.amap.com/marker?position=…", with the fix's age when it is older than
// geo.StaleAfter. Without the home's coordinates it says "最后位置" and the link. It
// returns "" when the device has no position younger than protocol.MaxFixAge, is
// not registered, or is at home (within AtHome, or the fix's accuracy, of its home's
// coordinates: the page's address says it all). The SOS and fall pages carry it
// (alerting/policy's Where).
func (t *Tracker) Where(ctx context.Context, devices Devices, device string, now time.Time) string {
	p, ok := t.Last(device)
	if !ok || now.Sub(p.At) > protocol.MaxFixAge {
		return ""
	}
	d, err := devices.Device(ctx, device)
	if err != nil {
		return ""
	}
	fix := geo.Fix{Point: geo.Point{Lat: p.Lat, Lon: p.Lon}, AccM: p.AccM, At: p.At}
	if d.Lat == 0 && d.Lon == 0 {
		s := "最后位置"
		if age := now.Sub(p.At); age > geo.StaleAfter {
			s += "（" + geo.Age(age) + "前）"
		}
		return s + " " + geo.MapLink(fix.Point)
	}
	home := geo.Point{Lat: d.Lat, Lon: d.Lon}
	if geo.Distance(home, fix.Point) <= max(AtHome, fix.AccM) {
		return ""
	}
	return geo.Where(geo.Home{Village: d.Place.Village, Point: home}, fix, now)
}

// AtHome is how near its home (in metres) a device's fix counts as at home, where
// the page's village and address are enough and a map link would cost a second SMS.
const AtHome = 1000.0
