package scenario

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"carebed/firmware-sim/device"
)

// maxSpeed bounds Speed: beyond it a run's reports outpace any broker.
const maxSpeed = 10000

// checkSettings checks everything but the events and parses the clocks.
func (s *Scenario) checkSettings(l lines) error {
	fail := func(key, format string, a ...any) error {
		return fmt.Errorf("scenario: line %d: %s: %s", l.top[strings.SplitN(key, ".", 2)[0]], key, fmt.Sprintf(format, a...))
	}
	if s.Zone != "" {
		if _, err := device.Zone(s.Zone); err != nil {
			return fail("zone", "%q is not a time zone (e.g. Asia/Urumqi, Asia/Shanghai)", s.Zone)
		}
	}
	if s.Start != "" {
		if _, err := time.Parse("15:04", s.Start); err != nil {
			return fail("start", "%q is not a time of day HH:MM", s.Start)
		}
	}
	if s.Speed < 0 || s.Speed > maxSpeed {
		return fail("speed", "%v is not between 0 and %d", s.Speed, maxSpeed)
	}
	if err := s.Devices.check(); err != nil {
		return fail("devices", "%v", err)
	}
	if err := s.checkHerders(l); err != nil {
		return err
	}
	s.clocks = map[string]device.Clock{}
	for id, v := range s.Clocks {
		c, err := parseClock(v)
		if err != nil {
			return fmt.Errorf("scenario: line %d: clocks.%s: %w", l.clocks[id], id, err)
		}
		s.clocks[id] = c
	}
	return nil
}

func (d Devices) check() error {
	switch {
	case d.SOSCancelWindow < 0:
		return errors.New("sos_cancel_window: negative")
	case d.ActivitiesPerHour < 0:
		return errors.New("activities_per_hour: negative")
	case d.FalseAlarmCancel < 0:
		return errors.New("false_alarm_cancel: negative")
	case d.KeepReadings < 0:
		return errors.New("keep_readings: negative")
	}
	return nil
}

// parseClock reads a clock setting: "none", or a skew such as "+90s" or "-5m".
func parseClock(v string) (device.Clock, error) {
	if v == "none" {
		return device.Clock{None: true}, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d == 0 {
		return device.Clock{}, fmt.Errorf("%q is neither none nor a skew such as +90s or -5m", v)
	}
	return device.Clock{Skew: d}, nil
}

// Clock is the clock of a device of a home: set by the device's id, else by its
// home's, else a true clock.
func (s Scenario) Clock(home, dev string) device.Clock {
	if c, ok := s.clocks[dev]; ok {
		return c
	}
	return s.clocks[home]
}

// Location is the elders' time zone.
func (s Scenario) Location() *time.Location {
	name := s.Zone
	if name == "" {
		name = "Asia/Urumqi"
	}
	loc, err := device.Zone(name)
	if err != nil { // Parse checked it
		return time.UTC
	}
	return loc
}

// Begin is the simulated time the run starts when it is started at now: now, or
// today's Start in the elders' zone.
func (s Scenario) Begin(now time.Time) time.Time {
	if s.Start == "" {
		return now
	}
	hm, _ := time.Parse("15:04", s.Start)
	y, m, d := now.In(s.Location()).Date()
	return time.Date(y, m, d, hm.Hour(), hm.Minute(), 0, 0, s.Location())
}

// checkHerders parses the herders' settings.
func (s *Scenario) checkHerders(l lines) error {
	s.herds = map[string]herdSetting{}
	for home, h := range s.Herders {
		fail := func(key, format string, a ...any) error {
			return fmt.Errorf("scenario: line %d: herders.%s.%s: %s", l.top["herders"], home, key, fmt.Sprintf(format, a...))
		}
		var hs herdSetting
		if h.Pasture != "" {
			p, err := parseLatLon(h.Pasture)
			if err != nil {
				return fail("pasture", "%v", err)
			}
			hs.pasture, hs.hasPasture = p, true
		}
		switch h.Season {
		case "", device.SeasonSummer, device.SeasonWinter:
			hs.season = h.Season
		default:
			return fail("season", "%q is neither summer nor winter (or leave it out: the calendar)", h.Season)
		}
		switch h.Coverage {
		case "", "gaps":
		case "always":
			hs.noGaps = true
		default:
			return fail("coverage", "%q is neither gaps nor always", h.Coverage)
		}
		s.herds[home] = hs
	}
	return nil
}

// parseLatLon reads "lat,lon" in degrees.
func parseLatLon(v string) (device.LatLon, error) {
	a, b, ok := strings.Cut(v, ",")
	lat, errA := strconv.ParseFloat(strings.TrimSpace(a), 64)
	lon, errB := strconv.ParseFloat(strings.TrimSpace(b), 64)
	if !ok || errA != nil || errB != nil || !(lat >= -90 && lat <= 90 && lon >= -180 && lon <= 180) {
		return device.LatLon{}, fmt.Errorf("%q is not \"lat,lon\" in degrees (e.g. \"42.87,83.71\")", v)
	}
	return device.LatLon{Lat: lat, Lon: lon}, nil
}

// Herd is the herd of a home that moves with its herds, its winter quarters at
// home: the pasture and season the scenario gives it, else a pasture 25 to 45 km
// west of home drawn from the seed and the home, and the calendar.
func (s Scenario) Herd(home string, at device.LatLon) device.Herd {
	seed := s.Seed ^ fnv(home)
	h := device.Herd{Winter: at, Zone: s.Location(), Seed: seed}
	hs := s.herds[home]
	h.Season, h.NoGaps = hs.season, hs.noGaps
	if hs.hasPasture {
		h.Summer = hs.pasture
		return h
	}
	r := rand.New(rand.NewPCG(seed, 0x706173747572))
	d, bearing := 25000+20000*r.Float64(), (225+90*r.Float64())*math.Pi/180
	h.Summer = at.Offset(d*math.Cos(bearing), d*math.Sin(bearing))
	return h
}

// fnv hashes a name into a seed.
func fnv(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h = (h ^ uint64(s[i])) * 1099511628211
	}
	return h
}
