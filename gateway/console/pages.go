package console

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"carebed/alerting"
	"carebed/alerting/api"
	"carebed/alerting/policy"
	"carebed/gateway/auth"
)

var funcs = template.FuncMap{}

// Page is what every page's layout needs.
type Page struct {
	Lang  string
	Title string
	User  string // the signed-in person's display name; "" on public pages
	Area  string
	Nav   string // the menu entry to highlight
	Flash string // a message after an action
	// Trouble warns that automatic pages are not going out (SMS failing), or that
	// an alert's ladder found nobody at a step (Nobody).
	Trouble string
	Nobody  string
}

// T translates key into the page's language.
func (p Page) T(key string) string { return tr(p.Lang, key) }

// OtherLang is the language the switch offers.
func (p Page) OtherLang() string {
	if p.Lang == langEN {
		return langZH
	}
	return langEN
}

func (c *Console) page(q *request, nav string) Page {
	a := q.caller.Area
	area := strings.TrimSpace(strings.Join([]string{a.County, a.Township, a.Village}, " "))
	return Page{Lang: q.lang, Title: title(q.lang, q.caller.Role), User: q.caller.Name, Area: area, Nav: nav,
		Flash: flash(q.lang, q.r.URL.Query().Get("m")), Trouble: c.smsTrouble(q), Nobody: c.pagedNobody(q)}
}

// title is the console's name for the signed-in person's role: a village doctor
// does not read 乡镇值班台.
func title(l, role string) string {
	if t := tr(l, "title."+role); t != "title."+role {
		return t
	}
	return tr(l, "title")
}

// smsTroubleWindow is how far back a failed SMS still counts.
const smsTroubleWindow = 30 * time.Minute

// smsTrouble returns a warning when the latest SMS with an outcome, within
// smsTroubleWindow, failed: Twilio refused it (credentials, credit, an outage) after
// its retries. A later SMS that went out clears it.
func (c *Console) smsTrouble(q *request) string {
	if c.o.Paging == nil {
		return ""
	}
	a, err := c.o.Paging.LatestFinished(q.r.Context(), policy.ChannelSMS, c.o.Now().Add(-smsTroubleWindow))
	if err != nil || a.Status != "failed" {
		if err != nil && !errors.Is(err, alerting.ErrNotFound) {
			c.log.Warn("checking the SMS channel", "err", err)
		}
		return ""
	}
	return fmt.Sprintf(tr(q.lang, "smstrouble"), a.CreatedAt.In(c.o.Location).Format("15:04"), a.Error)
}

// emptyStepNote is the audit row of a ladder step that found nobody for a home
// (alerting/escalation): the nearest earlier step's people were paged again.
const emptyStepNote = "escalation_empty_step"

// pagedNobody returns a warning naming the open alerts of the caller's area whose
// ladder had a step with nobody to page (a clinic duty phone or a contact missing
// from the registry), so the duty staff phone people themselves.
func (c *Console) pagedNobody(q *request) string {
	if c.o.Paging == nil {
		return ""
	}
	alerts, err := c.o.Paging.OpenNoted(q.r.Context(), emptyStepNote)
	if err != nil {
		c.log.Warn("checking for ladder steps that paged nobody", "err", err)
		return ""
	}
	var codes []string
	for _, a := range alerts {
		if q.caller.Sees(a.Place) {
			codes = append(codes, a.Code)
		}
	}
	if len(codes) == 0 {
		return ""
	}
	if len(codes) > 3 {
		codes = append(codes[:3], "…")
	}
	return fmt.Sprintf(tr(q.lang, "nobodytrouble"), strings.Join(codes, "、"))
}

// Row is an alert as the lists show it.
type Row struct {
	ID                                int64
	Code, Kind, Severity, SevText     string
	State, StateText                  string
	Village, Home, Elder              string
	Opened, Age, Holder, Outcome, TTA string
	Waiting                           bool // nobody has taken it yet
	// OpenedMs is when it opened (Unix ms) for the page's ticking age; NextMs when
	// its ladder's next step pages NextTo (0: no further step, or taken).
	OpenedMs, NextMs int64
	Next, NextTo     string
	// Cancelled says the device cancelled after the pages went out (the alert
	// stays open); Note is the close note.
	Cancelled bool
	Note      string
	// Device is the device that raised it (which of the home's devices is offline).
	Device string
}

var sevRank = map[alerting.Severity]int{alerting.Critical: 0, alerting.High: 1, alerting.Warning: 2}

