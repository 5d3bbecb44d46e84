package alerting

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"
)

// This file is the alert store's vocabulary: what the rules, the escalation runner,
// the API and the console ask of a store, and the values they exchange with it. An
// implementation (alerting/sqlite) lives below; only the wiring that constructs one
// imports it. alerting/storetest is the conformance suite every implementation passes.

// Errors a store returns; implementations wrap nothing else around them, so callers
// test with errors.Is.
var (
	ErrNotFound        = errors.New("alert not found")
	ErrResolved        = errors.New("the alert is already resolved")
	ErrAcknowledged    = errors.New("the alert is already acknowledged")
	ErrNotAcknowledged = errors.New("only an acknowledged alert can be handed over")
	ErrClaimed         = errors.New("the escalation step was already sent")
	ErrLinkUsed        = errors.New("link already used")
	ErrLinkExpired     = errors.New("link expired")
)

// Raise describes an alert the rules want open.
type Raise struct {
	Kind    Kind
	Sev     Severity
	Place   Place
	Device  string
	EventAt time.Time
	LateBy  time.Duration
	Now     time.Time
	// HoldUntil keeps the alert pending (nobody paged) until then: a cancel before it
	// closes the alert quietly. Zero: page at once.
	HoldUntil time.Time
	Detail    string
	// Reports is how many reports the raise stands for when it repeats an open alert
	// (0 means 1): a village outage's repeat folds the devices that joined it within
	// a second (the alert's Repeats grows by that many, in one commit).
	Reports int
}

// ReportCount is how many reports r stands for: Reports, at least 1.
func (r Raise) ReportCount() int { return max(1, r.Reports) }

// Due is an alert whose next escalation step is due.
type Due struct {
	Alert Alert
	Step  int // index of the step to send (>= ladder length: a repeat of the last)
	At    time.Time
}

// Attempt is one notification to one person on one channel.
type Attempt struct {
	ID         int64
	AlertID    int64
	Step       int
	PersonID   string
	Channel    string
	Purpose    string
	CreatedAt  time.Time
	Status     string // queued, sent, delivered, undelivered, failed, skipped
	ProviderID string
	Error      string
	Tries      int
}

// outageJoins ends the count of a village outage's folded repeat in its audit detail.
const outageJoins = " devices gone offline within a second, this one the last; "

// OutageJoinsDetail is the audit detail of a village outage's repeat that stands for
// n devices gone offline (Raise.Reports), the last of them described by detail.
func OutageJoinsDetail(n int, detail string) string {
	return strconv.Itoa(n) + outageJoins + detail
}

// OutageJoins reads the number of devices back from an OutageJoinsDetail (false for
// any other detail), for the readers that say it in their own words.
func OutageJoins(detail string) (int, bool) {
	count, _, ok := strings.Cut(detail, outageJoins)
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(count)
	return n, err == nil
}

// AuditRow is one entry of an alert's audit trail.
type AuditRow struct {
	At      time.Time
	What    string
	Actor   string
	Channel string
	Detail  string
}

// Link is a one-tap acknowledgement link sent to one person about one alert.
type Link struct {
	ID       string
	AlertID  int64
	PersonID string
	Expires  time.Time
	// Used is zero until the link has acknowledged (or tried to).
	Used time.Time
}

// Filter selects alerts for List; empty fields match everything.
type Filter struct {
	County   string
	Township string
	Village  string
	State    State
	Severity Severity
	OpenOnly bool
	Limit    int // at most this many, newest first; 0: 200
}

// OpenCount is how many alerts are open in a township at a severity.
type OpenCount struct {
	Township string
	Severity Severity
	N        int
}

