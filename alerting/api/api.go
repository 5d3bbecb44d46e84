// Package api serves alerts over HTTP: the JSON API (list, acknowledge, resolve) and
// the Twilio webhooks (SMS replies that acknowledge, delivery receipts).
//
// Every JSON API request is authenticated (Options.Auth) and confined to the
// caller's area: an alert outside it answers 404, exactly like one that does not
// exist, so a township's duty staff cannot even learn that another township's alerts
// exist. The Twilio webhooks are authenticated by Twilio's request signature instead.
package api

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"carebed/alerting"
)

// Store is the alert store as the API reads it.
type Store interface {
	Alert(ctx context.Context, id int64) (alerting.Alert, error)
	ByCode(ctx context.Context, code string) (alerting.Alert, error)
	List(ctx context.Context, f alerting.Filter) ([]alerting.Alert, error)
	Attempts(ctx context.Context, alertID int64) ([]alerting.Attempt, error)
	Audit(ctx context.Context, alertID int64) ([]alerting.AuditRow, error)
	Resolve(ctx context.Context, id int64, by, channel string, outcome alerting.Outcome, note string, now time.Time) (alerting.Alert, error)
	LatestPagedTo(ctx context.Context, personIDs ...string) (alerting.Alert, string, error)
	PagedAbout(ctx context.Context, alertID int64, personIDs ...string) (string, error)
	RefuseAck(ctx context.Context, id int64, by, channel, reason string, now time.Time) error
	HandOver(ctx context.Context, id int64, by, to, channel string, now time.Time) (alerting.Alert, error)
	// SeenMessage records an inbound SMS's MessageSid: false when it was taken before.
	SeenMessage(ctx context.Context, sid string, at time.Time) (first bool, err error)
	ForgetMessage(ctx context.Context, sid string) error
}

// Escalation acknowledges alerts and takes delivery receipts.
type Escalation interface {
	Ack(ctx context.Context, id int64, p alerting.Person, channel string) (alerting.Alert, error)
	Delivery(ctx context.Context, providerID, status, detail string) error
	// HandedOver tells to, the new holder of a, by SMS with their one-tap link.
	HandedOver(ctx context.Context, a alerting.Alert, from, to alerting.Person) error
}

// Options configure the API.
type Options struct {
	Store      Store
	Escalation Escalation
	Directory  alerting.Directory
	// Auth establishes the caller of every JSON API request (required).
	Auth Authenticator
	// Users are whom alerts may be handed over to.
	Users Users
	// TwilioToken and PublicURL check webhook signatures; empty token: the Twilio
	// webhooks answer 404.
	TwilioToken string
	PublicURL   string
	// Inbound, if set, is offered every signed, first-seen SMS before the alert
	// replies (the gateway's visit check-ins).
	Inbound Inbound
	// Registerer takes the API's metrics (refused actions); nil: not exported.
	Registerer prometheus.Registerer
	Logger     *slog.Logger
	Now        func() time.Time
}

// API is the HTTP handler set.
type API struct {
	o        Options
	log      *slog.Logger
	refusals *prometheus.CounterVec
}

// New returns the API.
func New(o Options) *API {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &API{o: o, log: o.Logger.With("component", "alert-api"), refusals: newRefusals(o.Registerer)}
}

// Register adds the routes to mux.
func (a *API) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/v1/alerts", a.list)
	mux.HandleFunc("GET /api/v1/alerts/{id}", a.get)
	mux.HandleFunc("POST /api/v1/alerts/{id}/ack", a.ack)
	mux.HandleFunc("POST /api/v1/alerts/{id}/resolve", a.resolve)
	mux.HandleFunc("POST /api/v1/alerts/{id}/handover", a.handover)
	mux.HandleFunc("POST /webhooks/twilio/sms", a.inboundSMS)
	mux.HandleFunc("POST /webhooks/twilio/status", a.deliveryStatus)
}