// rows turns alerts into list rows: the most severe first; within a severity the
// ones nobody has taken yet; then the longest waiting.
func (c *Console) rows(ctx context.Context, l string, alerts []alerting.Alert) []Row {
	sort.SliceStable(alerts, func(i, j int) bool {
		a, b := alerts[i], alerts[j]
		if sevRank[a.Sev] != sevRank[b.Sev] {
			return sevRank[a.Sev] < sevRank[b.Sev]
		}
		if wa, wb := waiting(a), waiting(b); wa != wb {
			return wa
		}
		return a.OpenedAt.Before(b.OpenedAt)
	})
	names := newNames(c, l)
	cancelled := c.deviceCancelled(ctx)
	out := make([]Row, 0, len(alerts))
	for _, a := range alerts {
		r := c.row(ctx, l, a, names)
		r.Cancelled = cancelled[a.ID]
		out = append(out, r)
	}
	return out
}

// deviceCancelledNote is the audit row of a device cancel after paging (alerting/rules).
const deviceCancelledNote = "device_cancelled"

// deviceCancelled is the set of open alerts whose device cancelled after paging.
func (c *Console) deviceCancelled(ctx context.Context) map[int64]bool {
	out := map[int64]bool{}
	if c.o.Paging == nil {
		return out
	}
	alerts, err := c.o.Paging.OpenNoted(ctx, deviceCancelledNote)
	if err != nil {
		c.log.Warn("checking for device cancels", "err", err)
		return out
	}
	for _, a := range alerts {
		out[a.ID] = true
	}
	return out
}

func waiting(a alerting.Alert) bool {
	return a.State != alerting.StateAcknowledged && a.State != alerting.StateResolved
}

func (c *Console) row(ctx context.Context, l string, a alerting.Alert, names *names) Row {
	r := Row{ID: a.ID, Code: a.Code, Kind: kindName(l, a.Kind), Severity: string(a.Sev),
		SevText: tr(l, "sev."+string(a.Sev)), State: string(a.State), StateText: tr(l, "state."+string(a.State)),
		Village: a.Place.Village, Home: a.Place.Home, Waiting: waiting(a),
		Opened: a.OpenedAt.In(c.o.Location).Format("01-02 15:04"), Age: age(l, c.o.Now().Sub(a.OpenedAt)),
		Holder: tr(l, "nobody"), OpenedMs: a.OpenedAt.UnixMilli(), Note: a.Note, Device: a.Device}
	if elder, err := c.o.Directory.Elder(ctx, a.Place); err == nil {
		r.Elder = elder
	}
	if a.AckedBy != "" {
		r.Holder = names.of(ctx, a.AckedBy)
	}
	if !a.AckedAt.IsZero() {
		r.TTA = age(l, a.AckedAt.Sub(a.OpenedAt))
	}
	if a.Outcome != "" {
		r.Outcome = tr(l, "out."+string(a.Outcome))
	}
	if at, to := c.nextStep(a); !at.IsZero() {
		r.NextMs, r.NextTo = at.UnixMilli(), receivers(l, to)
		r.Next = fmt.Sprintf(tr(l, "next"), age(l, at.Sub(c.o.Now())), r.NextTo)
	}
	return r
}

// maxSteps bounds the walk along a repeating ladder.
const maxSteps = 1000

// nextStep is when the ladder of a, nobody having taken it, pages its next step,
// and whom (zero when taken, closed, or past the ladder's end); a step that falls in
// quiet hours counts from their end.
func (c *Console) nextStep(a alerting.Alert) (time.Time, []alerting.Receiver) {
	if c.o.Ladders == nil || !waiting(a) {
		return time.Time{}, nil
	}
	l, now := c.o.Ladders.Ladder(a.Place.Township, a.Sev), c.o.Now()
	for i := range maxSteps {
		st, _, ok := l.StepAt(i)
		if !ok {
			break
		}
		if at := l.NextAt(a.OpenedAt, i); at.After(now) {
			if rel := c.o.Ladders.ReleaseAt(a.Place.Township, a.Sev, at); rel.After(at) {
				at = rel
			}
			return at, st.Notify
		}
	}
	return time.Time{}, nil
}

