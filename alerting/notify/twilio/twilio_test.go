package twilio_test

import (
	"cmp"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twilio/twilio-go/client"

	"carebed/alerting/notify"
	"carebed/alerting/notify/notifytest"
	"carebed/alerting/notify/twilio"
	"carebed/alerting/notify/twilio/twiliotest"
)

const (
	sid      = "AC0123456789abcdef0123456789abcdef"
	token    = "0123456789abcdef0123456789abcdef"
	from     = "+15005550006"
	callback = "https://gw.example.cn/twilio/status"
)

// newNotifier returns a Notifier for the fake API at baseURL.
func newNotifier(t *testing.T, baseURL, authToken string) *twilio.Notifier {
	t.Helper()
	nf, err := twilio.New(twilio.Options{AccountSID: sid, AuthToken: authToken, From: from,
		BaseURL: baseURL, StatusCallbackURL: callback, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return nf
}

func TestNotify(t *testing.T) {
	tests := []struct {
		name      string
		phone     string
		token     string
		fail      []int // FailNext status, code pairs
		closed    bool  // the API is not listening
		wantRetry bool
		wantErr   bool
		wantAPI   *twilio.APIError // status and code of the error
		wantSent  int
	}{
		{name: "201 queued", wantSent: 1},
		{name: "400 invalid number", phone: "12345", wantErr: true,
			wantAPI: &twilio.APIError{Status: 400, Code: 21211}},
		{name: "401 wrong auth token", token: "wrongtoken0123456789", wantErr: true,
			wantAPI: &twilio.APIError{Status: 401, Code: 20003}},
		{name: "429 too many requests", fail: []int{429, 20429}, wantRetry: true, wantErr: true,
			wantAPI: &twilio.APIError{Status: 429, Code: 20429}},
		{name: "500 internal error", fail: []int{500, 20500}, wantRetry: true, wantErr: true,
			wantAPI: &twilio.APIError{Status: 500, Code: 20500}},
		{name: "503 unavailable", fail: []int{503, 20503}, wantRetry: true, wantErr: true,
			wantAPI: &twilio.APIError{Status: 503, Code: 20503}},
		{name: "connection refused", closed: true, wantRetry: true, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			api := twiliotest.NewAPI(sid, token)
			srv := httptest.NewServer(api)
			defer srv.Close()
			if tc.closed {
				srv.Close()
			}
			for i := 0; i+1 < len(tc.fail); i += 2 {
				api.FailNext(tc.fail[i], tc.fail[i+1])
			}
			n := notifytest.Sample
			if tc.phone != "" {
				n.To.Phone = tc.phone
			}
			nf := newNotifier(t, srv.URL, cmp.Or(tc.token, token))
			r, retry, err := nf.Notify(t.Context(), n)
			if retry != tc.wantRetry || (err != nil) != tc.wantErr {
				t.Fatalf("Notify = %+v, retry %v, err %v; want retry %v, error %v", r, retry, err, tc.wantRetry, tc.wantErr)
			}
			if tc.wantAPI != nil {
				var e *twilio.APIError
				if !errors.As(err, &e) || e.Status != tc.wantAPI.Status || e.Code != tc.wantAPI.Code {
					t.Errorf("error %v, want APIError %d/%d", err, tc.wantAPI.Status, tc.wantAPI.Code)
				}
				var rest *client.TwilioRestError
				if !errors.As(err, &rest) {
					t.Errorf("error %v does not wrap twilio-go's TwilioRestError", err)
				}
			}
			if err != nil {
				notifytest.NoSecrets(t, err.Error(), append(notifytest.PersonalData(n), token)...)
				return
			}
			msgs := api.Messages()
			if len(msgs) != tc.wantSent || r.ProviderID != msgs[0].SID || r.Status != "queued" {
				t.Fatalf("receipt %+v, messages %+v", r, msgs)
			}
			want := twiliotest.Message{SID: r.ProviderID, To: n.To.Phone, From: from, Body: n.Text, StatusCallback: callback}
			if msgs[0] != want {
				t.Errorf("sent %+v, want %+v", msgs[0], want)
			}
		})
	}
}

func TestNotifyWithoutPhoneIsNotRetried(t *testing.T) {
	api := twiliotest.NewAPI(sid, token)
	nf := newNotifier(t, twiliotest.Serve(t, api), token)
	n := notifytest.Sample
	n.To.Phone = ""
	_, retry, err := nf.Notify(t.Context(), n)
	if !errors.Is(err, notify.ErrNoAddress) || retry {
		t.Errorf("Notify = retry %v, %v; want ErrNoAddress without retry", retry, err)
	}
	if len(api.Messages()) != 0 {
		t.Error("a message was sent")
	}
}

func TestChineseTextRoundTrips(t *testing.T) {
	texts := []struct{ name, text string }{
		{"chinese", notifytest.Sample.Text},
		{"uyghur and mongolian", "ياردەم كېرەك ᠲᠤᠰᠠᠯᠠᠮᠵᠢ 救命"},
		{"reserved form characters", "回复 1 确认 & 2=拒绝 + 100% ?#"},
		{"emoji and newlines", "🚨 跌倒\n请前往\r\n谢谢"},
	}
	for _, tc := range texts {
		t.Run(tc.name, func(t *testing.T) {
			api := twiliotest.NewAPI(sid, token)
			nf := newNotifier(t, twiliotest.Serve(t, api), token)
			n := notifytest.Sample
			n.Text = tc.text
			if _, _, err := nf.Notify(t.Context(), n); err != nil {
				t.Fatal(err)
			}
			if got := api.Messages()[0].Body; got != tc.text {
				t.Errorf("Twilio got body %q, want %q", got, tc.text)
			}
		})
	}
}

func TestConformance(t *testing.T) {
	notifytest.Conformance(t, func(srvURL string) notify.Notifier {
		return newNotifier(t, srvURL, token)
	}, notifytest.Options{
		Success: http.StatusCreated,
		Secrets: []string{token},
		Respond: func(w http.ResponseWriter, r *http.Request, status int) {
			if status/100 == 2 {
				twiliotest.NewAPI(sid, token).ServeHTTP(w, r)
				return
			}
			_ = r.ParseForm()
			twiliotest.WriteError(w, status, 20000+status,
				"The 'To' number "+r.PostForm.Get("To")+" could not be reached: "+r.PostForm.Get("Body"))
		},
	})
}

func TestRetryThroughTwilio(t *testing.T) {
	api := twiliotest.NewAPI(sid, token)
	api.FailNext(503, 20503)
	api.FailNext(429, 20429)
	nf := newNotifier(t, twiliotest.Serve(t, api), token)
	o := notify.RetryOptions{Min: time.Millisecond, Max: 2 * time.Millisecond,
		Logger: slog.New(slog.DiscardHandler)}
	r, attempts, err := notify.Retry(t.Context(), nf, notifytest.Sample, o)
	if err != nil || attempts != 3 {
		t.Fatalf("Retry = %d attempts, %v; want 3, nil", attempts, err)
	}
	if msgs := api.Messages(); len(msgs) != 1 || msgs[0].SID != r.ProviderID {
		t.Errorf("messages %+v, receipt %+v", msgs, r)
	}
}

// TestDefaultBaseURLIsNotRewritten checks that without BaseURL the request goes
// to api.twilio.com through the configured HTTPClient's transport.
func TestDefaultBaseURLIsNotRewritten(t *testing.T) {
	var got atomic.Pointer[string]
	rt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		u := r.URL.String()
		got.Store(&u)
		rec := httptest.NewRecorder()
		twiliotest.NewAPI(sid, token).ServeHTTP(rec, r)
		return rec.Result(), nil
	})
	nf, err := twilio.New(twilio.Options{AccountSID: sid, AuthToken: token, From: from,
		HTTPClient: &http.Client{Transport: rt}})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := nf.Notify(t.Context(), notifytest.Sample); err != nil {
		t.Fatal(err)
	}
	want := "https://api.twilio.com/2010-04-01/Accounts/" + sid + "/Messages.json"
	if p := got.Load(); p == nil || *p != want {
		t.Errorf("request went to %v, want %s", p, want)
	}
}

