// Package notify defines how an alert reaches one person: a Notification, the
// Notifier interface that every channel (Twilio SMS, local outbox, responder push,
// clinic webhook) implements in its own subpackage, and Retry, the one place that
// decides how often and how long to try again.
//
// A Notifier makes exactly one attempt and says whether another attempt may succeed;
// it never sleeps or loops. Phone numbers, names and message texts are personal
// data: they go to the provider and nowhere else, so no error string and no log
// line produced here or by a Notifier contains them. Errors and logs identify a
// notification by its alert code, purpose and the person's ID.
package notify

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"carebed/alerting"
)

// Purpose says why a person is being told about an alert.
type Purpose string

// Purposes of a notification.
const (
	// PurposePage asks the person to come and help.
	PurposePage Purpose = "page"
	// PurposeTaken tells a person already paged that someone else took the alert.
	PurposeTaken Purpose = "taken"
	// PurposeResolved tells a person that the alert is over.
	PurposeResolved Purpose = "resolved"
	// PurposeCancelled tells those paged that the device cancelled after the pages
	// went out (the alert stays open).
	PurposeCancelled Purpose = "cancelled"
	// PurposeHandOver tells the new holder that an alert was handed to them.
	PurposeHandOver Purpose = "handover"
	// PurposeTest is a test message sent by an operator.
	PurposeTest Purpose = "test"
)

// Notification is one message to one person about one alert.
type Notification struct {
	AlertID   int64
	AlertCode string
	// Kind and Sev describe the alert for channels that show it structured (the
	// responder app, clinic webhooks); SMS only sends Text. Both may be empty.
	Kind    alerting.Kind
	Sev     alerting.Severity
	Purpose Purpose
	To      alerting.Person
	// Text is already rendered (Chinese by default); notifiers do not template.
	Text string
}

// String identifies n for errors and logs without personal data: alert code,
// purpose and the person's ID.
func (n Notification) String() string {
	return fmt.Sprintf("alert %s %s to %s", n.AlertCode, n.Purpose, n.To.ID)
}

// Receipt is what the provider answered: its message id (matched later against
// delivery callbacks) and the message's status there (e.g. "queued").
type Receipt struct {
	ProviderID string
	Status     string
}

// Notifier sends a notification through one channel. Notify makes one attempt.
// retry reports whether another attempt may succeed (network error, HTTP 5xx or
// 429); it is false for errors that repeating cannot fix (an invalid number, bad
// credentials, a person without an address on this channel). err never contains
// the person's phone number or name, nor the message text.
type Notifier interface {
	Notify(ctx context.Context, n Notification) (r Receipt, retry bool, err error)
}

// Finder is implemented by a Notifier whose provider can say which messages it has
// accepted (Twilio). After a crash, the escalation asks it about each notification
// that was in flight (the call had started, no result was recorded) before sending it
// again, and sends it again only when the provider has no such message: the person
// is not paged twice. Notifiers without it (push, webhook) are at-least-once: a
// notification in flight at a crash is sent again, and may arrive twice. Like Notify,
// Find makes one attempt; the escalation decides whether to ask again.
type Finder interface {
	// Find returns the receipts of the messages the provider accepted, at or after
	// since, to n.To with n.Text, newest first (none: it has no such message). The
	// texts are compared with their URLs set aside: a one-tap link is made anew for
	// each send. retry reports whether asking again may succeed; err never contains
	// the person's phone number or name, nor the text.
	Find(ctx context.Context, n Notification, since time.Time) (rs []Receipt, retry bool, err error)
}

// ErrNoAddress is returned (wrapped, without retry) by a Notifier when the person
// cannot be reached on its channel at all, e.g. no phone number for SMS or no
// responder-app id for push. The escalation moves on to the next contact.
var ErrNoAddress = errors.New("person has no address on this channel")

// RetryableStatus reports whether an HTTP response with this status code is worth
// another attempt: 5xx, 429 Too Many Requests and 408 Request Timeout. Other 4xx
// codes (and 3xx, which a provider API never answers legitimately) are not.
func RetryableStatus(code int) bool {
	return code >= 500 || code == http.StatusTooManyRequests || code == http.StatusRequestTimeout
}
