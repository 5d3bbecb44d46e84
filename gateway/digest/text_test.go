package digest

import (
	"slices"
	"strings"
	"testing"
	"time"

	"carebed/alerting"
	"carebed/alerting/policy"
	"carebed/gateway/visits"
)

var beijing = policy.Default().Location()

// bj is a time in Beijing on day d of November 2026 (a Sunday is the 29th).
func bj(d, h, m int) time.Time { return time.Date(2026, 11, d, h, m, 0, 0, beijing) }

// fullNights are seven measured nights of the week before Sunday 29 November, 7 h
// in bed each, up at rise[i].
func fullNights(rise ...time.Time) []Night {
	out := make([]Night, 7)
	for i := range out {
		out[i] = Night{Start: bj(21+i, 20, 0), Measured: true, InBed: 7 * time.Hour}
		if i < len(rise) {
			out[i].Rose = rise[i]
		}
	}
	return out
}

func rises(h, m int) []time.Time {
	out := make([]time.Time, 7)
	for i := range out {
		out[i] = bj(23+i, h, m)
	}
	return out
}

// TestText writes the digest of the kinds of week a family gets and counts it as
// carriers do: never more than two segments.
func TestText(t *testing.T) {
	base := Week{Elder: "王秀英", From: bj(22, 0, 0), To: bj(29, 0, 0), Loc: beijing, Nights: fullNights(rises(7, 8)...)}
	with := func(f func(*Week)) Week { w := base; w.Nights = slices.Clone(base.Nights); f(&w); return w }
	visit := func(d int, k visits.Kind) visits.Visit { return visits.Visit{Kind: k, At: bj(d, 10, 0)} }
	alert := func(d int, k alerting.Kind, st alerting.State) alerting.Alert {
		return alerting.Alert{Kind: k, State: st, OpenedAt: bj(d, 3, 12)}
	}
	offline := make([]Night, 7)
	for i := range offline {
		offline[i] = Night{Start: bj(21+i, 20, 0)}
	}
	cases := []struct {
		name string
		w    Week
		want string
		segs int
	}{
		{"quiet week", with(func(w *Week) {
			w.BedExits = 2
			w.Visits = []visits.Visit{visit(24, visits.KindVisit)}
		}), "【巴州家庭养老床位】王秀英本周：夜里平均睡7小时，一般7点10分起床，夜间离床2次；探访员24日来过；无警报。退订回TD", 1},
		{"one alert, handled, a visit and a round", with(func(w *Week) {
			w.Visits = []visits.Visit{visit(23, visits.KindVisit), visit(26, visits.KindVisit), visit(25, visits.KindRound)}
			w.Alerts = []alerting.Alert{alert(27, alerting.KindFall, alerting.StateResolved)}
		}), "【巴州家庭养老床位】王秀英本周：夜里平均睡7小时，一般7点10分起床，夜间没有离床；探访员23日、26日来过，村医25日巡诊；警报1次（27日跌倒），已处理。退订回TD", 2},
		{"device offline all week", with(func(w *Week) {
			w.Nights = offline
			w.Alerts = []alerting.Alert{alert(24, alerting.KindDeviceOffline, alerting.StateOpen)}
		}), "【巴州家庭养老床位】王秀英本周：床垫无数据；本周无人探访；警报1次（24日设备离线），1次仍在处理。退订回TD", 1},
		{"device offline part of the week", with(func(w *Week) {
			w.Nights = append(offline[:3:3], fullNights(rises(6, 55)...)[3:]...)
		}), "【巴州家庭养老床位】王秀英本周：床垫3晚无数据，夜里平均睡7小时，一般7点起床，夜间没有离床；本周无人探访；无警报。退订回TD", 1},
		{"thin data", with(func(w *Week) {
			w.Nights = append(offline[:5:5], fullNights()[5:]...)
			w.Elder = "您的家人"
		}), "【巴州家庭养老床位】您的家人本周：床垫数据不足（7晚中2晚有数据）；本周无人探访；无警报。退订回TD", 1},
		{"a busy week, long name: details give way to counts", with(func(w *Week) {
			w.Elder = "阿依古丽·买买提"
			w.BedExits = 11
			w.Nights[0].InBed = 10 * time.Hour
			for d := 22; d <= 28; d++ {
				w.Visits = append(w.Visits, visit(d, visits.KindVisit), visit(d, visits.KindRound))
				w.Alerts = append(w.Alerts, alert(d, alerting.KindBedExitProlonged, alerting.StateResolved))
			}
		}), "【巴州家庭养老床位】阿依古丽·买买提本周：夜里平均睡7个半小时，一般7点10分起床，夜间离床11次；探访员7次来过，村医7次巡诊；警报7次，均已处理。退订回TD", 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := Text(DefaultSignature, c.w)
			if got != c.want {
				t.Errorf("\n got: %s\nwant: %s", got, c.want)
			}
			if s := policy.Segments(got); s != c.segs || policy.Chars(got) > MaxUnits {
				t.Errorf("%d characters, %d segments; want %d segments", policy.Chars(got), s, c.segs)
			}
		})
	}
}

func TestClockAndHours(t *testing.T) {
	for d, want := range map[time.Duration]string{
		7*time.Hour + 8*time.Minute: "7点10分", 6*time.Hour + 56*time.Minute: "7点", 23*time.Hour + 58*time.Minute: "0点",
	} {
		if got := clockText(d); got != want {
			t.Errorf("clockText(%v) = %s, want %s", d, got, want)
		}
	}
	for d, want := range map[time.Duration]string{
		7 * time.Hour: "7小时", 7*time.Hour + 20*time.Minute: "7个半小时", 7*time.Hour + 50*time.Minute: "8小时",
		20 * time.Minute: "半小时", 5 * time.Minute: "0小时",
	} {
		if got := hoursText(d); got != want {
			t.Errorf("hoursText(%v) = %s, want %s", d, got, want)
		}
	}
}

// FuzzParseWord: only 订阅, 退订 and TD (with spaces and a final 。 or !) are taken.
func FuzzParseWord(f *testing.F) {
	for _, s := range []string{"订阅", " 退订。", "td", "TD!", "1", "到 H-0001", "订阅一下"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		on, ok := parseWord(body)
		w := strings.TrimRight(strings.TrimSpace(body), "。.！! ")
		switch {
		case !ok:
		case on && w != "订阅", !on && w != "退订" && !strings.EqualFold(w, "td"):
			t.Fatalf("%q taken as %v", body, on)
		}
	})
}
