package report

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/xuri/excelize/v2"

	"carebed/internal/devsvc"
)

// TestFixtureFiles writes November's report as files, prints the PDFs with real
// Chromium, reads the workbook back with excelize, and screenshots the page
// ($CAREBED_SCREENSHOTS, e.g. docs/report/, or the test's folder).
func TestFixtureFiles(t *testing.T) {
	r := buildFixture(t, startFixtureInflux(t))
	ctx := context.Background()
	pr, err := NewPrinter(ctx, devsvc.Chromium(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pr.Close)
	dir := t.TempDir()
	files, err := WriteAll(ctx, r, dir, pr)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for i, f := range files {
		names = append(names, filepath.Base(f.XLSX))
		parts := 1 // a township's file; the county's has every township and the summary
		if i == 0 {
			parts = len(r.Parts)
		}
		checkPDF(t, f.PDF, parts)
	}
	if want := "2026-11-和静县.xlsx 2026-11-和静县-乃门莫敦镇.xlsx 2026-11-和静县-巴伦台镇.xlsx"; strings.Join(names, " ") != want {
		t.Errorf("files %v, want %s", names, want)
	}
	checkWorkbook(t, files[0].XLSX)
	checkWithOpenpyxl(t, files[0].XLSX)
	page, err := os.ReadFile(files[0].HTML)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"和静县 2026年11月 家庭养老床位服务监管月报", "按时接手比例", "<svg", "无数据", "62.1%"} {
		if !bytes.Contains(page, []byte(want)) {
			t.Errorf("page lacks %q", want)
		}
	}
	screenshot(t, files[2].HTML, "report-township.png")
}

var mediaBoxRE = regexp.MustCompile(`/MediaBox\s*\[\s*0\s+0\s+([0-9.]+)\s+([0-9.]+)\s*\]`)

// checkPDF checks the file is a PDF of A4 pages (595 × 842 points), at least one
// per part (each part starts a page).
func checkPDF(t *testing.T, path string, parts int) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b, []byte("%PDF-")) || len(b) < 10_000 {
		t.Fatalf("%s: %d bytes, not a PDF with content", path, len(b))
	}
	boxes := mediaBoxRE.FindAllSubmatch(b, -1)
	if len(boxes) < parts {
		t.Fatalf("%s: %d pages, want at least %d", path, len(boxes), parts)
	}
	t.Logf("%s: %d A4 pages, %d bytes", filepath.Base(path), len(boxes), len(b))
	for _, m := range boxes {
		w, _ := strconv.ParseFloat(string(m[1]), 64)
		h, _ := strconv.ParseFloat(string(m[2]), 64)
		if w < 594 || w > 596 || h < 841 || h > 843 {
			t.Errorf("%s: page %s × %s points, want A4 (595 × 842)", path, m[1], m[2])
		}
	}
}

// row finds the row of a sheet whose first cells are keys.
func row(t *testing.T, f *excelize.File, sheet string, keys ...string) int {
	t.Helper()
	rows, err := f.GetRows(sheet)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range rows {
		if len(r) >= len(keys) && slicesHasPrefix(r, keys) {
			return i + 1
		}
	}
	t.Fatalf("sheet %s: no row %v", sheet, keys)
	return 0
}

func slicesHasPrefix(r, keys []string) bool {
	for i, k := range keys {
		if r[i] != k {
			return false
		}
	}
	return true
}