// Reader reads alerts.
type Reader interface {
	// Alert returns one alert by id, or ErrNotFound.
	Alert(ctx context.Context, id int64) (Alert, error)
	// ByCode returns the alert with the given short code (case-insensitive).
	ByCode(ctx context.Context, code string) (Alert, error)
	// OpenAlert returns the open alert of a home and kind, or ErrNotFound.
	OpenAlert(ctx context.Context, home string, kind Kind) (Alert, error)
	// List returns alerts matching f, newest first.
	List(ctx context.Context, f Filter) ([]Alert, error)
	// OpenCounts counts the alerts not yet resolved by township and severity.
	OpenCounts(ctx context.Context) ([]OpenCount, error)
	// Attempts returns the notification attempts of one alert in order.
	Attempts(ctx context.Context, alertID int64) ([]Attempt, error)
	// Audit returns an alert's audit trail in order.
	Audit(ctx context.Context, alertID int64) ([]AuditRow, error)
	// LatestFinished returns the latest attempt on channel with an outcome (not
	// queued, nor skipped by a limit) if it was made since since; else ErrNotFound.
	LatestFinished(ctx context.Context, channel string, since time.Time) (Attempt, error)
	// LatestPagedTo returns the newest alert, neither acknowledged nor resolved, that
	// one of personIDs was paged about, and which of them; ErrNotFound if none.
	LatestPagedTo(ctx context.Context, personIDs ...string) (Alert, string, error)
	// OpenNoted returns the alerts not yet resolved that have an audit row what
	// (e.g. escalation_empty_step), newest first.
	OpenNoted(ctx context.Context, what string) ([]Alert, error)
	// PagedAbout reports which of personIDs was paged about the alert ("" if none).
	PagedAbout(ctx context.Context, alertID int64, personIDs ...string) (string, error)
	// OpenedBetween returns every alert opened in [from, to) in f's county, township
	// and village (the other fields of f are ignored, and there is no limit), oldest
	// first: what a monthly report counts.
	OpenedBetween(ctx context.Context, f Filter, from, to time.Time) ([]Alert, error)
}

// Writer changes alerts. Every committed change is published on the store's Feed.
type Writer interface {
	// Raise opens the alert, or counts a repeat of the open alert of the same home
	// and kind; it reports whether a new alert was opened.
	Raise(ctx context.Context, r Raise) (a Alert, created bool, err error)
	// CancelPending closes the pending (held) alert of a home and kind before anyone
	// was paged; false when there is none.
	CancelPending(ctx context.Context, home string, kind Kind, now time.Time, device, detail string) (bool, error)
	// CancelPendingInVillage folds the held alerts of kind in p's village into a
	// village-wide one (outcome grouped) and returns how many it closed.
	CancelPendingInVillage(ctx context.Context, p Place, kind Kind, now time.Time, detail string) (int, error)
	// Ack records that by (a person id) takes the alert through channel. The first
	// wins; later ones get ErrAcknowledged, a resolved alert ErrResolved.
	Ack(ctx context.Context, id int64, by, channel string, now time.Time) (Alert, error)
	// Note adds a row to an alert's audit trail outside any other change (what
	// the escalation did about a step that paged nobody, say).
	Note(ctx context.Context, alertID int64, now time.Time, what, actor, channel, detail string) error
	// DeviceCancelled records that the alert's device cancelled after the pages went
	// out (audit row device_cancelled, ChangeDeviceCancelled on the feed); the alert
	// stays open: someone should still look in.
	DeviceCancelled(ctx context.Context, id int64, now time.Time, device, detail string) error
	// RefuseAck records in the audit trail an action that was refused.
	RefuseAck(ctx context.Context, id int64, by, channel, reason string, now time.Time) error
	// HandOver passes an acknowledged alert from by to to (person ids);
	// ErrNotAcknowledged for an alert nobody holds.
	HandOver(ctx context.Context, id int64, by, to, channel string, now time.Time) (Alert, error)
	// Resolve closes the alert with an outcome and a note; ErrResolved when it was.
	Resolve(ctx context.Context, id int64, by, channel string, outcome Outcome, note string, now time.Time) (Alert, error)
}

