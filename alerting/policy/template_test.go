package policy

import (
	"strings"
	"testing"

	"carebed/alerting"
)

// TestRender renders every default text as its reader gets it, and counts it as
// carriers do: each must be one SMS segment (70 characters), the hand-over with its
// link excepted (two: the link is what it is for).
func TestRender(t *testing.T) {
	p := Default()
	m := Message{Code: "K7M2", Kind: "sos", Village: "哈尔莫墩村", Home: "H-0012", Elder: "王奶奶", Time: "03:12"}
	with := func(f func(*Message)) Message { c := m; f(&c); return c }
	cases := []struct {
		name, purpose string
		m             Message
		want          string
		chars, segs   int
	}{
		{"page", PurposePage, m,
			"【巴州家庭养老床位】紧急呼叫：哈尔莫墩村王奶奶，03:12。回复1或K7M2表示您去处理", 44, 1},
		{"page, no elder on record", PurposePage, with(func(m *Message) { m.Elder = "" }),
			"【巴州家庭养老床位】紧急呼叫：哈尔莫墩村H-0012，03:12。回复1或K7M2表示您去处理", 47, 1},
		{"page late", PurposePage, with(func(m *Message) { m.Late = "12分钟" }),
			"【巴州家庭养老床位】紧急呼叫：哈尔莫墩村王奶奶，03:12（晚到12分钟）。回复1或K7M2表示您去处理", 52, 1},
		{"page with a short link", PurposePage, with(func(m *Message) { m.Link = "https://c.cn/a/AbCdEfGhIjKlMnOp" }),
			"【巴州家庭养老床位】紧急呼叫：哈尔莫墩村王奶奶，03:12。回复1或K7M2表示您去处理 https://c.cn/a/AbCdEfGhIjKlMnOp", 76, 2},
		{"page, longest names", PurposePage, with(func(m *Message) {
			m.Kind, m.Village, m.Elder, m.Late = "bed_exit_prolonged", "巴音郭楞蒙古自治州某某村", "阿依古丽·买买提", "125分钟"
		}), "【巴州家庭养老床位】夜间离床未归：巴音郭楞蒙古自治州某某村阿依古丽·买买提，03:12（晚到125分钟）。回复1或K7M2表示您去处理", 67, 1},
		{"page of a herder away from home", PurposePage, with(func(m *Message) {
			m.Where = "距哈尔莫墩村 23 公里 西北 https://uri.amap.com/marker?position=86.09000,42.89000"
		}), "【巴州家庭养老床位】紧急呼叫：哈尔莫墩村王奶奶，03:12。回复1或K7M2表示您去处理。位置：距哈尔莫墩村 23 公里 西北 https://uri.amap.com/marker?position=86.09000,42.89000", 118, 2},
		{"escalated, with a stale position", PurposeEscalated, with(func(m *Message) {
			m.Minutes, m.Where = 3, "距哈尔莫墩村 23 公里 西北（3 小时前） https://uri.amap.com/marker?position=86.09000,42.89000"
		}), "【巴州家庭养老床位】3分钟无人接手！紧急呼叫：哈尔莫墩村王奶奶，03:12。回复1或K7M2表示您去处理。位置：距哈尔莫墩村 23 公里 西北（3 小时前） https://uri.amap.com/marker?position=86.09000,42.89000", 133, 2},
		{"escalated", PurposeEscalated, with(func(m *Message) { m.Minutes = 3 }),
			"【巴州家庭养老床位】3分钟无人接手！紧急呼叫：哈尔莫墩村王奶奶，03:12。回复1或K7M2表示您去处理", 52, 1},
		{"family", PurposeFamily, with(func(m *Message) { m.Coming, m.ComingPhone = "村医李明", "13800000012" }),
			"【巴州家庭养老床位】王奶奶03:12紧急呼叫。已请村医李明上门，电话13800000012。您不用回复。", 52, 1},
		{"family, nobody else paged", PurposeFamily, m,
			"【巴州家庭养老床位】王奶奶03:12紧急呼叫。正在联系村医和卫生院。您不用回复。", 40, 1},
		{"taken", PurposeTaken, with(func(m *Message) { m.By, m.ByPhone = "村医李明", "13800000012" }),
			"【巴州家庭养老床位】哈尔莫墩村王奶奶紧急呼叫：村医李明已接手，电话13800000012。", 45, 1},
		{"taken on the console, no phone", PurposeTaken, with(func(m *Message) { m.By = "巴伦台镇卫生院值班" }),
			"【巴州家庭养老床位】哈尔莫墩村王奶奶紧急呼叫：巴伦台镇卫生院值班已接手。", 36, 1},
		{"resolved", PurposeResolved, with(func(m *Message) { m.Kind, m.By = "smoke", "村医李明" }),
			"【巴州家庭养老床位】哈尔莫墩村王奶奶烟雾报警已处理完（村医李明）。", 33, 1},
		{"device cancelled after paging", PurposeCancelled, with(func(m *Message) { m.Time = "03:13" }),
			"【巴州家庭养老床位】哈尔莫墩村王奶奶的设备03:13按了取消。紧急呼叫警报仍开着，请打电话或上门看一眼。", 52, 1},
		{"hand-over", PurposeHandOver, with(func(m *Message) { m.By, m.ByPhone = "乡镇卫生院张护士", "13800000019" }),
			"【巴州家庭养老床位】乡镇卫生院张护士把哈尔莫墩村王奶奶紧急呼叫交给您处理，TA电话13800000019", 52, 1},
		{"hand-over with its link", PurposeHandOver, with(func(m *Message) {
			m.By, m.ByPhone, m.Link = "乡镇卫生院张护士", "13800000019", "https://carebed.example.cn/a/AbCdEfGhIjKlMnOp"
		}), "【巴州家庭养老床位】乡镇卫生院张护士把哈尔莫墩村王奶奶紧急呼叫交给您处理，TA电话13800000019 https://carebed.example.cn/a/AbCdEfGhIjKlMnOp", 98, 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := p.Render(c.purpose, c.m)
			if err != nil {
				t.Fatal(err)
			}
			if got != c.want {
				t.Errorf("\n got: %s\nwant: %s", got, c.want)
			}
			if n, s := Chars(got), Segments(got); n != c.chars || s != c.segs {
				t.Errorf("%d characters, %d segments; want %d, %d", n, s, c.chars, c.segs)
			}
		})
	}
	if _, err := p.Render("reminder", Message{}); err == nil ||
		err.Error() != `policy: unknown template "reminder" (page, escalated, family, taken, resolved, cancelled, handover, nearby)` {
		t.Errorf("unknown purpose: %v", err)
	}
}