// checkWorkbook reads cells back: numbers are numbers with their format, times
// Excel times, missing figures their reason.
func checkWorkbook(t *testing.T, path string) {
	t.Helper()
	f, err := excelize.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	want := []string{"概况", "警报", "处理结果", "最慢五次", "最慢五次经过", "设备", "探访巡诊", "短信", "抽查", "抽查结果", "每日"}
	if got := f.GetSheetList(); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("sheets %v, want %v", got, want)
	}
	sos := row(t, f, "警报", "巴伦台镇", "紧急呼叫")
	noBattery := row(t, f, "警报", "巴伦台镇", "电量低")
	h2 := row(t, f, "设备", "巴伦台镇", "古尔图村", "H-2")
	h3 := row(t, f, "设备", "乃门莫敦镇", "乃门村", "H-3")
	slow := row(t, f, "最慢五次", "巴伦台镇")
	drawnAt := itoa(row(t, f, "抽查", "巴伦台镇", "抽取时间"))
	inspH2 := itoa(row(t, f, "抽查结果", "巴伦台镇", "古尔图村", "H-2"))
	inspH3 := itoa(row(t, f, "抽查结果", "乃门莫敦镇", "乃门村", "H-3"))
	tests := []struct {
		sheet, cell string
		raw         string // the stored value
		format      string // the number format; "" for text
	}{
		{"警报", "F" + itoa(sos), "2", "0"},                           // 合计
		{"警报", "I" + itoa(sos), "0.00208333333333333", "[h]:mm:ss"}, // 3 minutes
		{"警报", "J" + itoa(sos), "0.00555555555555556", "[h]:mm:ss"}, // 8 minutes
		{"警报", "M" + itoa(sos), "0.5", "0.0%"},
		{"警报", "I" + itoa(noBattery), NoData, ""},
		{"设备", "D" + itoa(h2), "0.620689655172414", "0.0%"},
		{"设备", "F" + itoa(h2), "11", "[h]:mm:ss"}, // 264 hours
		{"设备", "I" + itoa(h2), "2.5", "0.0"},
		{"设备", "D" + itoa(h3), NoData, ""},
		{"最慢五次", "F" + itoa(slow), "46336.9166666667", "yyyy-mm-dd hh:mm:ss"}, // 2026-11-10 22:00 Beijing
		{"短信", "G" + itoa(row(t, f, "短信", "巴伦台镇", "警报")), "0.2", "0.00"},
		{"短信", "F" + itoa(row(t, f, "短信", "巴伦台镇", "探访提醒")), "4", "0"},
		{"短信", "E" + itoa(row(t, f, "短信", "巴伦台镇", "探访提醒")), "—", ""},
		{"短信", "G" + itoa(row(t, f, "短信", "和静县（全县汇总）", "合计")), "0.7", "0.00"},
		{"抽查", "C" + drawnAt, "46357.4166666667", "yyyy-mm-dd hh:mm:ss"}, // 2026-12-01 10:00 Beijing
		{"抽查", "C" + itoa(row(t, f, "抽查", "巴伦台镇", "种子")), "42", ""},
		{"抽查", "C" + itoa(row(t, f, "抽查", "乃门莫敦镇", "未检查")), "1", "0"},
		{"抽查结果", "E" + inspH2, "6", "0"},
		{"抽查结果", "F" + inspH2, "限期整改", ""},
		{"抽查结果", "H" + inspH2, "46359.6458333333", "yyyy-mm-dd hh:mm:ss"}, // 2026-12-03 15:30
		{"抽查结果", "H" + inspH3, "未检查", ""},
	}
	for _, tt := range tests {
		raw, err := f.GetCellValue(tt.sheet, tt.cell, excelize.Options{RawCellValue: true})
		if err != nil {
			t.Fatal(err)
		}
		if !sameNumber(raw, tt.raw) {
			t.Errorf("%s!%s = %q, want %q", tt.sheet, tt.cell, raw, tt.raw)
		}
		if got := numFormat(t, f, tt.sheet, tt.cell); got != tt.format {
			t.Errorf("%s!%s format %q, want %q", tt.sheet, tt.cell, got, tt.format)
		}
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

// sameNumber compares two cell values as numbers to 9 digits, or as text.
func sameNumber(a, b string) bool {
	x, err1 := strconv.ParseFloat(a, 64)
	y, err2 := strconv.ParseFloat(b, 64)
	if err1 != nil || err2 != nil {
		return a == b
	}
	return x-y < 1e-9 && y-x < 1e-9
}

func numFormat(t *testing.T, f *excelize.File, sheet, cell string) string {
	t.Helper()
	id, err := f.GetCellStyle(sheet, cell)
	if err != nil {
		t.Fatal(err)
	}
	st, err := f.GetStyle(id)
	if err != nil {
		t.Fatal(err)
	}
	if st.CustomNumFmt == nil {
		return ""
	}
	return *st.CustomNumFmt
}

// screenshot takes a full-page screenshot of the HTML file page.
func screenshot(t *testing.T, page, name string) {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(devsvc.Chromium(t)), chromedp.NoSandbox,
		chromedp.WindowSize(794, 1123), chromedp.Flag("lang", "zh-CN"))
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	if err := chromedp.Do(bctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithTimeout(bctx, 30*time.Second)
	defer stop()
	if err := chromedp.Do(ctx, chromedp.Navigate("file://"+page)); err != nil {
		t.Fatal(err)
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	dir := os.Getenv("CAREBED_SCREENSHOTS")
	if dir == "" {
		dir = t.TempDir()
	}
	if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot %s", filepath.Join(dir, name))
}

// checkWithOpenpyxl reads cells back with a reader that is not excelize (Debian's
// python3-openpyxl): numbers are numbers, durations and times are read as times,
// a missing figure is its reason.
func checkWithOpenpyxl(t *testing.T, path string) {
	t.Helper()
	python := os.Getenv("CAREBED_PYTHON")
	if python == "" {
		python = "/usr/bin/python3"
	}
	f, err := excelize.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sos := itoa(row(t, f, "警报", "巴伦台镇", "紧急呼叫"))
	h2 := itoa(row(t, f, "设备", "巴伦台镇", "古尔图村", "H-2"))
	h3 := itoa(row(t, f, "设备", "乃门莫敦镇", "乃门村", "H-3"))
	slow := itoa(row(t, f, "最慢五次", "巴伦台镇"))
	day5 := itoa(row(t, f, "每日", "巴伦台镇") + 4)
	drawnAt := itoa(row(t, f, "抽查", "巴伦台镇", "抽取时间"))
	inspH2 := itoa(row(t, f, "抽查结果", "巴伦台镇", "古尔图村", "H-2"))
	smsTotal := itoa(row(t, f, "短信", "巴伦台镇", "合计"))
	f.Close()
	want := map[string]struct {
		typ, value, format string
	}{
		"警报!F" + sos:      {"int", "2", "0"},
		"警报!J" + sos:      {"timedelta", "480", "[h]:mm:ss"}, // 8 minutes
		"警报!M" + sos:      {"float", "0.5", "0.0%"},
		"设备!D" + h2:       {"float", "0.6206896551724138", "0.0%"},
		"设备!F" + h2:       {"timedelta", "950400", "[h]:mm:ss"}, // 264 h
		"设备!D" + h3:       {"str", NoData, "General"},
		"最慢五次!F" + slow:   {"datetime", "2026-11-10T22:00:00", "yyyy-mm-dd hh:mm:ss"},
		"每日!B" + day5:     {"datetime", "2026-11-05T00:00:00", "yyyy-mm-dd"},
		"每日!E" + day5:     {"float", "0.875", "0.0%"},
		"抽查!C" + drawnAt:  {"datetime", "2026-12-01T10:00:00", "yyyy-mm-dd hh:mm:ss"},
		"抽查结果!E" + inspH2: {"int", "6", "0"},
		"短信!C" + smsTotal: {"int", "8", "0"},
		"短信!G" + smsTotal: {"float", "0.5", "0.00"},
		"抽查结果!H" + inspH2: {"datetime", "2026-12-03T15:30:00", "yyyy-mm-dd hh:mm:ss"},
	}
	args := []string{"testdata/readxlsx.py", path}
	for ref := range want {
		args = append(args, ref)
	}
	out, err := exec.Command(python, args...).Output()
	if err != nil {
		t.Fatalf("openpyxl (%s, needs python3-openpyxl): %v", python, err)
	}
	var got map[string]struct {
		Type   string `json:"type"`
		Value  any    `json:"value"`
		Format string `json:"format"`
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%s: %v", out, err)
	}
	for ref, w := range want {
		g := got[ref]
		if v := fmt.Sprint(g.Value); g.Type != w.typ || !sameNumber(v, w.value) || g.Format != w.format {
			t.Errorf("openpyxl %s = %s %v %q, want %s %s %q", ref, g.Type, g.Value, g.Format, w.typ, w.value, w.format)
		}
	}
}

func openBook(t *testing.T, b []byte) *excelize.File {
	t.Helper()
	f, err := excelize.OpenReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}
