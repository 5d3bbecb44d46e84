package report

import (
	"bytes"
	"context"
	"errors"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"carebed/alerting/sqlite"
	"carebed/gateway/influxread"
)

func TestParseMonth(t *testing.T) {
	now := time.Date(2026, 11, 16, 12, 0, 0, 0, beijing)
	tests := []struct {
		in      string
		err     string // "" for none: a part of the error naming the flag
		partial bool
		days    int
	}{
		{"2026-10", "", false, 31},
		{"2026-02", "", false, 28},
		{"2026-11", "", true, 30},
		{"2026-12", "-month 2026-12 has not started", false, 0},
		{"2027-01", "-month 2027-01 has not started", false, 0},
		{"2026-13", `-month "2026-13"`, false, 0},
		{"2026-1", `-month "2026-1"`, false, 0},
		{"11/2026", `-month "11/2026"`, false, 0},
		{"", `-month ""`, false, 0},
	}
	for _, tt := range tests {
		m, err := ParseMonth(tt.in, now, beijing)
		if tt.err != "" {
			if err == nil || !errors.Is(err, ErrFlag) || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParseMonth(%q) = %v, want an error with %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || m.Partial != tt.partial || m.Days() != tt.days {
			t.Errorf("ParseMonth(%q) = %+v, %v; want partial %v, %d days", tt.in, m, err, tt.partial, tt.days)
		}
		if tt.partial && !m.Until.Equal(now) {
			t.Errorf("partial month until %v, want now", m.Until)
		}
	}
}

func TestCheckScope(t *testing.T) {
	homes := fixtureHomes()
	other := homes[0]
	other.Place.County = "和硕县"
	tests := []struct {
		name  string
		in    Scope
		homes []Home
		want  Scope
		err   string
	}{
		{"the only county", Scope{}, homes, Scope{County: county}, ""},
		{"a township", Scope{Township: townA}, homes, Scope{County: county, Township: townA}, ""},
		{"unknown county", Scope{County: "和静"}, homes, Scope{}, `-county "和静": no such county`},
		{"unknown township", Scope{County: county, Township: "巴伦台"}, homes, Scope{}, `-township "巴伦台": no such township in 和静县`},
		{"two counties", Scope{}, append(homes, other), Scope{}, "-county: name the county"},
		{"no homes", Scope{}, nil, Scope{}, "-county: name the county (registered: none)"},
	}
	for _, tt := range tests {
		got, err := CheckScope(tt.in, tt.homes)
		switch {
		case tt.err != "" && (err == nil || !errors.Is(err, ErrFlag) || !strings.Contains(err.Error(), tt.err)):
			t.Errorf("%s: %v, want an error with %q", tt.name, err, tt.err)
		case tt.err == "" && (err != nil || got != tt.want):
			t.Errorf("%s: %+v %v, want %+v", tt.name, got, err, tt.want)
		}
	}
}

// TestThinData: with InfluxDB unreachable and no alerts at all, the figures say so
// (InfluxDB 不可用, 无数据) on the page and in the workbook instead of zeros, and a
// month not ended is marked 部分月份.
func TestThinData(t *testing.T) {
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "alerts.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String()
	ln.Close() // nothing listens there now
	now := time.Date(2026, 11, 16, 12, 0, 0, 0, beijing)
	m, err := ParseMonth("2026-11", now, beijing)
	if err != nil {
		t.Fatal(err)
	}
	src := Sources{Alerts: st, Influx: influxread.New(dead, "carebed/autogen", ""), Homes: fixtureHomes(), Policy: fixturePolicy(t)}
	r, err := Build(context.Background(), src, m, Scope{County: county, Township: townA}, now)
	if err != nil {
		t.Fatal(err)
	}
	if r.InfluxError == "" || len(r.Parts) != 1 {
		t.Fatalf("influx error %q, %d parts", r.InfluxError, len(r.Parts))
	}
	p := r.Parts[0]
	cellIs(t, "p50", p.Alerts.All.P50, NoData)
	cellIs(t, "in time", p.Alerts.All.InTime, NoData)
	cellIs(t, "online", p.Devs.Online, InfluxDown)
	cellIs(t, "H-1 online", p.Devs.Homes[0].Online, InfluxDown)
	cellIs(t, "visits done", p.Visits.Rows[0].Done, InfluxDown)
	cellIs(t, "day 20", p.Daily[19].Alerts, NotYet)
	cellIs(t, "day 3 online", p.Daily[2].Online, InfluxDown)
	var page bytes.Buffer
	if err := r.WriteHTML(&page); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"（部分月份）", "部分月份：本月尚未结束", "InfluxDB 不可用", "本月无警报", "无数据"} {
		if !strings.Contains(page.String(), want) {
			t.Errorf("page lacks %q", want)
		}
	}
	var book bytes.Buffer
	if err := r.WriteXLSX(&book); err != nil {
		t.Fatal(err)
	}
	f := openBook(t, book.Bytes())
	h1 := itoa(row(t, f, "设备", townA, "巴伦台村", "H-1"))
	for cell, want := range map[string]string{"设备!D" + h1: InfluxDown, "概况!C7": NoData} {
		sheet, ref, _ := strings.Cut(cell, "!")
		if got, _ := f.GetCellValue(sheet, ref); got != want {
			t.Errorf("%s = %q, want %q", cell, got, want)
		}
	}
	if a1, _ := f.GetCellValue("概况", "A1"); !strings.Contains(a1, "部分月份") {
		t.Errorf("概况!A1 = %q, want the month marked partial", a1)
	}
}

// FuzzParseMonth: whatever -month (or the console's URL) holds, ParseMonth either
// refuses it naming the flag or returns a whole month that has started.
func FuzzParseMonth(f *testing.F) {
	for _, s := range []string{"2026-11", "2026-13", "0000-01", "9999-12", "2026-1", "２０２６-11", "2026-11\x00", ""} {
		f.Add(s)
	}
	now := time.Date(2026, 11, 16, 12, 0, 0, 0, beijing)
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseMonth(s, now, beijing)
		if err != nil {
			if !errors.Is(err, ErrFlag) || !strings.Contains(err.Error(), "-month") {
				t.Fatalf("ParseMonth(%q): %v does not name -month", s, err)
			}
			return
		}
		if m.Label != s || m.Start.Day() != 1 || !m.End.Equal(m.Start.AddDate(0, 1, 0)) || m.Start.After(now) ||
			m.Until.After(m.End) || m.Days() < 28 || m.Days() > 31 {
			t.Fatalf("ParseMonth(%q) = %+v", s, m)
		}
	})
}
