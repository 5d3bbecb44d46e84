package report

import (
	"embed"
	"html/template"
	"io"
)

//go:embed templates/report.html
var templatesFS embed.FS

var pageTmpl = template.Must(template.ParseFS(templatesFS, "templates/report.html"))

// pagePart is a part as the template draws it.
type pagePart struct {
	Name   string
	Charts []template.HTML
	Tables []Table
}

// WriteHTML writes the report's pageTmpl.
func (r Report) WriteHTML(w io.Writer) error {
	loc := r.Month.Start.Location()
	data := struct {
		R                    Report
		From, To, Made, Zone string
		Parts                []pagePart
	}{R: r, From: r.Month.Start.Format("2006-01-02 15:04"), To: r.Month.Until.In(loc).Format("2006-01-02 15:04"),
		Made: r.Made.In(loc).Format("2006-01-02 15:04"), Zone: loc.String()}
	for _, p := range r.Parts {
		pp := pagePart{Name: p.Name(), Charts: p.charts()}
		for _, t := range p.Tables() {
			if !t.BookOnly {
				pp.Tables = append(pp.Tables, t)
			}
		}
		data.Parts = append(data.Parts, pp)
	}
	return pageTmpl.Execute(w, data)
}

func (p Part) charts() []template.HTML {
	return []template.HTML{
		barChart("每日警报数", p.Daily, func(d Day) Cell { c := d.Alerts; c.Unit = Count; return c }),
		barChart("每日接手用时中位数", p.Daily, func(d Day) Cell { c := d.Take; c.Unit = Duration; return c }),
		barChart("每日设备在线率", p.Daily, func(d Day) Cell { c := d.Online; c.Unit = Share; return c }),
		barChart("每日探访巡诊次数", p.Daily, func(d Day) Cell { c := d.Visits; c.Unit = Count; return c }),
	}
}
