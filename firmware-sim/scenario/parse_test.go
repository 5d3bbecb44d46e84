package scenario

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"carebed/firmware-sim/device"
	"carebed/firmware-sim/simclock"
)

func TestParseModelEvents(t *testing.T) {
	cases := []struct{ name, in, err string }{
		{"double press", "events:\n  - {at: 30s, home: H-0012, do: sos, cancel_after: 10s}\n", ""},
		{"fall of a kind", "events:\n  - {at: 1m, home: H-0040, do: fall, kind: fall-slow, cancel_after: 5s}\n", ""},
		{"offline home", "events:\n  - {at: 2m, home: H-0007, do: offline, for: 10m}\n", ""},
		{"anomaly", "events:\n  - {at: 3m, home: H-0013, do: high_hr, for: 10m}\n", ""},
		{"long bed exit", "events:\n  - {at: 3m, home: H-0013, do: long_bed_exit, for: 40m}\n", ""},
		{"bed exit for a while", "events:\n  - {at: 3m, home: H-0013, do: bed_exit, for: 5m}\n", ""},
		{"reboot", "events:\n  - {at: 3m, home: H-0013, do: reboot}\n", ""},
		{"settings", "seed: 7\nzone: Asia/Shanghai\nstart: \"21:30\"\nspeed: 60\nclocks: {H-0001: +90s, hj-0002-smoke: none}\ndevices: {sos_cancel_window: 20s, activities_per_hour: 2, false_alarm_cancel: 5s, keep_readings: 50}\n", ""},

		{"offline without for", "events:\n  - {at: 2m, home: H-0007, do: offline}\n", "line 2: events[0].for: offline needs a positive duration"},
		{"anomaly unknown", "events:\n  - {at: 2m, home: H-0007, do: fever, for: 1m}\n", `line 2: events[0].do: "fever" is not one of`},
		{"kind of a walk", "events:\n  - {at: 1m, home: H-1, do: fall, kind: walk}\n", `events[0].kind: "walk" is not a kind of fall`},
		{"kind on an sos", "events:\n  - {at: 1m, home: H-1, do: sos, kind: fall-slow}\n", "events[0].kind"},
		{"sos lasting", "events:\n  - {at: 1m, home: H-1, do: sos, for: 1m}\n", "events[0].for: sos does not last"},
		{"power cut of a home", "events:\n  - {at: 1m, home: H-1, village: V, do: power_cut, for: 1m}\n", "events[0].home: a power cut takes a village"},
		{"village offline", "events:\n  - {at: 1m, home: H-1, village: V, do: offline, for: 1m}\n", "events[0].village"},
		{"negative at", "events:\n  - {at: -1s, home: H-1, do: sos}\n", "events[0].at: negative"},
		{"third event's line", "name: x\nevents:\n  - {at: 1s, home: H-1, do: sos}\n  - {at: 2s, home: H-1, do: sos}\n\n  - {at: 3s, home: H-1, do: sos, cancel_after: -1s}\n", "line 6: events[2].cancel_after"},
		{"bad clock", "clocks:\n  H-0001: +90s\n  H-0002: slow\n", `line 3: clocks.H-0002: "slow" is neither none nor a skew`},
		{"bad zone", "name: x\nzone: Mars/Olympus\n", "line 2: zone: \"Mars/Olympus\" is not a time zone"},
		{"bad start", "start: \"25:00\"\n", "line 1: start:"},
		{"too fast", "speed: 1e9\n", "line 1: speed:"},
		{"devices typo", "devices: {sos_window: 20s}\n", "field sos_window not found"},
		{"negative window", "devices: {sos_cancel_window: -1s}\n", "devices: sos_cancel_window: negative"},
		{"unknown top key", "name: x\nspeed: 2\nhomes: 3\n", "line 3: field homes not found"},
		{"sms", "events:\n  - {at: 20s, home: H-0021, do: sms, text: \"SOS 42.87,83.71\"}\n", ""},
		{"sms without text", "events:\n  - {at: 20s, home: H-0021, do: sms}\n", ""},
		{"herders", "herders:\n  H-0021: {pasture: \"42.87, 83.71\", season: summer}\n  H-0022: {season: winter}\n", ""},
		{"text on an sos", "events:\n  - {at: 1m, home: H-1, do: sos, text: hi}\n", "events[0].text: only an sms"},
		{"sms too long", "events:\n  - {at: 1m, home: H-1, do: sms, text: \"" + strings.Repeat("救", 71) + "\"}\n", "events[0].text: longer than one SMS"},
		{"sms lasting", "events:\n  - {at: 1m, home: H-1, do: sms, for: 1m}\n", "events[0].for: sms does not last"},
		{"bad pasture", "name: x\nherders:\n  H-0021: {pasture: \"42.87 83.71\"}\n", `line 2: herders.H-0021.pasture: "42.87 83.71" is not "lat,lon"`},
		{"pasture off the globe", "herders:\n  H-0021: {pasture: \"95,83.71\"}\n", "herders.H-0021.pasture"},
		{"bad coverage", "herders:\n  H-0021: {coverage: never}\n", `herders.H-0021.coverage: "never" is neither gaps nor always`},
		{"bad season", "herders:\n  H-0021: {season: spring}\n", `herders.H-0021.season: "spring" is neither summer nor winter`},
		{"herder typo", "herders:\n  H-0021: {pastrue: \"42.87,83.71\"}\n", "field pastrue not found"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse([]byte(c.in))
			if c.err == "" && err != nil {
				t.Fatal(err)
			}
			if c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)) {
				t.Fatalf("error %v, want %q", err, c.err)
			}
		})
	}
}

