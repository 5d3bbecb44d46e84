package points

import (
	"math"
	"strconv"
	"time"
)

// HomePoint is a registered home as the home measurement stores it, for the
// dashboards: where it is (the map) and how many devices it has. It carries ids and
// places only: no elder's name, address or phone number.
type HomePoint struct {
	County, Township, Village, Home string
	// Lat and Lon are the home's coordinates (WGS 84 degrees); HasLoc is false when
	// the ledger gives none, and then the point has no lat and lon fields. AppendHome
	// rounds them to 2 decimals (about 1 km: the village, not the house): the
	// ledger's coordinates point at an elder's home, which is personal data and stays
	// in the registry.
	Lat, Lon float64
	HasLoc   bool
	// Devices is how many devices are registered to the home; 0 marks a home that no
	// longer has any.
	Devices int
	// At is when the gateway wrote the point.
	At time.Time
}

// CoordDecimals is how many decimals of a home's latitude and longitude InfluxDB gets:
// 2, about 1.1 km north-south, enough to put the home in its village on a map.
const CoordDecimals = 2

// AppendHome appends the home's line to dst: tags county, township, village, home;
// fields lat, lon (when known, rounded to CoordDecimals) and devices; the timestamp
// is At in nanoseconds.
func AppendHome(dst []byte, h HomePoint) []byte {
	dst = appendSeries(dst, "home", Tags{County: h.County, Township: h.Township, Village: h.Village, Home: h.Home})
	f := fields{dst: dst}
	if h.HasLoc {
		lat, lon := roundCoord(h.Lat), roundCoord(h.Lon)
		f.float("lat", &lat)
		f.float("lon", &lon)
	}
	f.integer("devices", int64(h.Devices))
	dst = append(f.dst, ' ')
	dst = strconv.AppendInt(dst, h.At.UnixNano(), 10)
	return append(dst, '\n')
}

// roundCoord rounds a coordinate to CoordDecimals decimals.
func roundCoord(v float64) float64 {
	scale := math.Pow10(CoordDecimals)
	return math.Round(v*scale) / scale
}
