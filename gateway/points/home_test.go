package points

import (
	"testing"
	"time"
)

func TestAppendHome(t *testing.T) {
	at := time.Unix(1_764_400_000, 5)
	for _, c := range []struct {
		name string
		home HomePoint
		want string
	}{
		{"with coordinates",
			HomePoint{County: "和静县", Township: "巴伦台镇", Village: "一 村", Home: "H-0001", Lat: 42.74, Lon: 86, HasLoc: true, Devices: 3, At: at},
			`home,county=和静县,home=H-0001,township=巴伦台镇,village=一\ 村 lat=42.74,lon=86.0,devices=3i 1764400000000000005` + "\n"},
		{"coordinates rounded to the village (issue 21: 4 decimals were about 10 m)",
			HomePoint{County: "和静县", Township: "哈尔莫敦镇", Village: "村", Home: "H-0004", Lat: 42.2861, Lon: 86.3105, HasLoc: true, Devices: 1, At: at},
			`home,county=和静县,home=H-0004,township=哈尔莫敦镇,village=村 lat=42.29,lon=86.31,devices=1i 1764400000000000005` + "\n"},
		{"negative coordinates round too",
			HomePoint{Home: "H-0005", Lat: -33.86785, Lon: -151.20732, HasLoc: true, Devices: 1, At: at},
			`home,home=H-0005 lat=-33.87,lon=-151.21,devices=1i 1764400000000000005` + "\n"},
		{"without coordinates",
			HomePoint{County: "和静县", Township: "巴伦台镇", Village: "村", Home: "H-0002", Devices: 1, At: at},
			`home,county=和静县,home=H-0002,township=巴伦台镇,village=村 devices=1i 1764400000000000005` + "\n"},
		{"no devices left",
			HomePoint{County: "和静县", Township: "巴伦台镇", Village: "村", Home: "H-0003", Lat: 1, Lon: 2, HasLoc: true, At: at},
			`home,county=和静县,home=H-0003,township=巴伦台镇,village=村 lat=1.0,lon=2.0,devices=0i 1764400000000000005` + "\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := string(AppendHome(nil, c.home)); got != c.want {
				t.Errorf("got\n%s\nwant\n%s", got, c.want)
			}
		})
	}
}
