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
	"carebed/gateway/registry"
	"carebed/gateway/visits"
)

// Visits is the visits service as the 探访 page uses it; *visits.Service is one.
type Visits interface {
	Due(ctx context.Context, now time.Time) ([]visits.Due, error)
	Recent(ctx context.Context, since time.Time, limit int) ([]visits.Visit, error)
	Record(ctx context.Context, c visits.CheckIn) (visits.Visit, error)
	OpenLink(ctx context.Context, token string) (visits.LinkView, error)
	LinkCheckIn(ctx context.Context, token, home string, state visits.State, note string, vit visits.Vitals) (visits.Visit, error)
}

// VisitsPage is the console's 探访 page: the homes of the caller's area due or
// overdue for a visit or a round, the recent check-ins, and a form to record one.
type VisitsPage struct {
	c *Console
	v Visits
}

// NewVisitsPage parses the page's template into the console's pages; call it before
// the console serves.
func NewVisitsPage(c *Console, v Visits) (*VisitsPage, error) {
	for _, page := range []string{"visits", "visitlink"} {
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html",
			"templates/"+page+".html", "templates/fragments.html")
		if err != nil {
			return nil, err
		}
		c.pages[page] = t
	}
	return &VisitsPage{c: c, v: v}, nil
}

// Register adds the page's routes.
func (p *VisitsPage) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /console/visits", p.c.signedIn(p.show))
	mux.HandleFunc("POST /console/visits", p.c.signedIn(p.record))
	mux.HandleFunc("GET /v/{token}", p.linkPage)
	mux.HandleFunc("POST /v/{token}", p.linkCheckIn)
}

// recentVisits is how far back the page lists check-ins.
const recentVisits = 14 * 24 * time.Hour

// DueRow is one home due on the page.
type DueRow struct {
	Home, Village, Kind, Late, Last string
	Overdue, Alert                  bool
}

// VisitRow is one recent check-in on the page.
type VisitRow struct {
	ID                                     int64
	At, Home, Village, Kind, Source, State string
	Vitals, Note                           string
	Confirmed                              bool
}

// VisitsData is the 探访 page.
type VisitsData struct {
	Page
	Due     []DueRow
	Overdue int
	Recent  []VisitRow
	Error   string
}

func (p *VisitsPage) show(q *request) { p.render(q, http.StatusOK, "") }

// render writes the page, with an error line when a check-in was refused.
func (p *VisitsPage) render(q *request, status int, errLine string) {
	ctx := q.r.Context()
	d := VisitsData{Page: p.c.page(q, "visits"), Error: errLine}
	if q.r.URL.Query().Get("m") == "recorded" {
		d.Flash = tr(q.lang, "visits.recorded")
	}
	now := p.c.o.Now()
	dues, err := p.v.Due(ctx, now)
	if err != nil {
		p.c.fail(q.w, err)
		return
	}
	for _, du := range dues {
		if !q.caller.Sees(place(du.Care.Place)) {
			continue
		}
		d.Due = append(d.Due, p.dueRow(q.lang, du))
		if du.Overdue {
			d.Overdue++
		}
	}
	recent, err := p.v.Recent(ctx, now.Add(-recentVisits), 1000)
	if err != nil {
		p.c.fail(q.w, err)
		return
	}
	for _, v := range recent {
		if q.caller.Sees(alerting.Place{County: v.County, Township: v.Township, Village: v.Village, Home: v.Home}) && len(d.Recent) < 200 {
			d.Recent = append(d.Recent, p.visitRow(q.lang, v))
		}
	}
	p.c.render(q.w, "visits", status, d)
}

func place(p registry.Place) alerting.Place {
	return alerting.Place{County: p.County, Township: p.Township, Village: p.Village, Home: p.Home}
}

func (p *VisitsPage) dueRow(l string, du visits.Due) DueRow {
	r := DueRow{Home: du.Care.Place.Home, Village: du.Care.Place.Village, Kind: kindWord(l, du.Kind),
		Overdue: du.Overdue, Alert: du.RecentAlert, Late: strconv.Itoa(du.DaysLate)}
	if !du.Last.IsZero() {
		r.Last = du.Last.In(p.c.o.Location).Format("01-02")
	}
	return r
}

func (p *VisitsPage) visitRow(l string, v visits.Visit) VisitRow {
	r := VisitRow{ID: v.ID, At: v.At.In(p.c.o.Location).Format("01-02 15:04"), Home: v.Home, Village: v.Village,
		Kind: kindWord(l, v.Kind), Source: tr(l, "visits.source."+v.Source), Vitals: v.Vitals.Text(), Note: v.Note,
		Confirmed: v.Confirmed}
	if v.State != "" {
		r.State = tr(l, "visits.state."+string(v.State))
	}
	return r
}

func kindWord(l string, k visits.Kind) string { return tr(l, "visits.kind."+string(k)) }

// record records a visit or round from the form, as the signed-in caller, for a home
// of their area.
func (p *VisitsPage) record(q *request) {
	ctx := q.r.Context()
	f := q.r.PostFormValue
	kind := visits.Kind(f("kind"))
	if kind != visits.KindRound {
		kind = visits.KindVisit
	}
	home := strings.TrimSpace(f("home"))
	care, err := p.c.o.Homes.Home(ctx, home)
	switch {
	case errors.Is(err, registry.ErrNotFound) || err == nil && !q.caller.Sees(place(care.Place)):
		p.render(q, http.StatusBadRequest, tr(q.lang, "visits.nohome")+home)
		return
	case err != nil:
		p.c.fail(q.w, err)
		return
	}
	state, ok := visits.ParseState(f("state"))
	if !ok {
		p.render(q, http.StatusBadRequest, tr(q.lang, "visits.badstate"))
		return
	}
	vit, err := visits.ParseVitals(f("bp"), f("glucose"), f("hr"))
	var ie *visits.InputError
	if errors.As(err, &ie) {
		p.render(q, http.StatusBadRequest, ie.Answer)
		return
	}
	_, err = p.v.Record(ctx, visits.CheckIn{Kind: kind, Home: care.Place.Home, Source: visits.SourceConsole,
		ByRole: q.caller.Role, ByPhone: q.caller.Phone, State: state, Note: f("note"), Vitals: vit})
	if err != nil {
		p.c.fail(q.w, err)
		return
	}
	http.Redirect(q.w, q.r, "/console/visits?m=recorded", http.StatusSeeOther)
}
