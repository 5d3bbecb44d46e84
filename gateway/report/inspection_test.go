package report

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"carebed/gateway/inspect"
)

// rowsOf writes a table's rows as the page shows them, one string per row.
func rowsOf(t Table) []string {
	var out []string
	for _, r := range t.Rows {
		var cs []string
		for _, c := range r {
			cs = append(cs, c.String())
		}
		out = append(out, strings.Join(cs, " | "))
	}
	return out
}

// TestInspectionSection checks the 抽查 section of November's report against the
// draw stored by seedInspection (a real inspect.db read through inspect.ReadMonth):
// per township only its homes, the county all of them, a township report only its
// own, and a month without a draw says 本月未抽查.
func TestInspectionSection(t *testing.T) {
	m, err := ParseMonth("2026-11", reportNow, beijing)
	if err != nil {
		t.Fatal(err)
	}
	stored := seedInspection(t)
	none := func(context.Context, inspect.Month) (inspect.Record, error) {
		return inspect.Record{}, inspect.ErrNotFound
	}
	onlyB := func(ctx context.Context, im inspect.Month) (inspect.Record, error) {
		r, err := stored(ctx, im)
		r.Entries = slices.DeleteFunc(r.Entries, func(e inspect.Entry) bool { return e.Place.Township != townB })
		return r, err
	}
	draw := func(here int, pass, fix, fail, pending int) []string {
		return []string{"种子 | 42", "抽取时间 | 12-01 10:00:00", "抽取范围 | 和静县", "本辖区抽中户数 | " + itoa(here),
			"合格 | " + itoa(pass), "限期整改 | " + itoa(fix), "不合格 | " + itoa(fail), "未检查 | " + itoa(pending)}
	}
	h2 := "古尔图村 | H-2 | 张三（民政局） | 6 | 限期整改 | 床边扶手松动，12月15日前修好 | 12-03 15:30:00"
	h3 := "乃门村 | H-3 | 李四 | 7 | 未检查 |  | 未检查"
	h1 := "巴伦台村 | H-1 | 王五（卫健委） | 1 | 合格 |  | 12-02 09:00:00"
	tests := []struct {
		name        string
		read        InspectionReader
		scope       Scope
		town        string
		draw, homes []string
	}{
		{"township A of the county", stored, Scope{County: county}, townA, draw(2, 1, 1, 0, 0), []string{h2, h1}},
		{"township B of the county", stored, Scope{County: county}, townB, draw(1, 0, 0, 0, 1), []string{h3}},
		{"county summary", stored, Scope{County: county}, "", draw(3, 1, 1, 0, 1), []string{h2, h3, h1}},
		{"township A's own report", stored, Scope{County: county, Township: townA}, townA, draw(2, 1, 1, 0, 0), []string{h2, h1}},
		{"no home of A drawn", onlyB, Scope{County: county}, townA, draw(0, 0, 0, 0, 0), []string{NoneDrawnHere}},
		{"no draw", none, Scope{County: county}, townA, []string{NotDrawn}, []string{NotDrawn}},
		{"no draw, county", none, Scope{County: county}, "", []string{NotDrawn}, []string{NotDrawn}},
		{"draws not kept", nil, Scope{County: county}, "", []string{NotDrawn}, []string{NotDrawn}},
	}
	alerts := seedAlerts(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := Sources{Alerts: alerts, Homes: fixtureHomes(), Policy: fixturePolicy(t), Inspection: tt.read}
			r, err := Build(context.Background(), src, m, tt.scope, reportNow)
			if err != nil {
				t.Fatal(err)
			}
			if tt.scope.Township != "" && len(r.Parts) != 1 {
				t.Fatalf("%d parts, want only %s", len(r.Parts), tt.scope.Township)
			}
			p := partOf(t, r, tt.town)
			if got := rowsOf(p.inspectDrawTable()); !slices.Equal(got, tt.draw) {
				t.Errorf("draw\n got %q\nwant %q", got, tt.draw)
			}
			if got := rowsOf(p.inspectHomesTable()); !slices.Equal(got, tt.homes) {
				t.Errorf("homes\n got %q\nwant %q", got, tt.homes)
			}
		})
	}
}

// TestInspectionReadError: a draws' database that cannot be read fails the report
// rather than saying 本月未抽查.
func TestInspectionReadError(t *testing.T) {
	m, err := ParseMonth("2026-11", reportNow, beijing)
	if err != nil {
		t.Fatal(err)
	}
	broken := errors.New("disk I/O error")
	src := Sources{Alerts: seedAlerts(t), Homes: fixtureHomes(), Policy: fixturePolicy(t),
		Inspection: func(context.Context, inspect.Month) (inspect.Record, error) { return inspect.Record{}, broken }}
	if _, err := Build(context.Background(), src, m, Scope{County: county}, reportNow); !errors.Is(err, broken) {
		t.Errorf("err %v, want %v", err, broken)
	}
}
