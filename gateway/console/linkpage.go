package console

import (
	"carebed/gateway/geo"
	"context"
	"errors"
	"net/http"
	"strings"

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
	// Yours: the link's person holds the alert (after the tap, reopened, or handed
	// to them): the page then shows where to go and whom to call.
	Yours   bool
	Address string
	MapURL  string
	// Away and AwayURL say where the alert's device is when away from home (a
	// herder's pendant on a summer pasture): "距巴伦台村 23 公里 西北" and its map link.
	Away, AwayURL string
	Contacts      []Contact
	Paged         []string
	// DutyPhone is the number to call when the link cannot help (used by someone
	// else, expired, altered): the township clinic's, else the county centre's.
	DutyPhone, DutyLabel string
}

// Contact is a number to call from the link page.
type Contact struct{ Role, Name, Phone string }

// linkPage shows the alert and the button; it changes nothing (link previewers and
// SMS apps fetch links with GET).
func (c *Console) linkPage(w http.ResponseWriter, r *http.Request) {
	l := lang(w, r)
	d := LinkData{Page: Page{Lang: l, Title: tr(l, "link.title")}, Token: r.PathValue("token")}
	link, err := c.linksPeek(r.Context(), d.Token)
	if err != nil {
		d.Message = linkMessage(l, err)
		c.dutyPhone(r.Context(), l, &d, alerting.Place{}, false)
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
	case a.Open() && a.AckedBy == link.PersonID: // taken by this person: reopened, or handed to them
		c.yours(r.Context(), l, &d, a, link.PersonID)
	case !link.Used.IsZero():
		d.Message = tr(l, "link.used") + c.stateMessage(l, a, d.A)
		c.dutyPhone(r.Context(), l, &d, a.Place, true)
	case !c.o.Now().Before(link.Expires):
		d.Message = tr(l, "link.expired")
		c.dutyPhone(r.Context(), l, &d, a.Place, true)
	default:
		d.Message, d.CanAck = c.stateMessage(l, a, d.A), waiting(a)
		if !d.CanAck {
			c.dutyPhone(r.Context(), l, &d, a.Place, true)
		}
	}
	c.render(w, "link", http.StatusOK, d)
}

// yours fills the page of the person who holds the alert: the address and map, the
// numbers to call (the home's contacts, the clinic) and who else was paged.
func (c *Console) yours(ctx context.Context, l string, d *LinkData, a alerting.Alert, me string) {
	d.Yours, d.Message = true, tr(l, "link.yours")
	if h, err := c.o.Homes.Home(ctx, a.Place.Home); err == nil {
		d.Address = h.Address
		if h.Lat != 0 || h.Lon != 0 { // AMap, in GCJ-02: the map people in China use
			d.MapURL = geo.MapLink(geo.Point{Lat: h.Lat, Lon: h.Lon})
		}
		for _, p := range h.People {
			d.Contacts = append(d.Contacts, Contact{Role: tr(l, "role."+p.Role), Name: p.Name, Phone: p.Phone})
		}
	}
	if c.o.Where != nil && a.Kind.Located() {
		d.Away, d.AwayURL, _ = strings.Cut(c.o.Where(ctx, a), " https://")
		if d.AwayURL != "" {
			d.AwayURL = "https://" + d.AwayURL
		}
	}
	c.dutyPhone(ctx, l, d, a.Place, false)
	if d.DutyPhone != "" {
		d.Contacts = append(d.Contacts, Contact{Role: tr(l, "role.clinic"), Phone: d.DutyPhone})
		d.DutyPhone = ""
	}
	det, err := c.o.API.Detail(ctx, everywhere, a.ID)
	if err != nil {
		return
	}
	names, seen := newNames(c, l), map[string]bool{me: true}
	for _, n := range det.Notifications {
		if n.Purpose != "page" || seen[n.PersonID] {
			continue
		}
		seen[n.PersonID] = true
		d.Paged = append(d.Paged, names.of(ctx, n.PersonID))
	}
}

// dutyPhone sets the number to call: the township clinic's duty phone of place,
// else (or with no place known) the county centre's.
func (c *Console) dutyPhone(ctx context.Context, l string, d *LinkData, place alerting.Place, known bool) {
	if known {
		if ps, err := c.o.Directory.People(ctx, place, alerting.ReceiverTownshipClinic); err == nil && len(ps) > 0 && ps[0].Phone != "" {
			d.DutyPhone, d.DutyLabel = ps[0].Phone, tr(l, "link.dutyphone")
			return
		}
	}
	if ps, err := c.o.Directory.People(ctx, place, alerting.ReceiverCountyCentre); err == nil && len(ps) > 0 && ps[0].Phone != "" {
		d.DutyPhone, d.DutyLabel = ps[0].Phone, tr(l, "link.countyphone")
	}
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
		c.dutyPhone(ctx, l, &d, alerting.Place{}, false)
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
		c.yours(ctx, l, &d, a, p.ID)
		d.Message = tr(l, "link.done") + " " + d.Message
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