// TestErrorAnswersReuseTheConnection checks that error answers, whose bodies
// twilio-go never closes (nor reads to the end when they are not its JSON), do
// not cost a connection each.
func TestErrorAnswersReuseTheConnection(t *testing.T) {
	page := "<html><body>502 Bad Gateway" + strings.Repeat(" ", 8<<10) + "</body></html>"
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusBadGateway)
		_, _ = io.WriteString(w, page)
	}))
	var conns atomic.Int64
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	nf, err := twilio.New(twilio.Options{AccountSID: sid, AuthToken: token, From: from,
		BaseURL: srv.URL, HTTPClient: &http.Client{Transport: tr}})
	if err != nil {
		t.Fatal(err)
	}
	for range 5 {
		if _, retry, err := nf.Notify(t.Context(), notifytest.Sample); err == nil || !retry {
			t.Fatalf("Notify = retry %v, %v; want a retryable error", retry, err)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("5 failed requests used %d connections, want 1", n)
	}
}

func TestNotifyHonoursTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer srv.Close()
	defer close(release)
	nf, err := twilio.New(twilio.Options{AccountSID: sid, AuthToken: token, From: from,
		BaseURL: srv.URL, Timeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	_, retry, err := nf.Notify(ctx, notifytest.Sample)
	if !errors.Is(err, context.DeadlineExceeded) || !retry {
		t.Errorf("Notify = retry %v, %v; want a retryable deadline error", retry, err)
	}
	if ctx.Err() != nil {
		t.Error("Options.Timeout did not bound the call")
	}
}

func TestNew(t *testing.T) {
	valid := twilio.Options{AccountSID: sid, AuthToken: token, From: from}
	tests := []struct {
		name    string
		edit    func(*twilio.Options)
		wantErr string // substring; "" means valid
	}{
		{name: "valid", edit: func(*twilio.Options) {}},
		{name: "missing AccountSID", edit: func(o *twilio.Options) { o.AccountSID = "" }, wantErr: "AccountSID is required"},
		{name: "malformed AccountSID", edit: func(o *twilio.Options) { o.AccountSID = "SK123" }, wantErr: "AccountSID must be"},
		{name: "missing AuthToken", edit: func(o *twilio.Options) { o.AuthToken = "" }, wantErr: "AuthToken is required"},
		{name: "AuthToken with symbols", edit: func(o *twilio.Options) { o.AuthToken = "sec/ret:" + token }, wantErr: "AuthToken must be"},
		{name: "missing From", edit: func(o *twilio.Options) { o.From = "" }, wantErr: "From is required"},
		{name: "negative Timeout", edit: func(o *twilio.Options) { o.Timeout = -time.Second }, wantErr: "Timeout"},
		{name: "BaseURL not absolute", edit: func(o *twilio.Options) { o.BaseURL = "api.twilio.com" }, wantErr: "BaseURL"},
		{name: "BaseURL with path", edit: func(o *twilio.Options) { o.BaseURL = "http://127.0.0.1:9/api" }, wantErr: "BaseURL"},
		{name: "BaseURL with ftp scheme", edit: func(o *twilio.Options) { o.BaseURL = "ftp://x" }, wantErr: "BaseURL"},
		{name: "StatusCallbackURL relative", edit: func(o *twilio.Options) { o.StatusCallbackURL = "/twilio/status" }, wantErr: "StatusCallbackURL"},
		{name: "BaseURL with trailing slash", edit: func(o *twilio.Options) { o.BaseURL = "http://127.0.0.1:9/" }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := valid
			tc.edit(&o)
			_, err := twilio.New(o)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("New error %v, want one containing %q", err, tc.wantErr)
			}
			notifytest.NoSecrets(t, err.Error(), token)
		})
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) {
	defer io.Copy(io.Discard, r.Body)
	return f(r)
}