// receivers names whom a ladder step pages: 卫生院, 县中心、村医.
func receivers(l string, rs []alerting.Receiver) string {
	var out []string
	for _, r := range rs {
		name := tr(l, "to."+string(r))
		if name == "to."+string(r) {
			name = tr(l, "to.person")
		}
		if !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	sep := "、"
	if l == langEN {
		sep = ", "
	}
	return strings.Join(out, sep)
}

// age is a duration as people say it: 45秒, 3分钟, 2小时5分.
func age(l string, d time.Duration) string {
	en := l == langEN
	switch {
	case d < time.Minute:
		return unit(en, int(d.Seconds()), "秒", "s")
	case d < time.Hour:
		return unit(en, int(d.Minutes()), "分钟", "min")
	case d < 48*time.Hour:
		return unit(en, int(d.Hours()), "小时", "h") + unit(en, int(d.Minutes())%60, "分", "min")
	}
	return unit(en, int(d.Hours()/24), "天", "d")
}

func unit(en bool, n int, zh, enUnit string) string {
	if en {
		return strconv.Itoa(n) + " " + enUnit + " "
	}
	return strconv.Itoa(n) + zh
}

// names resolves person ids of the audit trail and the alerts to names, once each.
type names struct {
	c     *Console
	lang  string
	cache map[string]string
}

func newNames(c *Console, l string) *names { return &names{c: c, lang: l, cache: map[string]string{}} }

func (n *names) of(ctx context.Context, id string) string {
	if v, ok := n.cache[id]; ok {
		return v
	}
	v := id
	if login, ok := strings.CutPrefix(id, "user/"); ok {
		if u, found, err := n.c.o.Auth.CallerByName(ctx, login); err == nil && found {
			v = u.Name
		}
	} else if p, found, err := n.c.o.Directory.Person(ctx, id); err == nil && found {
		v = p.Name
		if v == "" || p.Role == alerting.ReceiverFamily { // family have no names in the ledger
			v = tr(n.lang, "role."+string(p.Role))
		}
	}
	n.cache[id] = v
	return v
}

// OpenData is the open alerts page.
type OpenData struct {
	Page
	Alerts  []Row
	Waiting int
	// NowMs is the server's clock (Unix ms), which the ticking ages count from.
	NowMs int64
}

func (c *Console) openData(q *request) (OpenData, error) {
	alerts, err := c.o.API.Alerts(q.r.Context(), q.caller, alerting.Filter{OpenOnly: true})
	if err != nil {
		return OpenData{}, err
	}
	d := OpenData{Page: c.page(q, "open"), Alerts: c.rows(q.r.Context(), q.lang, alerts), NowMs: c.o.Now().UnixMilli()}
	for _, r := range d.Alerts {
		if r.Waiting {
			d.Waiting++
		}
	}
	return d, nil
}

func (c *Console) openPage(q *request) {
	d, err := c.openData(q)
	if err != nil {
		c.fail(q.w, err)
		return
	}
	c.render(q.w, "open", http.StatusOK, d)
}

func (c *Console) openFragment(q *request) {
	d, err := c.openData(q)
	if err != nil {
		c.fail(q.w, err)
		return
	}
	c.renderFragment(q.w, "open", "alerts", d)
}

// ListData is the resolved and devices pages.
type ListData struct {
	Page
	Alerts []Row
}

func (c *Console) resolvedPage(q *request) {
	alerts, err := c.o.API.Alerts(q.r.Context(), q.caller, alerting.Filter{State: alerting.StateResolved, Limit: 50})
	if err != nil {
		c.fail(q.w, err)
		return
	}
	names := newNames(c, q.lang)
	d := ListData{Page: c.page(q, "resolved")}
	for _, a := range alerts {
		d.Alerts = append(d.Alerts, c.row(q.r.Context(), q.lang, a, names))
	}
	c.render(q.w, "resolved", http.StatusOK, d)
}

// deviceKinds are the alerts about devices rather than people.
var deviceKinds = map[alerting.Kind]bool{alerting.KindDeviceOffline: true, alerting.KindLowBattery: true,
	alerting.KindVillageOutage: true, alerting.KindTamper: true}

func (c *Console) devicesPage(q *request) {
	alerts, err := c.o.API.Alerts(q.r.Context(), q.caller, alerting.Filter{OpenOnly: true, Limit: 500})
	if err != nil {
		c.fail(q.w, err)
		return
	}
	var mine []alerting.Alert
	for _, a := range alerts {
		if deviceKinds[a.Kind] {
			mine = append(mine, a)
		}
	}
	c.render(q.w, "devices", http.StatusOK, ListData{Page: c.page(q, "devices"), Alerts: c.rows(q.r.Context(), q.lang, mine)})
}

// events streams "change" events for alerts in the caller's area (server-sent
// events); the page then fetches what changed.
func (c *Console) events(q *request) {
	fl, ok := q.w.(http.Flusher)
	if !ok {
		http.Error(q.w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	h := q.w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	changes, cancel := c.o.Hub.Subscribe()
	defer cancel()
	fmt.Fprint(q.w, "retry: 2000\n: connected\n\n")
	fl.Flush()
	ping := time.NewTicker(20 * time.Second)
	defer ping.Stop()
	for {
		select {
		case <-q.r.Context().Done():
			return
		case ch := <-changes:
			if q.caller.Sees(ch.Place) {
				fmt.Fprintf(q.w, "event: change\ndata: %d\n\n", ch.AlertID)
				fl.Flush()
			}
		case <-ping.C:
			fmt.Fprint(q.w, ": ping\n\n")
			fl.Flush()
		}
	}
}

// act carries out ack, resolve or handover from the alert page's forms.
func (c *Console) act(q *request) {
	id, _ := strconv.ParseInt(q.r.PathValue("id"), 10, 64)
	if err := q.r.ParseForm(); err != nil {
		http.Error(q.w, "bad form", http.StatusBadRequest)
		return
	}
	ctx := q.r.Context()
	var err error
	action := q.r.PathValue("action")
	switch action {
	case "ack":
		_, err = c.o.API.AckAs(ctx, q.caller, id, "console")
	case "resolve":
		_, err = c.o.API.ResolveAs(ctx, q.caller, id, alerting.Outcome(q.r.PostForm.Get("outcome")),
			strings.TrimSpace(q.r.PostForm.Get("note")), "console")
	case "handover":
		to := q.r.PostForm.Get("to")
		if _, err = c.o.API.HandOverAs(ctx, q.caller, id, to, "console"); err == nil && !c.hasPhone(ctx, to) {
			action = "handover-nophone"
		}
	default:
		http.NotFound(q.w, q.r)
		return
	}
	if errors.Is(err, api.ErrNoSuchAlert) {
		http.NotFound(q.w, q.r)
		return
	}
	m := map[string]string{"ack": "acked", "resolve": "resolvedok", "handover": "handed", "handover-nophone": "handednophone"}[action]
	var bad api.BadRequest
	switch {
	case errors.Is(err, alerting.ErrAcknowledged):
		m = "taken"
	case errors.Is(err, alerting.ErrResolved), errors.Is(err, alerting.ErrNotAcknowledged):
		m = "closed"
	case errors.Is(err, api.ErrForbidden):
		m = "role"
	case errors.As(err, &bad):
		m = "bad"
	case err != nil:
		c.fail(q.w, err)
		return
	}
	http.Redirect(q.w, q.r, fmt.Sprintf("/console/alerts/%d?m=%s", id, m), http.StatusSeeOther)
}

// hasPhone reports whether the user an alert was handed to has a phone on record:
// the hand-over (alerting/api) sent them an SMS with their one-tap link, else the
// page says nothing could be sent.
func (c *Console) hasPhone(ctx context.Context, to string) bool {
	target, ok, err := c.o.Auth.CallerByName(ctx, to)
	return err == nil && ok && target.Phone != ""
}

// flash is the message shown after an action (the m parameter of the redirect).
func flash(l, m string) string {
	switch m {
	case "taken", "closed", "role", "bad":
		return tr(l, "refused."+m)
	case "acked", "resolvedok", "handed", "handednophone":
		return tr(l, "done."+m)
	}
	return ""
}

// sign-in pages

// LoginData is the sign-in page.
type LoginData struct {
	Page
	Next, Name, Error string
}

func (c *Console) loginPage(w http.ResponseWriter, r *http.Request) {
	l := lang(w, r)
	c.render(w, "login", http.StatusOK, LoginData{Page: Page{Lang: l, Title: tr(l, "title")}, Next: safeNext(r.URL.Query().Get("next"))})
}

func (c *Console) login(w http.ResponseWriter, r *http.Request) {
	if !sameOrigin(r) {
		http.Error(w, "cross-site request refused", http.StatusForbidden)
		return
	}
	l := lang(w, r)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	name, next := strings.TrimSpace(r.PostForm.Get("name")), safeNext(r.PostForm.Get("next"))
	token, _, err := c.o.Auth.Login(r.Context(), name, r.PostForm.Get("password"), c.o.Auth.ClientIP(r))
	if err != nil {
		d := LoginData{Page: Page{Lang: l, Title: tr(l, "title")}, Next: next, Name: name, Error: tr(l, "badlogin")}
		status := http.StatusUnauthorized
		if errors.Is(err, auth.ErrTooManyLogins) {
			d.Error, status = tr(l, "toomany"), http.StatusTooManyRequests
		} else if !errors.Is(err, auth.ErrBadLogin) {
			c.fail(w, err)
			return
		}
		c.render(w, "login", status, d)
		return
	}
	c.o.Auth.SetSessionCookie(w, r, token)
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// safeNext keeps a redirect after sign-in on this site's console.
func safeNext(next string) string {
	if strings.HasPrefix(next, "/console/") && !strings.HasPrefix(next, "//") {
		return next
	}
	return "/console/"
}

func (c *Console) logout(w http.ResponseWriter, r *http.Request) {
	if !sameOrigin(r) {
		http.Error(w, "cross-site request refused", http.StatusForbidden)
		return
	}
	if token := auth.RequestToken(r); token != "" {
		if err := c.o.Auth.Logout(r.Context(), token); err != nil {
			c.log.Error("sign-out", "err", err)
		}
	}
	auth.ClearSessionCookie(w)
	http.Redirect(w, r, "/console/login", http.StatusSeeOther)
}