// TestSegments counts as carriers do a Chinese (UCS-2) SMS: up to 70 characters one
// segment, longer ones in parts of 67; a character outside the basic plane is two.
func TestSegments(t *testing.T) {
	for _, c := range []struct {
		text        string
		chars, segs int
	}{
		{"", 0, 1}, {strings.Repeat("床", 70), 70, 1}, {strings.Repeat("床", 71), 71, 2},
		{strings.Repeat("床", 134), 134, 2}, {strings.Repeat("床", 135), 135, 3},
		{strings.Repeat("床", 69) + "𠀀", 71, 2}, {strings.Repeat("a", 70), 70, 1},
	} {
		if n, s := Chars(c.text), Segments(c.text); n != c.chars || s != c.segs {
			t.Errorf("%.10q…: %d characters, %d segments; want %d, %d", c.text, n, s, c.chars, c.segs)
		}
	}
}

func TestLocalPhone(t *testing.T) {
	for in, want := range map[string]string{"+8613800000012": "13800000012", "13800000012": "13800000012", "+15005550006": "+15005550006"} {
		if got := LocalPhone(in); got != want {
			t.Errorf("LocalPhone(%s) = %s, want %s", in, got, want)
		}
	}
}

func TestKindZH(t *testing.T) {
	cases := map[alerting.Kind]string{
		alerting.KindSOS: "紧急呼叫", alerting.KindFall: "跌倒", alerting.KindSmoke: "烟雾报警",
		alerting.KindGas: "燃气泄漏", alerting.KindWaterLeak: "漏水", alerting.KindNoVitals: "无生命体征",
		alerting.KindBedExitProlonged: "夜间离床未归", alerting.KindVitalsAbnormal: "心率异常",
		alerting.KindInactivity: "长时间无活动", alerting.KindDeviceOffline: "设备离线",
		alerting.KindLowBattery: "电量低", alerting.KindTamper: "设备被拆", alerting.KindVillageOutage: "村级断线",
		"flood": "告警（flood）",
	}
	for k, want := range cases {
		if got := KindZH(k); got != want {
			t.Errorf("KindZH(%s) = %s, want %s", k, got, want)
		}
	}
}

func TestTemplateTooLong(t *testing.T) {
	_, err := Parse([]byte(`templates: {page: "{{range 100000}}{{$.Village}}{{end}}"}`))
	if want := "alerting.templates.page: renders the sample alert to more than 4000 bytes"; err == nil || err.Error() != want {
		t.Errorf("error = %v, want %s", err, want)
	}
}

// The page for a responder near a herder far from home says how far and which way;
// with the position it is two segments, as every page with a position.
func TestRenderNearby(t *testing.T) {
	m := Message{Code: "K7M2", Kind: "sos", Village: "哈尔莫墩村", Home: "H-0012", Elder: "王奶奶", Time: "03:12", Near: "8.5 公里 西北"}
	got, err := Default().Render(PurposeNearby, m)
	want := "【巴州家庭养老床位】紧急呼叫：哈尔莫墩村王奶奶在外，距您8.5 公里 西北，03:12。回复1或K7M2表示您去"
	if err != nil || got != want || Segments(got) != 1 {
		t.Errorf("nearby page %q (%d segments), %v\nwant %q", got, Segments(got), err, want)
	}
	m.Where = "距哈尔莫墩村 23 公里 西北 https://uri.amap.com/marker?position=86.09000,42.89000"
	if got, _ := Default().Render(PurposeNearby, m); Segments(got) != 2 || !strings.HasSuffix(got, "。位置："+m.Where) {
		t.Errorf("nearby page with the position %q: %d segments", got, Segments(got))
	}
}

func TestNearbyConfig(t *testing.T) {
	for _, c := range []struct {
		yaml, err string
		want      Nearby
	}{
		{"", "", Nearby{BeyondKM: 5, Count: 2}},
		{"nearby: {beyond_km: 10, count: 3}", "", Nearby{BeyondKM: 10, Count: 3}},
		{"nearby: {count: 0}", "", Nearby{BeyondKM: 5, Count: 0}},
		{"nearby: {beyond_km: 0}", "alerting.nearby.beyond_km: 0 is not 0.5 to 500 km", Nearby{}},
		{"nearby: {count: 50}", "alerting.nearby.count: 50 is not 0 (none) to 10", Nearby{}},
	} {
		p, err := Parse([]byte(c.yaml + "\n"))
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%q: error %v, want %q", c.yaml, err, c.err)
			}
			continue
		}
		if err != nil || p.Nearby() != c.want {
			t.Errorf("%q: %+v, %v; want %+v", c.yaml, p.Nearby(), err, c.want)
		}
	}
}
