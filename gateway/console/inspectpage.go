package console

import (
	"context"
	"errors"
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"time"

	"carebed/alerting"
	"carebed/gateway/inspect"
)

// Inspections are the stored inspection draws; *inspect.Store is one.
type Inspections interface {
	Month(ctx context.Context, m inspect.Month) (inspect.Record, error)
	SetResult(ctx context.Context, m inspect.Month, home string, r inspect.Result) error
}

// roleCounty is the role that enters inspection results (gateway/auth's
// RoleCountyAdmin).
const roleCounty = "county_admin"

// InspectPage is the console's 抽查 page: a month's random inspection draw (made with
// `gateway report inspect`) for the caller's area, and for the county's staff a form
// per home to enter what the inspection found.
type InspectPage struct {
	c *Console
	s Inspections
}

// NewInspectPage parses the page's template into the console's pages; call it before
// the console serves.
func NewInspectPage(c *Console, s Inspections) (*InspectPage, error) {
	t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html",
		"templates/inspect.html", "templates/fragments.html")
	if err != nil {
		return nil, err
	}
	c.pages["inspect"] = t
	return &InspectPage{c: c, s: s}, nil
}

// Register adds the page's routes.
func (p *InspectPage) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /console/inspect", p.c.signedIn(p.show))
	mux.HandleFunc("POST /console/inspect", p.c.signedIn(p.result))
}

// InspectRow is one home drawn, on the page.
type InspectRow struct {
	N                                  int
	Home, Township, Village, Inspector string
	Weight                             uint64
	Outcome, OutcomeText, Note, By, At string
}

// InspectData is the 抽查 page.
type InspectData struct {
	Page
	Month   string
	Drawn   bool
	Seed    string
	DrawnAt string
	Rows    []InspectRow
	// CanEnter: the caller enters results (the county's staff).
	CanEnter bool
	Error    string
}

// month is the month asked for (?month=YYYY-MM), else the previous month.
func (p *InspectPage) month(s string) (inspect.Month, error) {
	if s != "" {
		return inspect.ParseMonth(s)
	}
	y, m, _ := p.c.o.Now().In(p.c.o.Location).Date()
	prev := time.Date(y, m, 1, 0, 0, 0, 0, time.UTC).AddDate(0, -1, 0)
	return inspect.Month{Year: prev.Year(), Month: prev.Month()}, nil
}

func (p *InspectPage) show(q *request) {
	m, err := p.month(q.r.URL.Query().Get("month"))
	if err != nil {
		m, _ = p.month("")
		p.render(q, http.StatusBadRequest, m, tr(q.lang, "inspect.badmonth"))
		return
	}
	p.render(q, http.StatusOK, m, "")
}

// render writes the month's draw as the caller may see it.
func (p *InspectPage) render(q *request, status int, m inspect.Month, errLine string) {
	d := InspectData{Page: p.c.page(q, "inspect"), Month: m.String(), CanEnter: q.caller.Role == roleCounty, Error: errLine}
	if q.r.URL.Query().Get("m") == "saved" {
		d.Flash = tr(q.lang, "inspect.saved")
	}
	rec, err := p.s.Month(q.r.Context(), m)
	switch {
	case errors.Is(err, inspect.ErrNotFound):
	case err != nil:
		p.c.fail(q.w, err)
		return
	default:
		d.Drawn, d.Seed = true, strconv.FormatUint(rec.Seed, 10)
		d.DrawnAt = rec.DrawnAt.In(p.c.o.Location).Format("2006-01-02 15:04")
		for i, e := range rec.Entries {
			if q.caller.Sees(alerting.Place{County: e.Place.County, Township: e.Place.Township, Village: e.Place.Village, Home: e.Place.Home}) {
				d.Rows = append(d.Rows, p.row(q.lang, i+1, e))
			}
		}
	}
	p.c.render(q.w, "inspect", status, d)
}

func (p *InspectPage) row(l string, n int, e inspect.Entry) InspectRow {
	r := InspectRow{N: n, Home: e.Place.Home, Township: e.Place.Township, Village: e.Place.Village,
		Inspector: e.Inspector.Name, Weight: e.Weight(), Outcome: string(e.Result.Outcome),
		OutcomeText: tr(l, "inspect.outcome."+string(e.Result.Outcome)), Note: e.Result.Note, By: e.Result.By}
	if e.Inspector.Unit != "" {
		r.Inspector += "（" + e.Inspector.Unit + "）"
	}
	if !e.Result.At.IsZero() {
		r.At = e.Result.At.In(p.c.o.Location).Format("01-02 15:04")
	}
	return r
}

// maxNote bounds an inspection note.
const maxNote = 500

// result records an inspection's result: the county's staff only, for a home of
// their area drawn that month.
func (p *InspectPage) result(q *request) {
	f := q.r.PostFormValue
	m, err := inspect.ParseMonth(f("month"))
	if err != nil {
		m, _ = p.month("")
		p.render(q, http.StatusBadRequest, m, tr(q.lang, "inspect.badmonth"))
		return
	}
	if q.caller.Role != roleCounty {
		p.render(q, http.StatusForbidden, m, tr(q.lang, "inspect.notcounty"))
		return
	}
	outcome, ok := inspect.ParseOutcome(f("outcome"))
	if !ok {
		p.render(q, http.StatusBadRequest, m, tr(q.lang, "inspect.badoutcome"))
		return
	}
	note := strings.TrimSpace(f("note"))
	if len([]rune(note)) > maxNote {
		note = string([]rune(note)[:maxNote])
	}
	home := strings.TrimSpace(f("home"))
	rec, err := p.s.Month(q.r.Context(), m)
	if err != nil && !errors.Is(err, inspect.ErrNotFound) {
		p.c.fail(q.w, err)
		return
	}
	if !p.drawnAndSeen(q, rec, home) {
		p.render(q, http.StatusBadRequest, m, tr(q.lang, "inspect.nothome")+home)
		return
	}
	r := inspect.Result{Outcome: outcome, Note: note, By: q.caller.Name, At: p.c.o.Now()}
	if err := p.s.SetResult(q.r.Context(), m, home, r); err != nil {
		p.c.fail(q.w, err)
		return
	}
	http.Redirect(q.w, q.r, "/console/inspect?month="+m.String()+"&m=saved", http.StatusSeeOther)
}

// drawnAndSeen reports whether home was drawn in rec and lies in the caller's area.
func (p *InspectPage) drawnAndSeen(q *request, rec inspect.Record, home string) bool {
	for _, e := range rec.Entries {
		if e.Place.Home == home {
			return q.caller.Sees(alerting.Place{County: e.Place.County, Township: e.Place.Township,
				Village: e.Place.Village, Home: home})
		}
	}
	return false
}
