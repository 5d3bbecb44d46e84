// Package testledger writes bed ledgers of any size for tests and benchmarks.
package testledger

import (
	"fmt"
	"strings"
)

// County is a ledger (CSV, English header) of homes in 和静县, three devices each (SOS
// pendant, fall sensor, bed sensor: device ids hj-<home>-0..2), in 300 villages of 12
// townships spread over a degree of latitude and longitude, each village with its own
// visitor and doctor, each home its own family phone.
func County(homes int) string {
	var s strings.Builder
	s.WriteString("county,township,village,home_id,elder_name,address,lat,lon,device_id,device_kind," +
		"visitor_name,visitor_phone,doctor_name,doctor_phone,family_phone\n")
	for h := range homes {
		v := h % 300
		lat, lon := 42.3+float64(v%20)*0.05, 86.0+float64(v/20)*0.07
		for i, kind := range []string{"sos_pendant", "fall_sensor", "bed_sensor"} {
			fmt.Fprintf(&s, "和静县,乡镇%02d,村%03d,H-%05d,老人,地址,%.4f,%.4f,hj-%05d-%d,%s,探访员,1380000%04d,村医,1381000%04d,1382%07d\n",
				v%12, v, h, lat, lon, h, i, kind, v, v, h)
		}
	}
	return s.String()
}
