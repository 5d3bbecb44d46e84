// Package notifytest holds the checks that every HTTP-based notifier runs against
// an httptest server playing its provider: which answers are retried, that one
// Notify is one request, that the context bounds a call, and that no secret or
// personal data (auth token, phone number, name, message text) leaks into an error.
package notifytest

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"carebed/alerting"
	"carebed/alerting/notify"
)

// Sample is the notification Conformance sends unless told otherwise: Chinese
// text, a Chinese name and a mainland mobile number, all of which must stay out of
// errors.
var Sample = notify.Notification{
	AlertID:   42,
	AlertCode: "K7M2",
	Kind:      alerting.KindFall,
	Sev:       alerting.Critical,
	Purpose:   notify.PurposePage,
	To: alerting.Person{ID: "H-0012/village_doctor/1", Role: alerting.ReceiverVillageDoctor,
		Name: "买买提·艾力", Phone: "+8613912345678", Responder: "r-0012"},
	Text: "【护床】跌倒报警：和静县巴音村12号，老人可能跌倒，请立即前往。回复1确认。",
}

// Options adapts Conformance to one provider. Zero fields take defaults.
type Options struct {
	// Respond writes the provider's answer to r with the given HTTP status: its
	// success body for a 2xx status, its error format otherwise. The default writes
	// a JSON body that echoes the request body, to tempt a notifier into quoting it.
	Respond func(w http.ResponseWriter, r *http.Request, status int)
	// Success is the status the provider answers an accepted message with
	// (default 200).
	Success int
	// Secrets must never appear in an error, in addition to Notification's phone
	// number, name and text (e.g. the auth token or the signing secret).
	Secrets []string
	// Notification is what each case sends (default Sample).
	Notification *notify.Notification
}

// statusCases are the provider answers and whether a notifier must retry them.
var statusCases = []struct {
	name   string
	status int
	retry  bool
}{
	{"400 bad request", http.StatusBadRequest, false},
	{"401 unauthorized", http.StatusUnauthorized, false},
	{"403 forbidden", http.StatusForbidden, false},
	{"404 not found", http.StatusNotFound, false},
	{"429 too many requests", http.StatusTooManyRequests, true},
	{"500 internal server error", http.StatusInternalServerError, true},
	{"502 bad gateway", http.StatusBadGateway, true},
	{"503 service unavailable", http.StatusServiceUnavailable, true},
	{"504 gateway timeout", http.StatusGatewayTimeout, true},
}

// Conformance runs the shared notifier checks. newNotifier builds the notifier
// under test pointed at srvURL (the base URL of a test server, without a path);
// it is called once per case, and for the "connection refused" case with the URL
// of a server that is already closed.
func Conformance(t *testing.T, newNotifier func(srvURL string) notify.Notifier, o Options) {
	t.Helper()
	o.ensureDefaults()
	t.Run("success", func(t *testing.T) {
		res := run(t, newNotifier, o, func(w http.ResponseWriter, r *http.Request) { o.Respond(w, r, o.Success) })
		if res.err != nil {
			t.Fatalf("Notify on HTTP %d: %v", o.Success, res.err)
		}
		res.wantRequests(t, 1)
	})
	for _, tc := range statusCases {
		t.Run(tc.name, func(t *testing.T) {
			res := run(t, newNotifier, o, func(w http.ResponseWriter, r *http.Request) { o.Respond(w, r, tc.status) })
			res.wantFailure(t, o, tc.retry)
			res.wantRequests(t, 1)
		})
	}
	t.Run("502 from a proxy with a non-provider body", func(t *testing.T) {
		res := run(t, newNotifier, o, proxyError)
		res.wantFailure(t, o, true)
		res.wantRequests(t, 1)
	})
	t.Run("connection refused", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		srv.Close()
		res := notifyOnce(t, newNotifier(srv.URL), o, 5*time.Second)
		res.wantFailure(t, o, true)
	})
	t.Run("context deadline bounds a hanging provider", func(t *testing.T) {
		release := make(chan struct{})
		res := run(t, newNotifier, o, func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body) // else the server never notices the client leave
			select {
			case <-r.Context().Done():
			case <-release:
			}
		}, release)
		if res.err == nil {
			t.Fatal("Notify succeeded against a server that never answered")
		}
		if res.took > 5*time.Second {
			t.Errorf("Notify took %v with a 300ms deadline", res.took)
		}
		res.wantNoSecrets(t, o)
	})
}

