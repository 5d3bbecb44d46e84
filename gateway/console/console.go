// Package console is the duty console: web pages, served by the gateway, where
// township duty staff and village doctors see the alerts of their area arrive live,
// acknowledge, hand over and close them; and the one-tap pages behind the links in
// SMS pages. Pages are server-rendered (html/template) with a little JavaScript for
// server-sent events; they work on a phone.
//
// Everything a page does goes through the alert API's operations (package api) with
// the signed-in caller, so the console applies exactly the JSON API's checks (area,
// role) and leaves the same audit trail.
package console

import (
	"context"
	"embed"
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"carebed/alerting"
	"carebed/alerting/api"
	"carebed/alerting/policy"
	"carebed/gateway/influxread"
	"carebed/gateway/registry"
)

//go:embed templates/*.html
var templateFS embed.FS

// Auth signs people in and tells who makes a request; *auth.Service is one.
type Auth interface {
	api.Authenticator
	api.Users
	Login(ctx context.Context, name, password, remote string) (string, registry.User, error)
	Logout(ctx context.Context, token string) error
	SetSessionCookie(w http.ResponseWriter, r *http.Request, token string) time.Time
	// ClientIP is the address a sign-in counts against (behind a trusted proxy, the
	// client's from X-Forwarded-For).
	ClientIP(r *http.Request) string
}

// Homes gives what the console shows of a home; *registry.Store is one.
type Homes interface {
	Home(ctx context.Context, id string) (registry.Home, error)
}

// Users lists the users of an area (whom to hand an alert over to); *registry.Store
// is one.
type Users interface {
	Users(ctx context.Context) ([]registry.User, error)
}

// Readings are a home's recent telemetry; *influxread.Client is one.
type Readings interface {
	Recent(ctx context.Context, home string, window time.Duration, limit int) ([]influxread.Row, error)
}

// Escalation acknowledges alerts (for one-tap links, which have no signed-in caller)
// and tells the new holder of a handed-over alert by SMS.
type Escalation interface {
	Ack(ctx context.Context, id int64, p alerting.Person, channel string) (alerting.Alert, error)
	HandedOver(ctx context.Context, a alerting.Alert, from, to alerting.Person) error
}

// Ladders are the escalation ladders, for the countdown to an alert's next step;
// policy.Policy is one.
type Ladders interface {
	Ladder(township string, sev alerting.Severity) policy.Ladder
	ReleaseAt(township string, sev alerting.Severity, t time.Time) time.Time
}

// Options configure the console. Readings and Links may be nil.
type Options struct {
	API        *api.API
	Auth       Auth
	Directory  alerting.Directory
	Escalation Escalation
	Homes      Homes
	Users      Users
	Readings   Readings
	Links      *Links
	Hub        *Hub
	// Paging, if set, tells whether SMS are failing: every signed-in page then says
	// so, since the duty staff must phone people themselves.
	Paging Paging
	// Ladders, if set, give the open alerts their countdown to the next step.
	Ladders Ladders
	// Where, if set, says where an alert's device is when away from home (the
	// pages' text: distance, direction, map link); "" at home or unknown.
	Where    func(ctx context.Context, a alerting.Alert) string
	Logger   *slog.Logger
	Now      func() time.Time
	Location *time.Location
}

// Paging finds the latest attempt on a channel that had an outcome (the alert
// store's alerting.Reader has it).
type Paging interface {
	LatestFinished(ctx context.Context, channel string, since time.Time) (alerting.Attempt, error)
	// OpenNoted finds the open alerts whose ladder had a step that paged nobody.
	OpenNoted(ctx context.Context, what string) ([]alerting.Alert, error)
}

// Console serves the pages.
type Console struct {
	o     Options
	log   *slog.Logger
	pages map[string]*template.Template
}

// New parses the templates and returns the console.
func New(o Options) (*Console, error) {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Location == nil {
		o.Location = time.Local
	}
	if o.Hub == nil {
		o.Hub = NewHub()
	}
	c := &Console{o: o, log: o.Logger.With("component", "console"), pages: map[string]*template.Template{}}
	for _, page := range []string{"login", "open", "alert", "resolved", "devices", "link"} {
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html",
			"templates/"+page+".html", "templates/fragments.html")
		if err != nil {
			return nil, err
		}
		c.pages[page] = t
	}
	return c, nil
}

// Register adds the console's routes to mux.
func (c *Console) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /console/login", c.loginPage)
	mux.HandleFunc("POST /console/login", c.login)
	mux.HandleFunc("POST /console/logout", c.logout)
	mux.HandleFunc("GET /console/{$}", c.signedIn(c.openPage))
	mux.HandleFunc("GET /console/fragment/open", c.signedIn(c.openFragment))
	mux.HandleFunc("GET /console/events", c.signedIn(c.events))
	mux.HandleFunc("GET /console/alerts/{id}", c.signedIn(c.alertPage))
	mux.HandleFunc("POST /console/alerts/{id}/{action}", c.signedIn(c.act))
	mux.HandleFunc("GET /console/resolved", c.signedIn(c.resolvedPage))
	mux.HandleFunc("GET /console/devices", c.signedIn(c.devicesPage))
	mux.HandleFunc("GET /a/{token}", c.linkPage)
	mux.HandleFunc("POST /a/{token}", c.linkAck)
}

// Hub is where alert changes are published for the open pages.
func (c *Console) Hub() *Hub { return c.o.Hub }

// request is one signed-in request's context for the handlers.
type request struct {
	w      http.ResponseWriter
	r      *http.Request
	caller api.Caller
	lang   string
}

// signedIn runs h for a signed-in caller, else sends the browser to the sign-in
// page (and a script's request gets 401). POSTs from another site are refused.
func (c *Console) signedIn(h func(*request)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && !sameOrigin(r) {
			http.Error(w, "cross-site request refused", http.StatusForbidden)
			return
		}
		caller, err := c.o.Auth.Authenticate(r)
		switch {
		case errors.Is(err, api.ErrUnauthenticated):
			if r.Method == http.MethodGet && !strings.HasPrefix(r.URL.Path, "/console/fragment/") &&
				r.URL.Path != "/console/events" {
				http.Redirect(w, r, "/console/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			http.Error(w, "not signed in", http.StatusUnauthorized)
			return
		case err != nil:
			c.fail(w, err)
			return
		}
		h(&request{w: w, r: r, caller: caller, lang: lang(w, r)})
	}
}

// sameOrigin reports whether a POST comes from this site (the session cookie is
// SameSite=Strict as well; this also covers browsers that ignore it).
func sameOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true // not a browser's cross-site form post
	}
	u, err := url.Parse(origin)
	return err == nil && u.Host == r.Host
}

func (c *Console) fail(w http.ResponseWriter, err error) {
	c.log.Error("console", "err", err)
	http.Error(w, "internal error", http.StatusInternalServerError)
}

// render writes page with data.
func (c *Console) render(w http.ResponseWriter, page string, status int, data any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; script-src 'self' 'unsafe-inline'; "+
		"style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	if err := c.pages[page].ExecuteTemplate(w, "layout.html", data); err != nil {
		c.log.Error("rendering a page", "page", page, "err", err)
	}
}

// renderFragment writes one named template of a page (for the live list).
func (c *Console) renderFragment(w http.ResponseWriter, page, name string, data any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if err := c.pages[page].ExecuteTemplate(w, name, data); err != nil {
		c.log.Error("rendering a fragment", "page", page, "err", err)
	}
}
