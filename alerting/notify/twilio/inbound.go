package twilio

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/twilio/twilio-go/client"
)

// ErrBadSignature is returned by VerifyRequest when a webhook's X-Twilio-Signature
// is missing or does not match: the request did not come from Twilio (or was
// signed for another URL or account). Answer it with 403.
var ErrBadSignature = errors.New("twilio: bad webhook signature")

// MaxWebhookBytes bounds the body VerifyRequest reads.
const MaxWebhookBytes = 64 << 10

// SignatureHeader is the header carrying Twilio's webhook signature.
const SignatureHeader = "X-Twilio-Signature"

// VerifyRequest reads the form of a webhook Twilio posted and checks its
// signature with twilio-go's RequestValidator against publicURL, the URL as
// configured in Twilio (scheme, host, path and query exactly as Twilio calls it,
// which behind a proxy is not r.URL). It returns the posted parameters. Errors:
// ErrBadSignature (wrapped) for a missing or wrong signature or a repeated
// parameter (the validator signs only the first value of each); other errors for
// a request that is not a POST or whose body cannot be read.
func VerifyRequest(r *http.Request, publicURL, authToken string) (url.Values, error) {
	if authToken == "" {
		return nil, errors.New("twilio: VerifyRequest: authToken is empty")
	}
	if r.Method != http.MethodPost {
		return nil, fmt.Errorf("twilio: webhook method %s, want POST", r.Method)
	}
	r.Body = http.MaxBytesReader(nil, r.Body, MaxWebhookBytes)
	if err := r.ParseForm(); err != nil {
		return nil, fmt.Errorf("twilio: reading webhook form: %w", err)
	}
	sig := r.Header.Get(SignatureHeader)
	if sig == "" {
		return nil, fmt.Errorf("%w: no %s header", ErrBadSignature, SignatureHeader)
	}
	params := make(map[string]string, len(r.PostForm))
	for k, vs := range r.PostForm {
		if len(vs) != 1 {
			return nil, fmt.Errorf("%w: parameter %q repeated", ErrBadSignature, k)
		}
		params[k] = vs[0]
	}
	v := client.NewRequestValidator(authToken)
	if !v.Validate(publicURL, params, sig) {
		return nil, ErrBadSignature
	}
	return r.PostForm, nil
}

// Sign computes the X-Twilio-Signature Twilio would send for a POST of form to
// publicURL: base64 of the HMAC-SHA1, keyed with the auth token, of the URL
// followed by each parameter's name and value, sorted by name. Tests use it to
// post valid (and forged) webhooks; twiliotest uses it for its callbacks.
func Sign(publicURL, authToken string, form url.Values) string {
	var b strings.Builder
	b.WriteString(publicURL)
	for _, k := range slices.Sorted(maps.Keys(form)) {
		for _, v := range form[k] {
			b.WriteString(k)
			b.WriteString(v)
		}
	}
	mac := hmac.New(sha1.New, []byte(authToken))
	mac.Write([]byte(b.String()))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// Inbound is an SMS someone sent to the gateway's number: a reply
// acknowledging an alert. From and Body are personal data.
type Inbound struct {
	From       string
	Body       string
	MessageSID string
}

// ParseInbound reads an incoming-message webhook's parameters (From, Body,
// MessageSid). Body is returned as sent, spaces included, and may be empty (a
// message with only media). Errors name the missing parameter.
func ParseInbound(v url.Values) (Inbound, error) {
	in := Inbound{From: v.Get("From"), Body: v.Get("Body"), MessageSID: firstOf(v, "MessageSid", "SmsSid")}
	switch {
	case in.MessageSID == "":
		return Inbound{}, errors.New("twilio: inbound message: MessageSid is missing")
	case in.From == "":
		return Inbound{}, errors.New("twilio: inbound message: From is missing")
	}
	return in, nil
}

// Message statuses reported by status callbacks.
const (
	StatusAccepted           = "accepted"
	StatusScheduled          = "scheduled"
	StatusCanceled           = "canceled"
	StatusQueued             = "queued"
	StatusSending            = "sending"
	StatusSent               = "sent"
	StatusDelivered          = "delivered"
	StatusUndelivered        = "undelivered"
	StatusFailed             = "failed"
	StatusRead               = "read"
	StatusPartiallyDelivered = "partially_delivered"
)

var knownStatuses = []string{StatusAccepted, StatusScheduled, StatusCanceled, StatusQueued,
	StatusSending, StatusSent, StatusDelivered, StatusUndelivered, StatusFailed, StatusRead,
	StatusPartiallyDelivered}

// StatusCallback is a delivery receipt for a message Notify sent: its SID (the
// Receipt's ProviderID), its new status and, for failures, Twilio's error code
// (e.g. "30003" unreachable handset, "30006" landline).
type StatusCallback struct {
	MessageSID string
	Status     string
	ErrorCode  string
}

// Delivered reports whether the carrier confirmed delivery to the handset.
func (s StatusCallback) Delivered() bool { return s.Status == StatusDelivered }

// Failed reports whether the message will not arrive: the escalation moves on
// to the next contact.
func (s StatusCallback) Failed() bool {
	return s.Status == StatusFailed || s.Status == StatusUndelivered
}

// ParseStatus reads a status callback's parameters (MessageSid, MessageStatus,
// ErrorCode). Errors name a missing parameter or an unknown status.
func ParseStatus(v url.Values) (StatusCallback, error) {
	s := StatusCallback{
		MessageSID: firstOf(v, "MessageSid", "SmsSid"),
		Status:     firstOf(v, "MessageStatus", "SmsStatus"),
		ErrorCode:  v.Get("ErrorCode"),
	}
	switch {
	case s.MessageSID == "":
		return StatusCallback{}, errors.New("twilio: status callback: MessageSid is missing")
	case s.Status == "":
		return StatusCallback{}, errors.New("twilio: status callback: MessageStatus is missing")
	case !slices.Contains(knownStatuses, s.Status):
		return StatusCallback{}, fmt.Errorf("twilio: status callback: unknown MessageStatus %q", s.Status)
	}
	return s, nil
}

// firstOf returns the first non-empty value among keys.
func firstOf(v url.Values, keys ...string) string {
	for _, k := range keys {
		if s := v.Get(k); s != "" {
			return s
		}
	}
	return ""
}
