package main

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"carebed/alerting/sqlite"
)

// TestReportMonthlyFlags: bad input is refused with exit 2 and an error naming
// the flag.
func TestReportMonthlyFlags(t *testing.T) {
	c := newCLI(t)
	out := t.TempDir()
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"-out", out}, "-month: required"},
		{[]string{"-month", "2026-11"}, "-out: required"},
		{[]string{"-month", "2026/11", "-out", out}, `-month "2026/11"`},
		{[]string{"-month", "2999-01", "-out", out}, "-month 2999-01 has not started"},
		{[]string{"-month", "2026-11", "-county", "和硕县", "-out", out}, `-county "和硕县": no such county`},
		{[]string{"-month", "2026-11", "-township", "乌拉斯台", "-out", out}, `-township "乌拉斯台": no such township`},
	}
	for _, tt := range tests {
		code, _, errs := c.run("", append([]string{"report", "monthly"}, tt.args...)...)
		if code != 2 || !strings.Contains(errs, tt.want) {
			t.Errorf("report monthly %v: exit %d, %q; want 2 and %q", tt.args, code, errs, tt.want)
		}
	}
}

// TestReportMonthlyWrites runs the command on a registry and an empty alert store,
// with InfluxDB unreachable: it writes the county's and the township's page and
// workbook, and says InfluxDB was not available.
func TestReportMonthlyWrites(t *testing.T) {
	c := newCLI(t)
	st, err := sqlite.Open(filepath.Join(c.env["CAREBED_DATA_DIR"], "alerts.db"))
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c.env["CAREBED_INFLUX_URL"] = "http://" + ln.Addr().String()
	ln.Close()
	out := t.TempDir()
	month := time.Now().AddDate(0, -1, 0).Format("2006-01")
	stdout := c.ok("", "report", "monthly", "-month", month, "-pdf=false", "-out", out)
	for _, name := range []string{month + "-和静县.html", month + "-和静县.xlsx", month + "-和静县-巴伦台镇.html", month + "-和静县-巴伦台镇.xlsx"} {
		if !strings.Contains(stdout, name) {
			t.Errorf("stdout lacks %s:\n%s", name, stdout)
		}
		if _, err := os.Stat(filepath.Join(out, name)); err != nil {
			t.Error(err)
		}
	}
	page, err := os.ReadFile(filepath.Join(out, month+"-和静县.html"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(page), "InfluxDB 不可用") || !strings.Contains(string(page), "本月无警报") {
		t.Errorf("page does not say InfluxDB was unavailable and no alerts were raised")
	}
	if !strings.Contains(string(page), "本月未抽查") { // no inspect.db in the data folder
		t.Errorf("page does not say the month was not drawn for inspection")
	}
}
