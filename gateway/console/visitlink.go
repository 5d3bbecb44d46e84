package console

import (
	"errors"
	"net/http"

	"carebed/gateway/visits"
)

// VisitLinkData is the page behind the link in a visitor's or doctor's morning list:
// their homes due, each with a button to check in.
type VisitLinkData struct {
	Page
	Token   string
	Round   bool
	Homes   []DueRow
	Message string
	Error   string
}

// linkPage shows the homes due; it changes nothing (SMS apps fetch links to preview
// them).
func (p *VisitsPage) linkPage(w http.ResponseWriter, r *http.Request) {
	p.showLink(w, r, http.StatusOK, "", "")
}

// showLink renders the link's page with a message or an error line.
func (p *VisitsPage) showLink(w http.ResponseWriter, r *http.Request, status int, msg, errLine string) {
	l := lang(w, r)
	d := VisitLinkData{Page: Page{Lang: l, Title: tr(l, "visits.link.title")}, Token: r.PathValue("token"),
		Message: msg, Error: errLine}
	v, err := p.v.OpenLink(r.Context(), d.Token)
	switch {
	case errors.Is(err, visits.ErrLinkExpired):
		d.Error = tr(l, "visits.link.expired")
		p.c.render(w, "visitlink", http.StatusGone, d)
		return
	case errors.Is(err, visits.ErrLinkUnknown):
		d.Error = tr(l, "visits.link.bad")
		p.c.render(w, "visitlink", http.StatusNotFound, d)
		return
	case err != nil:
		p.c.fail(w, err)
		return
	}
	d.Round = v.Kind == visits.KindRound
	for _, du := range v.Homes {
		d.Homes = append(d.Homes, p.dueRow(l, du))
	}
	p.c.render(w, "visitlink", status, d)
}

// linkCheckIn records a check-in at one of the link's homes.
func (p *VisitsPage) linkCheckIn(w http.ResponseWriter, r *http.Request) {
	l := lang(w, r)
	f := r.PostFormValue
	state, ok := visits.ParseState(f("state"))
	if !ok {
		p.showLink(w, r, http.StatusBadRequest, "", tr(l, "visits.badstate"))
		return
	}
	vit, err := visits.ParseVitals(f("bp"), f("glucose"), f("hr"))
	if err == nil {
		var v visits.Visit
		v, err = p.v.LinkCheckIn(r.Context(), r.PathValue("token"), f("home"), state, f("note"), vit)
		if err == nil {
			p.showLink(w, r, http.StatusOK, tr(l, "visits.recorded")+"："+v.Home+" "+kindWord(l, v.Kind), "")
			return
		}
	}
	var ie *visits.InputError
	switch {
	case errors.As(err, &ie):
		p.showLink(w, r, http.StatusBadRequest, "", ie.Answer)
	case errors.Is(err, visits.ErrLinkExpired), errors.Is(err, visits.ErrLinkUnknown):
		p.showLink(w, r, http.StatusGone, "", "")
	default:
		p.c.fail(w, err)
	}
}
