// Package webhook posts notifications to clinic systems as signed JSON over
// HTTPS. The body names the person by ID and role only, never by name or phone
// number; the header X-Carebed-Signature carries "sha256=" and the hex
// HMAC-SHA256 of the body keyed with a shared secret, which receivers check with
// Verify (or its equivalent in their language).
package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"carebed/alerting"
	"carebed/alerting/notify"
)

// Defaults and limits.
const (
	DefaultTimeout  = 10 * time.Second
	MinSecretLength = 16
	SignatureHeader = "X-Carebed-Signature"
	// StatusAccepted is the Receipt status of a notification the receiver took.
	StatusAccepted = "accepted"
)

// Options configures a Notifier.
type Options struct {
	// URL is the receiver's endpoint, http or https (https outside tests); required.
	URL string
	// Secret keys the body's HMAC; required, at least MinSecretLength bytes.
	Secret string
	// HTTPClient sends the requests (default: a client that follows no
	// redirects). Its Timeout is ignored; Timeout bounds each call.
	HTTPClient *http.Client
	// Timeout bounds one Notify call (default DefaultTimeout).
	Timeout time.Duration
	// Now stamps the payloads (default time.Now).
	Now func() time.Time
}

// Recipient is the person a notification is for, without personal data.
type Recipient struct {
	ID   string            `json:"id"`
	Role alerting.Receiver `json:"role"`
}

// Payload is the JSON body posted for one notification.
type Payload struct {
	V       int               `json:"v"`
	AlertID int64             `json:"alert_id"`
	Alert   string            `json:"alert"` // the short code
	Kind    alerting.Kind     `json:"kind,omitempty"`
	Sev     alerting.Severity `json:"sev,omitempty"`
	Purpose notify.Purpose    `json:"purpose"`
	To      Recipient         `json:"to"`
	Text    string            `json:"text"`
	// TS is when the request was made, Unix milliseconds: receivers may reject
	// old replays.
	TS int64 `json:"ts"`
}

// StatusError is an HTTP answer other than 2xx.
type StatusError struct {
	Status int
}

// Error implements error.
func (e *StatusError) Error() string { return fmt.Sprintf("webhook: HTTP %d", e.Status) }

// Notifier posts notifications to one endpoint. It is safe for concurrent use.
type Notifier struct {
	o      Options
	client *http.Client
}

var _ notify.Notifier = (*Notifier)(nil)

// New validates o and returns a Notifier; it does not contact the endpoint. Its
// errors name the field and never contain the secret or the URL's query.
func New(o Options) (*Notifier, error) {
	if o.Timeout == 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	u, err := url.Parse(o.URL)
	switch {
	case o.URL == "":
		return nil, errors.New("webhook: URL is required")
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		return nil, errors.New("webhook: URL must be an absolute http or https URL")
	case o.Secret == "":
		return nil, errors.New("webhook: Secret is required")
	case len(o.Secret) < MinSecretLength:
		return nil, fmt.Errorf("webhook: Secret must be at least %d bytes", MinSecretLength)
	case o.Timeout < 0:
		return nil, fmt.Errorf("webhook: Timeout %v is negative", o.Timeout)
	}
	c := o.HTTPClient
	if c == nil {
		c = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	return &Notifier{o: o, client: c}, nil
}

// Sign returns the X-Carebed-Signature value for body: "sha256=" and the hex
// HMAC-SHA256 of body keyed with secret.
func Sign(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// Verify reports whether signature is body's X-Carebed-Signature for secret, in
// constant time.
func Verify(secret string, body []byte, signature string) bool {
	got, ok := strings.CutPrefix(signature, "sha256=")
	if !ok {
		return false
	}
	mac, err := hex.DecodeString(got)
	if err != nil {
		return false
	}
	want := hmac.New(sha256.New, []byte(secret))
	want.Write(body)
	return hmac.Equal(mac, want.Sum(nil))
}

// Notify posts n. The receiver's X-Request-Id header, if any, becomes the
// Receipt's ProviderID. Errors: *StatusError for a non-2xx answer (retried for
// 5xx, 429 and 408; redirects are not followed and not retried); transport
// errors, retried, without the URL (its query may hold a key).
func (nf *Notifier) Notify(ctx context.Context, n notify.Notification) (notify.Receipt, bool, error) {
	body, err := json.Marshal(Payload{V: 1, AlertID: n.AlertID, Alert: n.AlertCode, Kind: n.Kind, Sev: n.Sev,
		Purpose: n.Purpose, To: Recipient{ID: n.To.ID, Role: n.To.Role}, Text: n.Text, TS: nf.o.Now().UnixMilli()})
	if err != nil {
		return notify.Receipt{}, false, fmt.Errorf("webhook: encoding: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, nf.o.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, nf.o.URL, bytes.NewReader(body))
	if err != nil {
		return notify.Receipt{}, false, errors.New("webhook: building the request failed")
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("User-Agent", "carebed-webhook/1")
	req.Header.Set(SignatureHeader, Sign(nf.o.Secret, body))
	resp, err := nf.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return notify.Receipt{}, true, fmt.Errorf("webhook: posting: %w", err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return notify.Receipt{}, notify.RetryableStatus(resp.StatusCode), &StatusError{Status: resp.StatusCode}
	}
	return notify.Receipt{ProviderID: resp.Header.Get("X-Request-Id"), Status: StatusAccepted}, false, nil
}
