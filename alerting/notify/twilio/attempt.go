package twilio

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/twilio/twilio-go/client"
	openapi "github.com/twilio/twilio-go/rest/api/v2010"

	"carebed/alerting/notify"
)

// maxErrorBody bounds how much of an error answer is kept for twilio-go to decode.
const maxErrorBody = 64 << 10

// attempt is the http.RoundTripper of one Notify call. twilio-go builds its
// requests with context.Background() and api.twilio.com; attempt binds them to
// the call's context, sends them to target (when set) and records what happened.
// It is used by one goroutine at a time: http.Client calls RoundTrip on the
// caller's goroutine.
type attempt struct {
	ctx    context.Context
	target *url.URL
	base   http.RoundTripper
	sent   bool // RoundTrip was called
	status int  // HTTP status of the last response, 0 when none
}

// RoundTrip implements http.RoundTripper.
func (a *attempt) RoundTrip(req *http.Request) (*http.Response, error) {
	out := req.Clone(a.ctx)
	if a.target != nil {
		out.URL.Scheme, out.URL.Host, out.Host = a.target.Scheme, a.target.Host, ""
	}
	base := a.base
	if base == nil {
		base = http.DefaultTransport
	}
	a.sent = true
	resp, err := base.RoundTrip(out)
	if err != nil {
		return nil, err
	}
	a.status = resp.StatusCode
	if resp.StatusCode >= 300 {
		// twilio-go never closes the body of an error answer; read it here so the
		// connection goes back to the pool.
		body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(body))
	}
	return resp, nil
}

// APIError is an HTTP error answer from Twilio: the HTTP status and Twilio's error
// code. Unlike twilio-go's *client.TwilioRestError (which it wraps, when Twilio's
// JSON could be decoded), its message leaves out Twilio's text, which quotes the
// phone number ("The 'To' number +86... is not a valid phone number").
type APIError struct {
	// Status is the HTTP status code.
	Status int
	// Code is Twilio's error code (e.g. 21211 invalid number, 21610 the
	// recipient replied STOP, 20003 bad credentials), 0 when the answer was not
	// Twilio's JSON.
	Code int
	// MoreInfo is Twilio's documentation link for Code.
	MoreInfo string
	err      error
}

// Error implements error.
func (e *APIError) Error() string {
	if e.Code == 0 {
		return fmt.Sprintf("twilio: HTTP %d", e.Status)
	}
	return fmt.Sprintf("twilio: HTTP %d, error %d (%s)", e.Status, e.Code, e.MoreInfo)
}

// Unwrap returns twilio-go's error: a *client.TwilioRestError, or the error
// decoding a body that was not Twilio's JSON. Its message may contain personal
// data; do not log it.
func (e *APIError) Unwrap() error { return e.err }

// Retryable reports whether another attempt may succeed.
func (e *APIError) Retryable() bool { return notify.RetryableStatus(e.Status) }

// classify turns twilio-go's answer into Notify's results.
func classify(msg *openapi.ApiV2010Message, err error, at *attempt) (notify.Receipt, bool, error) {
	ok := at.status >= 200 && at.status < 300
	switch {
	case at.status != 0 && !ok:
		e := &APIError{Status: at.status, err: err}
		var rest *client.TwilioRestError
		if errors.As(err, &rest) {
			e.Code, e.MoreInfo = rest.Code, rest.MoreInfo
		}
		return notify.Receipt{}, e.Retryable(), e
	case err == nil && (msg.Sid == nil || *msg.Sid == ""):
		return notify.Receipt{}, false, fmt.Errorf("twilio: message accepted (HTTP %d) but the answer has no sid", at.status)
	case err == nil:
		r := notify.Receipt{ProviderID: *msg.Sid}
		if msg.Status != nil {
			r.Status = *msg.Status
		}
		return r, false, nil
	case ok:
		// Accepted, so Twilio may well send it: another attempt could page twice.
		return notify.Receipt{}, false, fmt.Errorf("twilio: message accepted (HTTP %d) but the answer is unreadable: %w", at.status, err)
	case !at.sent:
		return notify.Receipt{}, false, fmt.Errorf("twilio: request not sent: %w", err)
	}
	// A transport error. *url.Error quotes the URL; keep only its cause.
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return notify.Receipt{}, true, fmt.Errorf("twilio: sending: %w", err)
}
