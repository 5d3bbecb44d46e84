package geo

import (
	"math"
	"strings"
	"testing"
	"time"
)

// Published WGS-84 → GCJ-02 pairs, each from a widely used implementation's tests:
//
//   - googollee/eviltransform, go/transform_test.go (commit 1643645a): Shanghai,
//     Shenzhen, Beijing, full precision.
//   - wandergis/coordtransform, test/app.js (commit 24232463): wgs84togcj02(116.404,
//     39.915), full precision; also hutool's CoordinateUtilTest.
//   - hujiulong/gcoord, test/fixtures/china-cities.json (commit fedbaa10): city
//     centres with coordinates to 7 decimals; the western ones (那曲 92°E, 酒泉 98°E)
//     and a pastoral one (锡林浩特) are nearest to Xinjiang's grasslands. Its GCJ-02
//     values come from the map services rather than from the formula, and the
//     formula stays within 1e-5° (about 1 m) of them: the published formula's known
//     accuracy.
func TestToGCJ02ReferencePairs(t *testing.T) {
	tests := []struct {
		name     string
		wgs, gcj Point
		tol      float64 // degrees: the source's precision
	}{
		{"eviltransform shanghai", Point{31.1774276, 121.5272106}, Point{31.17530398364597, 121.531541859215}, 1e-6},
		{"eviltransform shenzhen", Point{22.543847, 113.912316}, Point{22.540796131694766, 113.9171764808363}, 1e-6},
		{"eviltransform beijing", Point{39.911954, 116.377817}, Point{39.91334545536069, 116.38404722455657}, 1e-6},
		{"coordtransform beijing", Point{39.915, 116.404}, Point{39.91640428150164, 116.41024449916938}, 1e-9},
		{"gcoord 那曲", Point{31.4784436, 92.0499619}, Point{31.4762063, 92.0512438}, 1e-5},
		{"gcoord 酒泉", Point{39.7319946, 98.4937175}, Point{39.7328234, 98.4943595}, 1e-5},
		{"gcoord 锡林浩特", Point{43.9312805, 116.0414035}, Point{43.9334573, 116.0482308}, 1e-5},
		{"gcoord 沈阳", Point{41.8032629, 123.4253306}, Point{41.8057023, 123.4314787}, 1e-5},
		{"gcoord 驻马店", Point{33.0133556, 114.0164322}, Point{33.0115324, 114.022306}, 1e-5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ToGCJ02(tt.wgs)
			if math.Abs(got.Lat-tt.gcj.Lat) > tt.tol || math.Abs(got.Lon-tt.gcj.Lon) > tt.tol {
				t.Errorf("ToGCJ02(%v) = %.10f,%.10f; published %.10f,%.10f (off by %.2g, %.2g)", tt.wgs, got.Lat, got.Lon,
					tt.gcj.Lat, tt.gcj.Lon, got.Lat-tt.gcj.Lat, got.Lon-tt.gcj.Lon)
			}
		})
	}
}

func TestToGCJ02OutsideChina(t *testing.T) {
	for _, p := range []Point{{51.5, -0.12}, {-33.9, 151.2}, {43.2, 71.9}} { // London, Sydney, Almaty's west
		if got := ToGCJ02(p); got != p {
			t.Errorf("ToGCJ02(%v) = %v, want it unchanged outside China", p, got)
		}
	}
}

func TestDistanceAndBearing(t *testing.T) {
	bayinbuluke, hejing := Point{43.03, 84.15}, Point{42.32, 86.40}
	tests := []struct {
		name        string
		a, b        Point
		wantKM      float64
		wantDir     string
		wantBearing float64
	}{
		{"one degree of latitude north", Point{42, 86}, Point{43, 86}, 111.195, "北", 0},
		{"one degree of longitude east at the equator", Point{0, 86}, Point{0, 87}, 111.195, "东", 90},
		{"south", Point{43, 86}, Point{42, 86}, 111.195, "南", 180},
		{"west", Point{0, 87}, Point{0, 86}, 111.195, "西", 270},
		// Bayanbulak grassland from Hejing town: 200 km north-west (294°).
		{"summer pasture from the county town", hejing, bayinbuluke, 200.16, "西北", 294.0},
		{"the way back", bayinbuluke, hejing, 200.16, "东", 112.46}, // just inside 东 (67.5° to 112.5°)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if d := Distance(tt.a, tt.b) / 1000; math.Abs(d-tt.wantKM) > 0.5 {
				t.Errorf("Distance = %.3f km, want %.3f", d, tt.wantKM)
			}
			b := Bearing(tt.a, tt.b)
			if math.Abs(b-tt.wantBearing) > 0.5 && math.Abs(b-tt.wantBearing) < 359.5 {
				t.Errorf("Bearing = %.2f°, want %.1f°", b, tt.wantBearing)
			}
			if dir := Direction(b); dir != tt.wantDir {
				t.Errorf("Direction(%.1f) = %s, want %s", b, dir, tt.wantDir)
			}
		})
	}
}

