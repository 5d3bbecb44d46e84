package ledger

import (
	"errors"
	"slices"
	"testing"
)

func TestNormalizePhone(t *testing.T) {
	tests := []struct {
		name, in, want string
		bad            bool
	}{
		{name: "mobile", in: "13800000001", want: "+8613800000001"},
		{name: "mobile with spaces", in: "138 0000 0001", want: "+8613800000001"},
		{name: "mobile with dashes", in: "138-0000-0001", want: "+8613800000001"},
		{name: "full-width space and dash", in: "138\u30000000－0001", want: "+8613800000001"},
		{name: "e164 china", in: "+86 138 0000 0001", want: "+8613800000001"},
		{name: "e164 germany", in: "+49 151 1234 5678", want: "+4915112345678"},
		{name: "e164 shortest", in: "+12345678", want: "+12345678"},
		{name: "e164 longest", in: "+123456789012345", want: "+123456789012345"},
		{name: "e164 too short", in: "+1234567", bad: true},
		{name: "e164 too long", in: "+1234567890123456", bad: true},
		{name: "e164 leading zero", in: "+0123456789", bad: true},
		{name: "landline", in: "0996-1234567", bad: true},
		{name: "ten digits", in: "1380000000", bad: true},
		{name: "twelve digits", in: "138000000011", bad: true},
		{name: "eleven digits not 1", in: "23800000001", bad: true},
		{name: "letters", in: "1380000000a", bad: true},
		{name: "full-width digits", in: "１３８００００００１", bad: true},
		{name: "empty", in: "", bad: true},
		{name: "plus only", in: "+", bad: true},
		{name: "86 without plus", in: "8613800000001", bad: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := normalizePhone(tt.in)
			if tt.bad {
				if !errors.Is(err, errPhone) {
					t.Fatalf("normalizePhone(%q) = %q, %v; want errPhone", tt.in, got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("normalizePhone(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestParsePhoneList(t *testing.T) {
	tests := []struct {
		name, in string
		want     []string
		bad      bool
	}{
		{name: "empty", in: "", want: nil},
		{name: "one", in: "13800000001", want: []string{"+8613800000001"}},
		{name: "semicolon", in: "13800000001;13800000002", want: []string{"+8613800000001", "+8613800000002"}},
		{name: "full-width semicolon", in: "13800000001；13800000002", want: []string{"+8613800000001", "+8613800000002"}},
		{name: "slash", in: "13800000001 / 13800000002", want: []string{"+8613800000001", "+8613800000002"}},
		{name: "comma", in: "13800000001,13800000002", want: []string{"+8613800000001", "+8613800000002"}},
		{name: "trailing separator", in: "13800000001;", want: []string{"+8613800000001"}},
		{name: "repeat dropped", in: "13800000001;+8613800000001", want: []string{"+8613800000001"}},
		{name: "one bad", in: "13800000001;0996-1234567", bad: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parsePhoneList(tt.in)
			if (err != nil) != tt.bad || !slices.Equal(got, tt.want) {
				t.Fatalf("parsePhoneList(%q) = %q, %v; want %q (bad %v)", tt.in, got, err, tt.want, tt.bad)
			}
		})
	}
}

func TestParseKind(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{name: "canonical", in: "sos_pendant", want: KindSOSPendant},
		{name: "upper case", in: "Fall_Sensor", want: KindFallSensor},
		{name: "sos button", in: "SOS按钮", want: KindSOSPendant},
		{name: "emergency caller", in: "紧急呼叫器", want: KindSOSPendant},
		{name: "fall detector", in: "跌倒检测器", want: KindFallSensor},
		{name: "fall alarm", in: "跌倒报警器", want: KindFallSensor},
		{name: "mattress", in: "床垫传感器", want: KindBedSensor},
		{name: "sleep belt", in: "睡眠监测带", want: KindBedSensor},
		{name: "smoke short", in: "烟感", want: KindSmokeDetector},
		{name: "smoke alarm", in: "烟雾报警器", want: KindSmokeDetector},
		{name: "gas", in: "燃气报警器", want: KindGasDetector},
		{name: "water", in: "水浸传感器", want: KindWaterSensor},
		{name: "unknown", in: "电视机", want: ""},
		{name: "empty", in: "", want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseKind(tt.in)
			if got != tt.want || (err != nil) != (tt.want == "") {
				t.Fatalf("parseKind(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestParseCoord(t *testing.T) {
	tests := []struct {
		name, in string
		limit    float64
		want     float64
		bad      bool
	}{
		{name: "korla", in: "41.7259", limit: 90, want: 41.7259},
		{name: "edge", in: "-90", limit: 90, want: -90},
		{name: "over", in: "90.0001", limit: 90, bad: true},
		{name: "lon", in: "179.5", limit: 180, want: 179.5},
		{name: "nan", in: "NaN", limit: 90, bad: true},
		{name: "inf", in: "Inf", limit: 180, bad: true},
		{name: "text", in: "北纬42度", limit: 90, bad: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseCoord(tt.in, tt.limit)
			if (err != nil) != tt.bad || got != tt.want {
				t.Fatalf("parseCoord(%q) = %v, %v; want %v (bad %v)", tt.in, got, err, tt.want, tt.bad)
			}
		})
	}
}

func TestParseMobile(t *testing.T) {
	for cell, want := range map[string]bool{"": false, "否": false, "定居": false, "No": false, "0": false,
		"是": true, "流动": true, "游牧": true, "YES": true, "1": true} {
		if got, err := parseMobile(cell); err != nil || got != want {
			t.Errorf("parseMobile(%q) = %v, %v; want %v", cell, got, err, want)
		}
	}
	for _, cell := range []string{"maybe", "夏牧场", "2"} {
		if _, err := parseMobile(cell); err == nil {
			t.Errorf("parseMobile(%q) accepted", cell)
		}
	}
}
