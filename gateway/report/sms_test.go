package report

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"
)

// TestSMSThin: what the SMS table says when the visits' and digests' SMS are not
// known: no reader (无数据, and so the totals), a list recorded before lists kept
// their township (探访提醒 无数据 everywhere), a digest recorded before failures and
// segments were kept (its 失败 and cost 无数据, 已发 counted); a township report
// counts only its own.
func TestSMSThin(t *testing.T) {
	m, err := ParseMonth("2026-11", reportNow, beijing)
	if err != nil {
		t.Fatal(err)
	}
	reader := func(sends ...SMSSend) SMSReader {
		return func(context.Context, time.Time, time.Time) ([]SMSSend, error) { return sends, nil }
	}
	alertA := "警报 | 4 | 1 | 0 | 4 | ¥0.20"
	tests := []struct {
		name  string
		read  SMSReader
		scope Scope
		town  string
		want  []string
	}{
		{"no reader", nil, Scope{County: county}, townA, []string{alertA,
			"探访提醒 | 无数据 | 无数据 | — | 无数据 | 无数据", "家属周报 | 无数据 | 无数据 | — | 无数据 | 无数据",
			"合计 | 无数据 | 无数据 | 0 | 无数据 | 无数据"}},
		{"none sent", reader(), Scope{County: county}, townA, []string{alertA,
			"探访提醒 | 0 | 0 | — | 0 | ¥0.00", "家属周报 | 0 | 0 | — | 0 | ¥0.00", "合计 | 4 | 1 | 0 | 4 | ¥0.20"}},
		{"a list without its township", reader(
			SMSSend{Purpose: PurposeVisits, County: county, Township: townA, At: nov(2, 8, 0), Segments: 1},
			SMSSend{Purpose: PurposeVisits, At: nov(1, 8, 0)},
			SMSSend{Purpose: PurposeDigest, Home: "H-1", At: nov(1, 19, 0), Segments: 1}), Scope{County: county}, townB,
			[]string{"警报 | 1 | 0 | 0 | 1 | ¥0.05", "探访提醒 | 无数据 | 无数据 | — | 无数据 | 无数据",
				"家属周报 | 0 | 0 | — | 0 | ¥0.00", "合计 | 无数据 | 无数据 | 0 | 无数据 | 无数据"}},
		{"an old digest", reader(
			SMSSend{Purpose: PurposeDigest, Home: "H-1", At: nov(1, 19, 0), Old: true},
			SMSSend{Purpose: PurposeDigest, Home: "H-2", At: nov(8, 19, 0), Segments: 2}), Scope{County: county}, townA,
			[]string{alertA, "探访提醒 | 0 | 0 | — | 0 | ¥0.00", "家属周报 | 2 | 无数据 | — | 无数据 | 无数据",
				"合计 | 6 | 无数据 | 0 | 无数据 | 无数据"}},
		{"an old digest of the other township", reader(
			SMSSend{Purpose: PurposeDigest, Home: "H-3", At: nov(1, 19, 0), Old: true},
			SMSSend{Purpose: PurposeDigest, Home: "H-2", At: nov(8, 19, 0), Segments: 2}), Scope{County: county, Township: townA}, townA,
			[]string{alertA, "探访提醒 | 0 | 0 | — | 0 | ¥0.00", "家属周报 | 1 | 0 | — | 2 | ¥0.10",
				"合计 | 5 | 1 | 0 | 6 | ¥0.30"}},
	}
	alerts := seedAlerts(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := Sources{Alerts: alerts, Homes: fixtureHomes(), Policy: fixturePolicy(t), OtherSMS: tt.read}
			r, err := Build(context.Background(), src, m, tt.scope, reportNow)
			if err != nil {
				t.Fatal(err)
			}
			p := partOf(t, r, tt.town)
			if got := rowsOf(p.smsTable()); !slices.Equal(got, tt.want) {
				t.Errorf("sms\n got %q\nwant %q", got, tt.want)
			}
			sum := rowsOf(p.summaryTable())
			if total := rowsOf(Table{Rows: [][]Cell{{p.SMS.Total().Sent}}})[0]; !slices.Contains(sum, "短信 已发 | "+total) {
				t.Errorf("summary %q lacks 短信 已发 %s", sum, total)
			}
		})
	}
	broken := errors.New("visits.db: disk I/O error")
	src := Sources{Alerts: alerts, Homes: fixtureHomes(), Policy: fixturePolicy(t),
		OtherSMS: func(context.Context, time.Time, time.Time) ([]SMSSend, error) { return nil, broken }}
	if _, err := Build(context.Background(), src, m, Scope{County: county}, reportNow); !errors.Is(err, broken) {
		t.Errorf("unreadable SMS log: %v, want %v", err, broken)
	}
}