func (a *API) list(w http.ResponseWriter, r *http.Request) {
	c, ok := a.caller(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	f := alerting.Filter{Township: q.Get("township"), State: alerting.State(q.Get("state")),
		Severity: alerting.Severity(q.Get("severity")), OpenOnly: q.Get("open") == "true"}
	if n, err := strconv.Atoi(q.Get("limit")); err == nil {
		f.Limit = n
	}
	alerts, err := a.Alerts(r.Context(), c, f)
	if err != nil {
		a.fail(w, err)
		return
	}
	out := make([]alertJSON, 0, len(alerts))
	for _, al := range alerts {
		out = append(out, toJSON(al))
	}
	writeJSON(w, http.StatusOK, map[string]any{"alerts": out})
}

func (a *API) get(w http.ResponseWriter, r *http.Request) {
	c, ok := a.caller(w, r)
	if !ok {
		return
	}
	d, err := a.Detail(r.Context(), c, pathID(r))
	if err != nil {
		a.refuse(w, d.Alert, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"alert": toJSON(d.Alert), "notifications": d.Notifications, "audit": d.Audit})
}

// actionRequest is the body of a resolve (outcome, note) or a hand-over (to); an ack
// needs none.
type actionRequest struct {
	Outcome alerting.Outcome `json:"outcome"`
	Note    string           `json:"note"`
	To      string           `json:"to"`
}

// action authenticates and reads the body of an ack, resolve or hand-over; false:
// answered already.
func (a *API) action(w http.ResponseWriter, r *http.Request) (Caller, actionRequest, bool) {
	c, ok := a.caller(w, r)
	if !ok {
		return c, actionRequest{}, false
	}
	req, ok := decode(w, r)
	return c, req, ok
}

func (a *API) ack(w http.ResponseWriter, r *http.Request) {
	if c, _, ok := a.action(w, r); ok {
		al, err := a.AckAs(r.Context(), c, pathID(r), "api")
		a.answer(w, al, err)
	}
}

func (a *API) resolve(w http.ResponseWriter, r *http.Request) {
	if c, req, ok := a.action(w, r); ok {
		al, err := a.ResolveAs(r.Context(), c, pathID(r), req.Outcome, req.Note, "api")
		a.answer(w, al, err)
	}
}

func (a *API) handover(w http.ResponseWriter, r *http.Request) {
	if c, req, ok := a.action(w, r); ok {
		al, err := a.HandOverAs(r.Context(), c, pathID(r), req.To, "api")
		a.answer(w, al, err)
	}
}

// pathID is the {id} of the path; 0 (no alert has it) when it is not a number.
func pathID(r *http.Request) int64 {
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	return id
}

// answer writes the alert after an action, or why the action was refused.
func (a *API) answer(w http.ResponseWriter, al alerting.Alert, err error) {
	if err != nil {
		a.refuse(w, al, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"alert": toJSON(al)})
}

// refuse writes the status that err means.
func (a *API) refuse(w http.ResponseWriter, al alerting.Alert, err error) {
	var bad BadRequest
	switch {
	case errors.Is(err, ErrNoSuchAlert):
		writeError(w, http.StatusNotFound, "no such alert")
	case errors.As(err, &bad):
		writeError(w, http.StatusBadRequest, bad.Error())
	case errors.Is(err, ErrForbidden):
		writeError(w, http.StatusForbidden, err.Error())
	case errors.Is(err, alerting.ErrResolved), errors.Is(err, alerting.ErrAcknowledged), errors.Is(err, alerting.ErrNotAcknowledged):
		writeJSON(w, http.StatusConflict, map[string]any{"error": err.Error(), "alert": toJSON(al)})
	default:
		a.fail(w, err)
	}
}

func decode(w http.ResponseWriter, r *http.Request) (actionRequest, bool) {
	var req actionRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 16<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil && !errors.Is(err, io.EOF) { // an empty body is fine for an ack
		writeError(w, http.StatusBadRequest, "body: "+err.Error())
		return req, false
	}
	return req, true
}

func (a *API) fail(w http.ResponseWriter, err error) {
	a.log.Error("alert API", "err", err)
	writeError(w, http.StatusInternalServerError, "internal error")
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v) //nolint:errcheck // the client went away
}

// alertJSON is an alert as the API shows it.
type alertJSON struct {
	ID         int64     `json:"id"`
	Code       string    `json:"code"`
	Kind       string    `json:"kind"`
	Severity   string    `json:"severity"`
	State      string    `json:"state"`
	County     string    `json:"county"`
	Township   string    `json:"township"`
	Village    string    `json:"village"`
	Home       string    `json:"home"`
	Device     string    `json:"device"`
	EventAt    time.Time `json:"event_at"`
	LateSecs   float64   `json:"late_seconds,omitempty"`
	OpenedAt   time.Time `json:"opened_at"`
	NotifiedAt time.Time `json:"notified_at,omitzero"`
	AckedAt    time.Time `json:"acknowledged_at,omitzero"`
	AckedBy    string    `json:"acknowledged_by,omitempty"`
	AckChannel string    `json:"ack_channel,omitempty"`
	ResolvedAt time.Time `json:"resolved_at,omitzero"`
	Outcome    string    `json:"outcome,omitempty"`
	Note       string    `json:"note,omitempty"`
	Repeats    int       `json:"repeats"`
}

func toJSON(a alerting.Alert) alertJSON {
	return alertJSON{ID: a.ID, Code: a.Code, Kind: string(a.Kind), Severity: string(a.Sev), State: string(a.State),
		County: a.Place.County, Township: a.Place.Township, Village: a.Place.Village, Home: a.Place.Home,
		Device: a.Device, EventAt: a.EventAt, LateSecs: a.LateBy.Seconds(), OpenedAt: a.OpenedAt,
		NotifiedAt: a.NotifiedAt, AckedAt: a.AckedAt, AckedBy: a.AckedBy, AckChannel: a.AckChannel,
		ResolvedAt: a.ResolvedAt, Outcome: string(a.Outcome), Note: a.Note, Repeats: a.Repeats}
}
