package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"carebed/gateway/inspect"
)

// inspectCLI is a command line whose registry holds 13 homes (newCLI's and 12 more), with a file of three
// inspectors; it returns the file's path.
func inspectCLI(t *testing.T) (*cli, string) {
	c := newCLI(t)
	var b strings.Builder
	b.WriteString("county,township,village,home_id,elder_name,address,lat,lon,device_id,device_kind," +
		"visitor_name,visitor_phone,doctor_name,doctor_phone,family_phone\n")
	for i := range 12 {
		fmt.Fprintf(&b, "和静县,巴伦台镇,村%d,H-%04d,老人%d,地址,42.7,86.3,bed-%04d,bed_sensor,探访员,13800000001,村医,13800000002,13900000003\n",
			i%3, i, i, i)
	}
	dir := t.TempDir()
	ledger, ins := filepath.Join(dir, "ledger.csv"), filepath.Join(dir, "inspectors.txt")
	if err := os.WriteFile(ledger, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(ins, []byte("# 2026年11月\n张三,县民政局\n李四,县卫健委\n王五\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c.ok("", "registry", "import", ledger)
	return c, ins
}

// TestReportInspectFlags: each bad flag is refused (exit 2) with an error naming it.
func TestReportInspectFlags(t *testing.T) {
	c, ins := inspectCLI(t)
	dir := t.TempDir()
	empty, dup := filepath.Join(dir, "empty.txt"), filepath.Join(dir, "dup.txt")
	os.WriteFile(empty, []byte("# nobody yet\n"), 0o600) //nolint:errcheck // read back below
	os.WriteFile(dup, []byte("张三\n张三,民政局\n"), 0o600)     //nolint:errcheck // read back below
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"-homes", "3", "-inspectors", ins}, "-month: the month to draw for is required"},
		{[]string{"-month", "2026-13", "-homes", "3", "-inspectors", ins}, `-month: "2026-13" is not a month YYYY-MM`},
		{[]string{"-month", "11/2026", "-homes", "3", "-inspectors", ins}, `-month: "11/2026" is not a month YYYY-MM`},
		{[]string{"-month", "2999-01", "-homes", "3", "-inspectors", ins}, "-month: 2999-01 has not begun"},
		{[]string{"-month", "2026-11", "-inspectors", ins}, "-homes: how many homes to draw, at least 1, is required"},
		{[]string{"-month", "2026-11", "-homes", "14", "-inspectors", ins}, "-homes: 14 asked for, but there are 13 homes to draw from"},
		{[]string{"-month", "2026-11", "-homes", "3"}, "-inspectors: the file of inspectors is required"},
		{[]string{"-month", "2026-11", "-homes", "3", "-inspectors", filepath.Join(dir, "none.txt")}, "-inspectors: open "},
		{[]string{"-month", "2026-11", "-homes", "3", "-inspectors", empty}, "-inspectors " + empty + ": no inspectors in the list"},
		{[]string{"-month", "2026-11", "-homes", "3", "-inspectors", dup}, "-inspectors " + dup + ": line 2: 张三 is on the list twice"},
		{[]string{"-month", "2026-11", "-homes", "3", "-inspectors", ins, "-seed", "-1"}, `-seed: "-1" is not a whole number`},
		{[]string{"-month", "2026-11", "-homes", "3", "-inspectors", ins, "-seed", "abc"}, `-seed: "abc" is not a whole number`},
		{[]string{"-month", "2026-11", "-homes", "3", "-inspectors", ins, "-county", "和硕县"}, "-county: no homes registered in 和硕县"},
		{[]string{"-month", "2026-11", "-homes", "3", "-inspectors", ins, "-slow", "0s"}, "-slow: must be more than 0"},
	} {
		code, _, errs := c.run("", append([]string{"report", "inspect"}, tt.args...)...)
		if code != 2 || !strings.Contains(errs, "gateway: "+tt.want) {
			t.Errorf("%v: exit %d, %q; want 2 and %q", tt.args, code, errs, tt.want)
		}
	}
}

// TestReportInspectReproducible draws in two data folders with the same seed: the
// same homes and inspectors; the draw is stored, the same draw again is accepted, a
// different one for the month refused.
func TestReportInspectReproducible(t *testing.T) {
	c1, ins := inspectCLI(t)
	c2, _ := inspectCLI(t)
	args := []string{"report", "inspect", "-month", "2026-11", "-homes", "4", "-inspectors", ins, "-seed", "20261201"}
	out1, out2 := c1.ok("", args...), c2.ok("", args...)
	drawn := func(out string) string {
		_, d, _ := strings.Cut(out, "抽中：")
		d, _, _ = strings.Cut(d, "已保存")
		return d
	}
	if drawn(out1) == "" || drawn(out1) != drawn(out2) {
		t.Errorf("two draws with the same seed differ:\n%s\n%s", out1, out2)
	}
	if !strings.Contains(out1, "种子 20261201") || !strings.Contains(out1, "PCG(种子, 202611)") || strings.Count(out1, "H-") != 13+4 {
		t.Errorf("output:\n%s", out1)
	}
	rec, err := inspect.ReadMonth(context.Background(), c1.env["CAREBED_DATA_DIR"], "", inspect.Month{Year: 2026, Month: 11})
	if err != nil || rec.Seed != 20261201 || len(rec.Entries) != 4 {
		t.Fatalf("stored: %+v %v", rec, err)
	}
	for _, e := range rec.Entries {
		if !strings.Contains(drawn(out1), e.Place.Home) || !strings.Contains(drawn(out1), e.Inspector.Name) {
			t.Errorf("stored %s/%s is not in the printed draw", e.Place.Home, e.Inspector.Name)
		}
	}
	c1.ok("", args...) // checking a published draw changes nothing
	code, _, errs := c1.run("", "report", "inspect", "-month", "2026-11", "-homes", "4", "-inspectors", ins, "-seed", "7")
	if code != 1 || !strings.Contains(errs, "the month was drawn already, differently (seed 20261201") {
		t.Errorf("a second draw of the month: exit %d %s", code, errs)
	}
	if out := c1.ok("", "report", "inspect", "-month", "2026-10", "-homes", "2", "-inspectors", ins); !strings.Contains(out, "种子 ") {
		t.Errorf("a draw without -seed prints none:\n%s", out)
	}
}
