package console

import (
	"bytes"
	"context"
	"errors"
	"html/template"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"carebed/gateway/report"
)

// Reports makes the monthly supervision report; report.Maker is one.
type Reports interface {
	Make(ctx context.Context, month string, s report.Scope, format string, w io.Writer) error
}

// ReportPage is the console's 月报 page: the monthly supervision report of the
// caller's township (or county), as a page, a PDF and a workbook, for a chosen month.
type ReportPage struct {
	c *Console
	r Reports
}

// NewReportPage parses the page's template into the console's pages; call it before
// the console serves.
func NewReportPage(c *Console, r Reports) (*ReportPage, error) {
	t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html",
		"templates/report.html", "templates/fragments.html")
	if err != nil {
		return nil, err
	}
	c.pages["report"] = t
	return &ReportPage{c: c, r: r}, nil
}

// Register adds the page's routes.
func (p *ReportPage) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /console/report", p.c.signedIn(p.show))
	mux.HandleFunc("GET /console/report/{file}", p.c.signedIn(p.file))
}

// reportMonths is how many past months the page offers.
const reportMonths = 12

// ReportData is the 月报 page.
type ReportData struct {
	Page
	Months []ReportMonth
	// Month is the chosen month; Links its files.
	Month string
	Links []ReportLink
	// Refused says why the caller gets no report (a village's user: the report
	// is a township's).
	Refused string
}

// ReportMonth is a month the page offers.
type ReportMonth struct {
	Value, Label string
	Partial      bool
}

// ReportLink is one file of the chosen month.
type ReportLink struct {
	Label, URL string
}

func (p *ReportPage) show(q *request) {
	d := ReportData{Page: p.c.page(q, "report")}
	if q.caller.Area.Village != "" || q.caller.Area.County == "" {
		d.Refused = tr(q.lang, "report.village")
		p.c.render(q.w, "report", http.StatusOK, d)
		return
	}
	now := p.c.o.Now().In(p.c.o.Location)
	first := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, now.Location())
	for i := range reportMonths {
		m := first.AddDate(0, -i, 0)
		d.Months = append(d.Months, ReportMonth{Value: m.Format("2006-01"), Label: m.Format("2006-01"), Partial: i == 0})
	}
	d.Month = q.r.URL.Query().Get("month")
	if d.Month == "" {
		d.Month = d.Months[1].Value // the last month that has ended
	}
	for _, f := range []struct{ label, ext string }{
		{tr(q.lang, "report.html"), report.FormatHTML}, {tr(q.lang, "report.pdf"), report.FormatPDF},
		{tr(q.lang, "report.xlsx"), report.FormatXLSX},
	} {
		d.Links = append(d.Links, ReportLink{Label: f.label, URL: "/console/report/" + url.PathEscape(d.Month+"."+f.ext)})
	}
	p.c.render(q.w, "report", http.StatusOK, d)
}

var contentTypes = map[string]string{
	report.FormatHTML: "text/html; charset=utf-8",
	report.FormatPDF:  "application/pdf",
	report.FormatXLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}

// file makes one file of the caller's area: /console/report/2026-11.pdf.
func (p *ReportPage) file(q *request) {
	a := q.caller.Area
	if a.Village != "" || a.County == "" {
		http.Error(q.w, tr(q.lang, "report.village"), http.StatusForbidden)
		return
	}
	month, format, _ := strings.Cut(q.r.PathValue("file"), ".")
	ctype, ok := contentTypes[format]
	if !ok {
		http.NotFound(q.w, q.r)
		return
	}
	var b bytes.Buffer
	err := p.r.Make(q.r.Context(), month, report.Scope{County: a.County, Township: a.Township}, format, &b)
	switch {
	case errors.Is(err, report.ErrFlag):
		http.Error(q.w, err.Error(), http.StatusBadRequest)
		return
	case errors.Is(err, report.ErrNoChromium):
		http.Error(q.w, tr(q.lang, "report.nopdf"), http.StatusServiceUnavailable)
		return
	case err != nil:
		p.c.fail(q.w, err)
		return
	}
	name := report.FileBase(month, a.County, a.Township) + "." + format
	q.w.Header().Set("Content-Type", ctype)
	if format != report.FormatHTML {
		q.w.Header().Set("Content-Disposition", "attachment; filename*=UTF-8''"+url.PathEscape(name))
	}
	q.w.Write(b.Bytes()) //nolint:errcheck // the client went away
}
