// Package twiliotest plays Twilio's Messages API for tests that drive the real
// twilio-go client (through twilio.Options.BaseURL): it checks basic auth and the
// form, records messages, answers with Twilio's JSON and error format, can be told
// to fail, and posts signed status callbacks and SMS replies back to the gateway.
package twiliotest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"carebed/alerting/notify/twilio"
)

// Message is one message the fake API accepted.
type Message struct {
	SID, To, From, Body, StatusCallback string
}

// API is a fake of Twilio's Messages API: POST
// /2010-04-01/Accounts/{AccountSid}/Messages.json. It is an http.Handler and safe
// for concurrent use.
type API struct {
	accountSID, authToken string
	mux                   *http.ServeMux

	mu       sync.Mutex
	messages []Message
	created  []time.Time // when each message was accepted, by now
	failures []failure
	inbound  int // SMS replies sent by SendSMS
	now      func() time.Time
	held     chan struct{} // while not nil, answers to create requests wait for it
}

type failure struct{ status, code int }

// NewAPI returns a fake API for one account.
func NewAPI(accountSID, authToken string) *API {
	a := &API{accountSID: accountSID, authToken: authToken, mux: http.NewServeMux(), now: time.Now}
	a.mux.HandleFunc("POST /2010-04-01/Accounts/{sid}/Messages.json", a.createMessage)
	a.mux.HandleFunc("GET /2010-04-01/Accounts/{sid}/Messages.json", a.listMessages)
	a.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		WriteError(w, http.StatusNotFound, 20404, "The requested resource "+r.URL.Path+" was not found")
	})
	return a
}

// Serve starts an httptest server for a, closed when t ends, and returns its URL
// (for twilio.Options.BaseURL).
func Serve(t testing.TB, a *API) string {
	srv := httptest.NewServer(a)
	t.Cleanup(srv.Close)
	return srv.URL
}

// ServeHTTP implements http.Handler.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.mux.ServeHTTP(w, r) }

// FailNext makes the next create request, after earlier queued failures, answer
// with HTTP status and Twilio error code instead of sending.
func (a *API) FailNext(status, code int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.failures = append(a.failures, failure{status, code})
}

// Messages returns the messages accepted so far, oldest first.
func (a *API) Messages() []Message {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]Message(nil), a.messages...)
}

var e164 = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

// authorized answers as Twilio does a request without the account's credentials
// (401) or for another account (404), and reports whether the request may go on.
func (a *API) authorized(w http.ResponseWriter, r *http.Request) bool {
	user, pass, ok := r.BasicAuth()
	if !ok || user != a.accountSID || pass != a.authToken {
		WriteError(w, http.StatusUnauthorized, 20003, "Authenticate")
		return false
	}
	if r.PathValue("sid") != a.accountSID {
		WriteError(w, http.StatusNotFound, 20404, "The requested resource was not found")
		return false
	}
	return true
}

func (a *API) createMessage(w http.ResponseWriter, r *http.Request) {
	if !a.authorized(w, r) {
		return
	}
	if err := r.ParseForm(); err != nil || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		WriteError(w, http.StatusBadRequest, 21600, "Bad request")
		return
	}
	m := Message{To: r.PostForm.Get("To"), From: r.PostForm.Get("From"), Body: r.PostForm.Get("Body"),
		StatusCallback: r.PostForm.Get("StatusCallback")}
	if status, code, msg := a.check(m); status != 0 {
		WriteError(w, status, code, msg)
		return
	}
	a.mu.Lock()
	m.SID = fmt.Sprintf("SM%032x", len(a.messages)+1)
	a.messages = append(a.messages, m)
	created := a.now()
	a.created = append(a.created, created)
	held := a.held
	a.mu.Unlock()
	if held != nil { // accepted, but the answer is slow: the caller may die meanwhile
		select {
		case <-held:
		case <-r.Context().Done():
			return
		}
	}
	writeMessage(w, a.accountSID, m, created, "queued", false)
}

