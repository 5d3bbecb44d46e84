// Package escalation walks each open alert up its ladder until someone acknowledges:
// at each step it resolves the step's receivers to people, records the notifications
// it is about to send (and schedules the next step) in one transaction, then sends
// them with retries. Because the step is claimed in the store before it is sent, a
// restart continues the ladder on time and never claims a step twice. Each
// notification is recorded as in flight before its notifier is called; after a
// crash, one in flight is sent again only when its provider, if it can be asked
// (notify.Finder: Twilio), does not have it; other channels are at-least-once.
package escalation

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"carebed/alerting"
	"carebed/alerting/notify"
	"carebed/alerting/policy"
)

// Store is the alert store as escalation uses it.
type Store interface {
	DueSteps(ctx context.Context, now time.Time) ([]alerting.Due, error)
	NextDue(ctx context.Context) (time.Time, error)
	ClaimStep(ctx context.Context, id int64, from, through int, nextAt, now time.Time, attempts []alerting.Attempt) ([]alerting.Attempt, error)
	AddAttempts(ctx context.Context, id int64, now time.Time, attempts []alerting.Attempt) ([]alerting.Attempt, error)
	FinishAttempt(ctx context.Context, a alerting.Attempt, now time.Time) (notified bool, err error)
	Note(ctx context.Context, alertID int64, now time.Time, what, actor, channel, detail string) error
	QueuedAttempts(ctx context.Context) ([]alerting.Attempt, error)
	Attempts(ctx context.Context, alertID int64) ([]alerting.Attempt, error)
	Alert(ctx context.Context, id int64) (alerting.Alert, error)
	Ack(ctx context.Context, id int64, by, channel string, now time.Time) (alerting.Alert, error)
	Reschedule(ctx context.Context, id int64, step int, at time.Time) error
	DeliveryStatus(ctx context.Context, providerID, status, detail string, now time.Time) (alerting.Attempt, error)
}

// Policy is the routing configuration as escalation uses it.
type Policy interface {
	Ladder(township string, sev alerting.Severity) policy.Ladder
	ReleaseAt(township string, sev alerting.Severity, t time.Time) time.Time
	Render(purpose string, m policy.Message) (string, error)
	Limits() policy.Limits
	Nearby() policy.Nearby
}

// Nearby finds the responders near an SOS or fall device that is far from home (a
// herder on a summer pasture): the gateway's last known positions and the registry.
type Nearby interface {
	// Nearest returns up to n people (village doctors and visitors) nearest to
	// where a's device is, none of a's home's own, nearest first; none when the
	// device's last fix is within beyondKM of home, too old, or unknown.
	Nearest(ctx context.Context, a alerting.Alert, beyondKM float64, n int) ([]alerting.Person, error)
	// From says how far and which way a's device is from p ("8.5 公里 西北") when p
	// is not one of a's home's own people; ok false when p is.
	From(ctx context.Context, a alerting.Alert, p alerting.Person) (near string, ok bool)
}

// Feedback tells the device that raised an alert that help is coming.
type Feedback func(ctx context.Context, a alerting.Alert, by alerting.Person) error

// Options configure a Runner.
type Options struct {
	Store     Store
	Policy    Policy
	Directory alerting.Directory
	// Notifiers by channel: "sms", "push", "webhook".
	Notifiers map[string]notify.Notifier
	Retry     notify.RetryOptions
	// SendTimeout bounds the retries of one notification (default 2 min).
	SendTimeout time.Duration
	Feedback    Feedback
	// Link, when set, makes the one-tap acknowledgement link for a page to p by SMS
	// ("" for none).
	Link func(ctx context.Context, a alerting.Alert, p alerting.Person) (string, error)
	// Where, when set, says where an SOS or fall alert's device is when it is away
	// from home (policy.Message.Where); "" at home or when nobody knows.
	Where func(ctx context.Context, a alerting.Alert) string
	// Nearby, when set, adds the responders nearest to an SOS or fall device far
	// from home to the ladder's first step (policy.Nearby).
	Nearby   Nearby
	Metrics  *Metrics
	Logger   *slog.Logger
	Now      func() time.Time
	Location *time.Location
}

// Runner runs the ladders.
type Runner struct {
	o       Options
	log     *slog.Logger
	wake    chan struct{}
	sending sync.WaitGroup
	limit   limiter
}

// New returns a Runner.
func New(o Options) *Runner {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Retry.Logger == nil {
		o.Retry.Logger = o.Logger
	}
	if o.SendTimeout <= 0 {
		o.SendTimeout = 2 * time.Minute
	}
	if o.Metrics == nil {
		o.Metrics = NewMetrics(nil)
	}
	if o.Location == nil {
		o.Location = time.Local
	}
	o.Metrics.startEmptySteps(o.Policy)
	return &Runner{o: o, log: o.Logger.With("component", "escalation"), wake: make(chan struct{}, 1),
		limit: limiter{limits: o.Policy.Limits()}}
}

// Wake makes the runner look for due steps now (a new alert was raised).
func (r *Runner) Wake() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// maxSleep bounds how long the runner sleeps without looking at the store.
const maxSleep = 5 * time.Second

// Run sends due steps until ctx ends, then waits for notifications in flight.
func (r *Runner) Run(ctx context.Context) error {
	defer r.sending.Wait()
	r.resendQueued(ctx)
	for {
		r.runDue(ctx)
		wait := maxSleep
		if next, err := r.o.Store.NextDue(ctx); err == nil && !next.IsZero() {
			wait = min(max(next.Sub(r.o.Now()), 0), maxSleep)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-r.wake:
		case <-t.C:
		}
		t.Stop()
	}
}

// runDue processes every step due now.
func (r *Runner) runDue(ctx context.Context) {
	now := r.o.Now()
	due, err := r.o.Store.DueSteps(ctx, now)
	if err != nil {
		if ctx.Err() == nil {
			r.log.Error("reading due escalation steps", "err", err)
		}
		return
	}
	for _, d := range due {
		if err := r.step(ctx, d, now); err != nil && !errors.Is(err, alerting.ErrClaimed) {
			r.log.Error("escalation step failed", "alert", d.Alert.Code, "step", d.Step, "err", err)
		}
	}
}
