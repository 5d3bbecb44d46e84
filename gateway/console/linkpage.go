package console

import (
	"context"
	"errors"
	"net/http"

	"carebed/alerting"
	"carebed/alerting/api"
)

// LinkData is the page behind an SMS link.
type LinkData struct {
	Page
	A       Row
	Token   string
	Message string
	CanAck  bool
}

// linkPage shows the alert and the button; it changes nothing (link previewers and
// SMS apps fetch links with GET).
func (c *Console) linkPage(w http.ResponseWriter, r *http.Request) {
	l := lang(w, r)
	d := LinkData{Page: Page{Lang: l, Title: tr(l, "link.title")}, Token: r.PathValue("token")}
	link, err := c.linksPeek(r.Context(), d.Token)
	if err != nil {
		d.Message = linkMessage(l, err)
		c.render(w, "link", linkStatus(err), d)
		return
	}
	a, err := c.alertOf(r.Context(), link.AlertID)
	if err != nil {
		c.fail(w, err)
		return
	}
	d.A = c.row(r.Context(), l, a, newNames(c, l))
	switch {
	case !link.Used.IsZero():
		d.Message = tr(l, "link.used")
	case !c.o.Now().Before(link.Expires):
		d.Message = tr(l, "link.expired")
	default:
		d.Message, d.CanAck = c.stateMessage(l, a, d.A), waiting(a)
	}
	c.render(w, "link", http.StatusOK, d)
}

// linkAck uses the link once and acknowledges the alert as the person it was sent
// to, through channel "link".
func (c *Console) linkAck(w http.ResponseWriter, r *http.Request) {
	l := lang(w, r)
	ctx := r.Context()
	d := LinkData{Page: Page{Lang: l, Title: tr(l, "link.title")}, Token: r.PathValue("token")}
	if c.o.Links == nil {
		http.NotFound(w, r)
		return
	}
	link, err := c.o.Links.Use(ctx, d.Token)
	if err != nil {
		d.Message = linkMessage(l, err)
		c.render(w, "link", linkStatus(err), d)
		return
	}
	p, ok, err := c.o.Directory.Person(ctx, link.PersonID)
	if err != nil {
		c.fail(w, err)
		return
	}
	if !ok {
		p = alerting.Person{ID: link.PersonID}
	}
	if err := alerting.Permit(p.Role, alerting.ActionAck); err != nil { // the rule of every channel
		a, _ := c.alertOf(ctx, link.AlertID)
		c.o.API.Refuse(ctx, a, p.ID, "link", alerting.ActionAck, err)
		d.Message = tr(l, "link.refused")
		c.render(w, "link", http.StatusForbidden, d)
		return
	}
	a, err := c.o.Escalation.Ack(ctx, link.AlertID, p, "link")
	d.A = c.row(ctx, l, a, newNames(c, l))
	switch {
	case errors.Is(err, alerting.ErrAcknowledged), errors.Is(err, alerting.ErrResolved):
		d.Message = c.stateMessage(l, a, d.A)
	case err != nil:
		c.fail(w, err)
		return
	default:
		d.Message = tr(l, "link.done")
	}
	c.render(w, "link", http.StatusOK, d)
}

func (c *Console) linksPeek(ctx context.Context, token string) (alerting.Link, error) {
	if c.o.Links == nil {
		return alerting.Link{}, ErrLinkUnknown
	}
	return c.o.Links.Peek(ctx, token)
}

func (c *Console) alertOf(ctx context.Context, id int64) (alerting.Alert, error) {
	d, err := c.o.API.Detail(ctx, everywhere, id)
	return d.Alert, err
}

// stateMessage tells a link's user that someone else has the alert, or that it is
// closed; "" while it waits.
func (c *Console) stateMessage(l string, a alerting.Alert, r Row) string {
	switch a.State {
	case alerting.StateAcknowledged:
		return tr(l, "link.taken") + r.Holder
	case alerting.StateResolved:
		return tr(l, "link.closed")
	}
	return ""
}

func linkMessage(l string, err error) string {
	switch {
	case errors.Is(err, alerting.ErrLinkUsed):
		return tr(l, "link.used")
	case errors.Is(err, alerting.ErrLinkExpired):
		return tr(l, "link.expired")
	}
	return tr(l, "link.bad")
}

func linkStatus(err error) int {
	switch {
	case errors.Is(err, alerting.ErrLinkUsed), errors.Is(err, alerting.ErrLinkExpired):
		return http.StatusGone
	}
	return http.StatusNotFound
}

// everywhere reads the alert a valid link names: the link itself is the permission,
// for that one alert.
var everywhere = api.Caller{ID: "link"}