// check returns the error answer for m, or status 0 to accept it.
func (a *API) check(m Message) (status, code int, msg string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.failures) > 0 {
		f := a.failures[0]
		a.failures = a.failures[1:]
		return f.status, f.code, fmt.Sprintf("Simulated failure for the 'To' number %s", m.To)
	}
	switch {
	case m.To == "":
		return http.StatusBadRequest, 21604, "A 'To' phone number is required."
	case m.From == "":
		return http.StatusBadRequest, 21603, "A 'From' phone number is required."
	case m.Body == "":
		return http.StatusBadRequest, 21602, "Message body is required."
	case !e164.MatchString(m.To):
		// Twilio quotes the number: notifiers must not pass this text on.
		return http.StatusBadRequest, 21211, fmt.Sprintf("The 'To' number %s is not a valid phone number.", m.To)
	}
	return 0, 0, ""
}

// writeMessage answers 201 Created with Twilio's message resource.
func writeMessage(w http.ResponseWriter, accountSID string, m Message, created time.Time, status string, sent bool) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	_ = json.NewEncoder(w).Encode(resource(accountSID, m, created, status, sent))
}

// resource is Twilio's JSON of a message; sent sets date_sent (the time it was
// created: the fake sends at once).
func resource(accountSID string, m Message, created time.Time, status string, sent bool) map[string]any {
	at := created.UTC().Format(time.RFC1123Z)
	var dateSent any
	if sent {
		dateSent = at
	}
	uri := fmt.Sprintf("/2010-04-01/Accounts/%s/Messages/%s", accountSID, m.SID)
	return map[string]any{
		"account_sid": accountSID, "api_version": "2010-04-01", "body": m.Body,
		"date_created": at, "date_updated": at, "date_sent": dateSent,
		"direction": "outbound-api", "error_code": nil, "error_message": nil,
		"from": m.From, "messaging_service_sid": nil, "num_media": "0", "num_segments": "1",
		"price": nil, "price_unit": "USD", "sid": m.SID, "status": status, "to": m.To,
		"subresource_uris": map[string]string{"media": uri + "/Media.json"}, "uri": uri + ".json",
	}
}

// WriteError answers like Twilio does for a failed request.
func WriteError(w http.ResponseWriter, status, code int, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"code": code, "message": message, "status": status,
		"more_info": fmt.Sprintf("https://www.twilio.com/docs/errors/%d", code),
	})
}

// SendStatus posts a signed delivery status callback for m to m.StatusCallback,
// as Twilio does; errorCode may be empty. It fails unless the gateway answers 2xx.
func (a *API) SendStatus(ctx context.Context, m Message, status, errorCode string) error {
	form := url.Values{"AccountSid": {a.accountSID}, "ApiVersion": {"2010-04-01"},
		"MessageSid": {m.SID}, "SmsSid": {m.SID}, "MessageStatus": {status}, "SmsStatus": {status},
		"From": {m.From}, "To": {m.To}}
	if errorCode != "" {
		form.Set("ErrorCode", errorCode)
	}
	return a.post(ctx, m.StatusCallback, form)
}

// SendSMS posts a signed incoming-message webhook to webhookURL, as Twilio does
// when from texts body to the number to.
func (a *API) SendSMS(ctx context.Context, webhookURL, from, to, body string) error {
	a.mu.Lock()
	a.inbound++
	sid := fmt.Sprintf("SM%016x%016x", 1, a.inbound)
	a.mu.Unlock()
	form := url.Values{"AccountSid": {a.accountSID}, "ApiVersion": {"2010-04-01"},
		"MessageSid": {sid}, "SmsSid": {sid}, "SmsMessageSid": {sid}, "SmsStatus": {"received"},
		"From": {from}, "To": {to}, "Body": {body}, "NumMedia": {"0"}, "NumSegments": {"1"}}
	return a.post(ctx, webhookURL, form)
}

func (a *API) post(ctx context.Context, target string, form url.Values) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set(twilio.SignatureHeader, twilio.Sign(target, a.authToken, form))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("twiliotest: webhook answered %s", resp.Status)
	}
	return nil
}
