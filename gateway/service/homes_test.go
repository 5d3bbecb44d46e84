package service

import (
	"sort"
	"strings"
	"testing"
	"time"

	"carebed/gateway/points"
	"carebed/gateway/registry"
)

func homeDevice(home, id string, lat float64) registry.Device {
	d := registry.Device{ID: id, Lat: lat, Lon: 86.3}
	d.Place.County, d.Place.Township, d.Place.Village, d.Place.Home = "和静县", "巴伦台镇", "巴伦台村", home
	return d
}

// TestHomeLogWritesNewChangedGoneAndHourly walks one homeLog through refreshes.
func TestHomeLogWritesNewChangedGoneAndHourly(t *testing.T) {
	start := time.Unix(1_764_400_000, 0)
	two := []registry.Device{homeDevice("H-1", "a", 42.1), homeDevice("H-1", "b", 42.1), homeDevice("H-2", "c", 42.2)}
	moved := []registry.Device{homeDevice("H-1", "a", 42.1), homeDevice("H-1", "b", 42.1), homeDevice("H-2", "c", 42.9)}
	var l homeLog
	for _, step := range []struct {
		name  string
		devs  []registry.Device
		after time.Duration
		want  string // home:devices of the points due, sorted
	}{
		{"first load writes every home", two, 0, "H-1:2 H-2:1"},
		{"nothing changed", two, time.Minute, ""},
		{"a home moved", moved, 2 * time.Minute, "H-2:1"},
		{"a home lost its devices", moved[:2], 3 * time.Minute, "H-2:0"},
		{"a gone home is not written again", moved[:2], 4 * time.Minute, ""},
		{"after an hour every home again", moved[:2], time.Hour, "H-1:2"},
		{"and then quiet", moved[:2], time.Hour + time.Minute, ""},
	} {
		now := start.Add(step.after)
		due := l.due(homesOf(step.devs), now)
		if got := summary(due); got != step.want {
			t.Fatalf("%s: due %q, want %q", step.name, got, step.want)
		}
		l.mark(due, now)
	}
}

func summary(homes []points.HomePoint) string {
	var s []string
	for _, h := range homes {
		s = append(s, h.Home+":"+string(rune('0'+h.Devices)))
	}
	sort.Strings(s)
	return strings.Join(s, " ")
}

func TestHomeRecordsAreOneLinePerHome(t *testing.T) {
	homes := homesOf([]registry.Device{homeDevice("H-1", "a", 42.1)})
	recs := homeRecords([]points.HomePoint{homes["H-1"]}, time.Unix(1, 0))
	want := "home\nhome,county=和静县,home=H-1,township=巴伦台镇,village=巴伦台村 lat=42.1,lon=86.3,devices=1i 1000000000\n"
	if len(recs) != 1 || string(recs[0]) != want {
		t.Fatalf("records %q, want %q", recs, want)
	}
}
