package service

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/xuri/excelize/v2"
)

// TestConsoleReportPage: the 月报 page offers the report of the signed-in user's
// township for a chosen month; its page and workbook hold that township's figures
// (the SOS of the access site, raised this month), a village's user is refused, and
// a bad month is a 400 naming it.
func TestConsoleReportPage(t *testing.T) {
	s := newAccessSite(t)
	month := time.Now().In(time.FixedZone("CST", 8*3600)).Format("2006-01")
	code, body := call(t, "GET", s.base+"/console/report?month="+month, s.tokens["duty-a"], "")
	if code != 200 || !strings.Contains(body, "/console/report/"+month+".pdf") || !strings.Contains(body, "服务监管月报") {
		t.Fatalf("report page: %d\n%s", code, body)
	}
	code, page := call(t, "GET", s.base+"/console/report/"+month+".html", s.tokens["duty-a"], "")
	if code != 200 || !strings.Contains(page, "和静县巴伦台镇") || !strings.Contains(page, "（部分月份）") || strings.Contains(page, "巴润哈尔莫敦镇") {
		t.Errorf("township page: %d, want 巴伦台镇's, partial, without the other township", code)
	}
	code, book := call(t, "GET", s.base+"/console/report/"+month+".xlsx", s.tokens["duty-a"], "")
	if code != 200 {
		t.Fatalf("workbook: %d %s", code, book)
	}
	f, err := excelize.OpenReader(strings.NewReader(book))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if v, _ := f.GetCellValue("概况", "C6"); v != "1" { // 警报总数: the one SOS of 巴伦台镇
		t.Errorf("概况!C6 (alerts) = %q, want 1", v)
	}
	b := newBrowser(t, s.base)
	b.signIn("duty-a", "duty-password-duty-a")
	b.run(chromedp.Navigate(s.base+"/console/report"), chromedp.WaitVisible(chromedp.CSS("#report-links")))
	if got := b.text("#report-links"); !strings.Contains(got, "PDF（A4打印）") || !strings.Contains(got, "Excel表格") {
		t.Errorf("links %q", got)
	}
	b.screenshot("report-phone", 390, 600)
	for _, tc := range []struct {
		user, path string
		code       int
		want       string
	}{
		{"doctor-a", "/console/report/" + month + ".html", 403, "月报按乡镇出"},
		{"duty-a", "/console/report/2026-13.html", 400, `-month "2026-13"`},
		{"duty-a", "/console/report/" + month + ".doc", 404, ""},
	} {
		code, body := call(t, "GET", s.base+tc.path, s.tokens[tc.user], "")
		if code != tc.code || !strings.Contains(body, tc.want) {
			t.Errorf("%s %s: %d %q, want %d with %q", tc.user, tc.path, code, body, tc.code, tc.want)
		}
	}
}
