package points

import (
	"strconv"
	"time"
)

// HomePoint is a registered home as the home measurement stores it, for the
// dashboards: where it is (the map) and how many devices it has. It carries ids and
// places only: no elder's name, address or phone number.
type HomePoint struct {
	County, Township, Village, Home string
	// Lat and Lon are the home's coordinates (WGS 84 degrees); HasLoc is false when
	// the ledger gives none, and then the point has no lat and lon fields.
	Lat, Lon float64
	HasLoc   bool
	// Devices is how many devices are registered to the home; 0 marks a home that no
	// longer has any.
	Devices int
	// At is when the gateway wrote the point.
	At time.Time
}

// AppendHome appends the home's line to dst: tags county, township, village, home;
// fields lat, lon (when known) and devices; the timestamp is At in nanoseconds.
func AppendHome(dst []byte, h HomePoint) []byte {
	dst = appendSeries(dst, "home", Tags{County: h.County, Township: h.Township, Village: h.Village, Home: h.Home})
	f := fields{dst: dst}
	if h.HasLoc {
		f.float("lat", &h.Lat)
		f.float("lon", &h.Lon)
	}
	f.integer("devices", int64(h.Devices))
	dst = append(f.dst, ' ')
	dst = strconv.AppendInt(dst, h.At.UnixNano(), 10)
	return append(dst, '\n')
}