func TestDirection(t *testing.T) {
	for bearing, want := range map[float64]string{
		0: "北", 22.4: "北", 22.5: "东北", 45: "东北", 67.4: "东北", 90: "东", 135: "东南", 180: "南",
		225: "西南", 270: "西", 315: "西北", 337.4: "西北", 337.5: "北", 359.9: "北", 360: "北", -45: "西北", 405: "东北",
	} {
		if got := Direction(bearing); got != want {
			t.Errorf("Direction(%v) = %s, want %s", bearing, got, want)
		}
	}
}

func TestDistanceText(t *testing.T) {
	for m, want := range map[float64]string{
		10: "50 米", 349: "350 米", 949: "950 米", 950: "1 公里", 2480: "2.5 公里", 9949: "9.9 公里", 9950: "10 公里", 23400: "23 公里", 198400: "198 公里",
	} {
		if got := DistanceText(m); got != want {
			t.Errorf("DistanceText(%v) = %q, want %q", m, got, want)
		}
	}
}

func TestPhrase(t *testing.T) {
	home := Point{42.74, 86.29}
	tests := []struct {
		name string
		to   Point
		acc  float64
		want string
	}{
		// 0.15° of latitude north and 0.2° of longitude west: about 23 km north-west.
		{"summer pasture", Point{42.89, 86.09}, 15, "距哈尔莫敦村 23 公里 西北"},
		{"at home", Point{42.7405, 86.2905}, 15, "在哈尔莫敦村附近"},
		{"inside a poor fix's accuracy", Point{42.745, 86.29}, 800, "在哈尔莫敦村附近"},
		{"just out of the village", Point{42.745, 86.29}, 20, "距哈尔莫敦村 550 米 北"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Phrase("哈尔莫敦村", home, tt.to, tt.acc); got != tt.want {
				t.Errorf("Phrase = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestMapLink(t *testing.T) {
	// The coordtransform pair: the link carries the GCJ-02 point, longitude first.
	got := MapLink(Point{39.915, 116.404})
	if want := "https://uri.amap.com/marker?position=116.41024,39.91640"; got != want {
		t.Errorf("MapLink = %q, want %q", got, want)
	}
	if n := len([]rune(MapLink(Point{-89.99999, -179.99999}))); n > 70 {
		t.Errorf("the longest link takes %d characters: more than an SMS segment", n)
	}
}

func TestWhere(t *testing.T) {
	home := Home{Village: "哈尔莫敦村", Point: Point{42.74, 86.29}}
	now := time.Date(2026, 7, 1, 10, 0, 0, 0, time.UTC)
	fix := Fix{Point: Point{42.89, 86.09}, AccM: 15, At: now.Add(-2 * time.Minute)}
	got := Where(home, fix, now)
	if !strings.HasPrefix(got, "距哈尔莫敦村 23 公里 西北 https://uri.amap.com/marker?position=86.09") {
		t.Errorf("fresh fix: %q", got)
	}
	fix.At = now.Add(-150 * time.Minute)
	if got := Where(home, fix, now); !strings.HasPrefix(got, "距哈尔莫敦村 23 公里 西北（2 小时前） https://") {
		t.Errorf("stale fix: %q", got)
	}
	for d, want := range map[time.Duration]string{25 * time.Minute: "25 分钟", 3 * time.Hour: "3 小时", 50 * time.Hour: "2 天"} {
		if got := Age(d); got != want {
			t.Errorf("Age(%v) = %q, want %q", d, got, want)
		}
	}
}