// Schedule is the escalation ladder's bookkeeping.
type Schedule interface {
	// DueSteps returns alerts whose next step is due at now, oldest first.
	DueSteps(ctx context.Context, now time.Time) ([]Due, error)
	// NextDue returns when the earliest step is due (zero when none is).
	NextDue(ctx context.Context) (time.Time, error)
	// NextStep returns the index of the alert's next step and when it is due.
	NextStep(ctx context.Context, id int64) (int, time.Time, error)
	// ClaimStep records, in one transaction, that steps from..through are being
	// sent (their attempts queued, and counted in flight: Tries 1, so after a crash
	// the provider is asked before they go again) and schedules the next at nextAt
	// (zero: none).
	// ErrClaimed when from is no longer the alert's next step: no step is claimed
	// twice. The attempts come back with their ids.
	ClaimStep(ctx context.Context, id int64, from, through int, nextAt, now time.Time, attempts []Attempt) ([]Attempt, error)
	// Reschedule moves the due step of an alert to at; nothing when it moved on.
	Reschedule(ctx context.Context, id int64, step int, at time.Time) error
	// AddAttempts records notifications outside the ladder (the 'taken by'
	// notices); an attempt already recorded is not stored again and comes back with
	// its id.
	AddAttempts(ctx context.Context, id int64, now time.Time, attempts []Attempt) ([]Attempt, error)
	// FinishAttempt records an attempt's result; the first page sent marks the
	// alert notified, and only for that one notified is true.
	FinishAttempt(ctx context.Context, a Attempt, now time.Time) (notified bool, err error)
	// DeliveryStatus records a provider's delivery receipt for the attempt with
	// that provider id and returns the attempt (ErrNotFound when unknown).
	DeliveryStatus(ctx context.Context, providerID, status, detail string, now time.Time) (Attempt, error)
	// QueuedAttempts returns attempts claimed but not finished.
	QueuedAttempts(ctx context.Context) ([]Attempt, error)
}

// Links keeps one-tap acknowledgement links.
type Links interface {
	CreateLink(ctx context.Context, l Link) error
	// LinkByID returns the link, or ErrNotFound.
	LinkByID(ctx context.Context, id string) (Link, error)
	// UseLink marks the link used at now, once: ErrLinkUsed the second time,
	// ErrLinkExpired after its expiry (both in the alert's audit trail).
	UseLink(ctx context.Context, id string, now time.Time) (Link, error)
}

// ReplyRetention is how long a store remembers the MessageSid of an SMS reply. An
// SMS reply of "1" means "the newest open alert paged to me", so a replayed reply
// could act on any alert open at the time of the replay: the sid must be remembered
// for longer than any alert stays open. Alerts are acknowledged within minutes and
// closed within days; 400 days is far beyond that and costs one short row a reply.
const ReplyRetention = 400 * 24 * time.Hour

// Replies remembers the inbound SMS replies taken, by the provider's message id, so a
// replayed (captured and correctly signed) reply is answered without acting.
type Replies interface {
	// SeenMessage records that message sid arrived at at and reports whether it is
	// the first time; sids older than ReplyRetention are forgotten on the way.
	SeenMessage(ctx context.Context, sid string, at time.Time) (first bool, err error)
	// ForgetMessage forgets sid, so the provider's retry of a reply the gateway
	// could not take is acted on.
	ForgetMessage(ctx context.Context, sid string) error
}

// Conditions keeps the alert rules' per-device state (opaque bytes) across restarts.
type Conditions interface {
	SaveConditions(ctx context.Context, states map[string][]byte) error
	LoadConditions(ctx context.Context) (map[string][]byte, error)
}

// Store is everything an alert store does. The rules, the escalation runner, the API
// and the console each ask for the part they use.
type Store interface {
	Reader
	Writer
	Schedule
	Links
	Conditions
	Replies
	Feed
	Close() error
}