func (o *Options) ensureDefaults() {
	if o.Respond == nil {
		o.Respond = echoJSON
	}
	if o.Success == 0 {
		o.Success = http.StatusOK
	}
	if o.Notification == nil {
		n := Sample
		o.Notification = &n
	}
}

// result is what one Notify call did.
type result struct {
	receipt  notify.Receipt
	retry    bool
	err      error
	took     time.Duration
	requests *atomic.Int64
}

// run serves h on a fresh test server and makes one Notify call against it; then
// it closes release, if given, and the server.
func run(t *testing.T, newNotifier func(string) notify.Notifier, o Options, h http.HandlerFunc, release ...chan struct{}) result {
	t.Helper()
	var requests atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		h(w, r)
	}))
	defer srv.Close()
	res := notifyOnce(t, newNotifier(srv.URL), o, 300*time.Millisecond)
	for _, c := range release {
		close(c)
	}
	res.requests = &requests
	return res
}

func notifyOnce(t *testing.T, nf notify.Notifier, o Options, timeout time.Duration) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()
	start := time.Now()
	r, retry, err := nf.Notify(ctx, *o.Notification)
	return result{receipt: r, retry: retry, err: err, took: time.Since(start)}
}

func (res result) wantFailure(t *testing.T, o Options, retry bool) {
	t.Helper()
	if res.err == nil {
		t.Fatalf("Notify succeeded (receipt %+v), want an error", res.receipt)
	}
	if res.retry != retry {
		t.Errorf("retry = %v, want %v (error: %v)", res.retry, retry, res.err)
	}
	res.wantNoSecrets(t, o)
}

func (res result) wantRequests(t *testing.T, n int64) {
	t.Helper()
	if got := res.requests.Load(); got != n {
		t.Errorf("provider got %d requests, want %d", got, n)
	}
}

func (res result) wantNoSecrets(t *testing.T, o Options) {
	t.Helper()
	if res.err == nil {
		return
	}
	NoSecrets(t, res.err.Error(), append(PersonalData(*o.Notification), o.Secrets...)...)
}

// PersonalData lists the strings of n that must stay out of errors and logs: the
// phone number (also without its country code), the name and the text.
func PersonalData(n notify.Notification) []string {
	var out []string
	for _, s := range []string{n.To.Phone, strings.TrimPrefix(n.To.Phone, "+86"), n.To.Name, n.Text} {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// NoSecrets fails t if s contains any of secrets, as is, JSON-escaped or
// query-escaped.
func NoSecrets(t testing.TB, s string, secrets ...string) {
	t.Helper()
	for _, secret := range secrets {
		if secret == "" {
			continue
		}
		if strings.Contains(s, secret) || strings.Contains(s, jsonEscape(secret)) ||
			strings.Contains(s, url.QueryEscape(secret)) {
			t.Errorf("%q contains the secret %q", s, secret)
		}
	}
}

func jsonEscape(s string) string {
	b, _ := json.Marshal(s)
	return strings.Trim(string(b), `"`)
}

// echoJSON is the default provider: it echoes the request body in its answer.
func echoJSON(w http.ResponseWriter, r *http.Request, status int) {
	body, _ := io.ReadAll(r.Body)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"status": status, "echo": string(body)})
}

// proxyError plays a reverse proxy in front of the provider: an HTML 502 that
// quotes the request.
func proxyError(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	w.Header().Set("Content-Type", "text/html")
	w.WriteHeader(http.StatusBadGateway)
	_, _ = io.WriteString(w, "<html><body>502 Bad Gateway: "+string(body)+"</body></html>")
}