func TestSettings(t *testing.T) {
	s, err := Parse([]byte("start: \"21:30\"\nclocks: {H-0001: -2m, hj-0001-bed: none}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if s.Seed != 1 || s.Speed != 1 || s.Location().String() != "Asia/Urumqi" {
		t.Errorf("defaults: seed %d speed %v zone %v", s.Seed, s.Speed, s.Location())
	}
	if c := s.Clock("H-0001", "hj-0001-sos"); c != (device.Clock{Skew: -2 * time.Minute}) {
		t.Errorf("the home's clock: %+v", c)
	}
	if c := s.Clock("H-0001", "hj-0001-bed"); !c.None {
		t.Errorf("the device's own setting: %+v", c)
	}
	if c := s.Clock("H-0002", "x"); c != (device.Clock{}) {
		t.Errorf("a home without a setting: %+v", c)
	}
	now := time.Date(2026, 1, 15, 20, 0, 0, 0, time.UTC) // 02:00 on the 16th, Xinjiang time
	if got := s.Begin(now).In(s.Location()).Format("2006-01-02 15:04"); got != "2026-01-16 21:30" {
		t.Errorf("begins %s", got)
	}
}

// TestHerd: a herder home's herd winters at home and summers on the scenario's
// pasture, or on one 25 to 45 km west drawn from the seed, the same every time.
func TestHerd(t *testing.T) {
	s, err := Parse([]byte("seed: 3\nherders:\n  H-0021: {pasture: \"42.87,83.71\", season: summer, coverage: always}\n"))
	if err != nil {
		t.Fatal(err)
	}
	home := device.LatLon{Lat: 43.03, Lon: 84.15}
	h := s.Herd("H-0021", home)
	if h.Winter != home || h.Summer != (device.LatLon{Lat: 42.87, Lon: 83.71}) || h.Season != device.SeasonSummer || !h.NoGaps {
		t.Errorf("H-0021's herd %+v", h)
	}
	g := s.Herd("H-0099", home)
	d := device.DistanceM(home, g.Summer)
	if g.Season != "" || g.NoGaps || d < 24000 || d > 46000 || g.Summer.Lon >= home.Lon {
		t.Errorf("a drawn pasture %+v, %.0f m from home; want 25-45 km west", g.Summer, d)
	}
	if again := s.Herd("H-0099", home); again.Summer != g.Summer || again.Seed != g.Seed {
		t.Errorf("drawn twice: %+v then %+v", g, again)
	}
	if other := s.Herd("H-0098", home); other.Summer == g.Summer {
		t.Error("two homes drew the same pasture")
	}
}

func TestSteps(t *testing.T) {
	s, err := Parse([]byte(`events:
  - {at: 30s, home: H-0012, do: sos, cancel_after: 10s}
  - {at: 1m, home: H-0040, do: fall, cancel_after: 5s}
  - {at: 2m, home: H-0007, do: offline, for: 10m}
  - {at: 45s, village: 巴伦台村, do: power_cut, for: 10m}
  - {at: 3m, home: H-0013, do: high_hr, for: 10m}
`))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, st := range s.Steps() {
		got = append(got, st.At.String()+" "+st.Home+st.Village+" "+st.Do)
	}
	want := "30s H-0012 sos|40s H-0012 sos_cancel|45s 巴伦台村 power_cut|1m0s H-0040 fall|1m5s H-0040 fall_cancel|" +
		"2m0s H-0007 offline|3m0s H-0013 high_hr|10m45s 巴伦台村 power_back|12m0s H-0007 signal_back"
	if strings.Join(got, "|") != want {
		t.Errorf("steps\n%s\nwant\n%s", strings.Join(got, "|"), want)
	}
	if s.Duration != 13*time.Minute+time.Second {
		t.Errorf("duration %v", s.Duration)
	}
}

// target records the steps it is asked to do and the clock's time then.
type target struct {
	mu    sync.Mutex
	clk   simclock.Clock
	start time.Time
	done  []string
}

func (tg *target) Do(st Step) Sent {
	tg.mu.Lock()
	defer tg.mu.Unlock()
	tg.done = append(tg.done, tg.clk.Now().Sub(tg.start).String()+" "+st.Do)
	if st.Do == SignalBack {
		return Sent{}
	}
	return Sent{Device: "d", Type: st.Do, Seq: uint64(len(tg.done))}
}

func TestPlayOnAManualClock(t *testing.T) {
	s, err := Parse([]byte("events:\n  - {at: 1h, home: H-1, do: offline, for: 2h}\n  - {at: 30m, home: H-1, do: sos, cancel_after: 10s}\n"))
	if err != nil {
		t.Fatal(err)
	}
	clk := simclock.NewManual(time.Date(2026, 1, 15, 0, 0, 0, 0, time.UTC))
	tg := &target{clk: clk, start: clk.Now()}
	done := make(chan []Sent)
	go func() { done <- Play(context.Background(), s, clk, tg) }()
	for range 4 * 60 { // four simulated hours, a minute at a time, without waiting
		for clk.Waiting() == 0 {
			select {
			case sent := <-done:
				check(t, tg, sent)
				return
			default:
			}
			time.Sleep(time.Millisecond)
		}
		clk.Advance(time.Minute)
	}
	t.Fatal("Play did not finish within four simulated hours")
}

func check(t *testing.T, tg *target, sent []Sent) {
	t.Helper()
	want := "30m0s sos|31m0s sos_cancel|1h0m0s offline|3h0m0s signal_back"
	if got := strings.Join(tg.done, "|"); got != want {
		t.Errorf("done\n%s\nwant\n%s", got, want)
	}
	if len(sent) != 3 || sent[1].At != 30*time.Minute+10*time.Second || sent[1].Home != "H-1" {
		t.Errorf("sent %+v: want the signal's return left out of the summary", sent)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("name: demo\nevents:\n  - {at: 2s, home: H-0001, do: fall, cancel_after: 1s}\n"))
	f.Add([]byte("clocks: {H-1: none, H-2: -5m}\nstart: \"21:30\"\nspeed: 60\n"))
	f.Add([]byte("events:\n  - {at: 1s, village: V, do: power_cut, for: 1m}\n  - {at: 2s, home: H, do: no_movement, for: 1h}\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := Parse(b)
		if err != nil {
			return
		}
		for _, st := range s.Steps() {
			if st.At < 0 || st.At > s.Duration {
				t.Fatalf("step %+v outside the run's %v", st, s.Duration)
			}
		}
	})
}
