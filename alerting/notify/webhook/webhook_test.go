package webhook_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"carebed/alerting/notify"
	"carebed/alerting/notify/notifytest"
	"carebed/alerting/notify/webhook"
)

const (
	secret   = "s3cret-shared-with-the-clinic"
	queryKey = "clinicApiKey0123456789"
)

func newNotifier(t *testing.T, u string) *webhook.Notifier {
	t.Helper()
	nf, err := webhook.New(webhook.Options{URL: u, Secret: secret, Timeout: 5 * time.Second,
		Now: func() time.Time { return time.UnixMilli(1760000000123) }})
	if err != nil {
		t.Fatal(err)
	}
	return nf
}

func TestConformance(t *testing.T) {
	notifytest.Conformance(t, func(srvURL string) notify.Notifier {
		return newNotifier(t, srvURL+"/carebed/alerts?key="+queryKey)
	}, notifytest.Options{Secrets: []string{secret, queryKey}})
}

// received is what the test receiver saw.
type received struct {
	header http.Header
	body   []byte
}

func TestNotify(t *testing.T) {
	tests := []struct {
		name      string
		status    int
		requestID string
		wantErr   bool
		wantRetry bool
	}{
		{name: "200 with request id", status: 200, requestID: "req-77"},
		{name: "204 no content", status: 204},
		{name: "302 redirect is not followed", status: 302, wantErr: true},
		{name: "408 request timeout", status: 408, wantErr: true, wantRetry: true},
		{name: "422 rejected", status: 422, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := make(chan received, 1)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				got <- received{r.Header, b}
				if tc.requestID != "" {
					w.Header().Set("X-Request-Id", tc.requestID)
				}
				if tc.status == 302 {
					w.Header().Set("Location", "/elsewhere")
				}
				w.WriteHeader(tc.status)
			}))
			defer srv.Close()
			n := notifytest.Sample
			r, retry, err := newNotifier(t, srv.URL).Notify(t.Context(), n)
			if (err != nil) != tc.wantErr || retry != tc.wantRetry {
				t.Fatalf("Notify = %+v, retry %v, %v; want error %v, retry %v", r, retry, err, tc.wantErr, tc.wantRetry)
			}
			var se *webhook.StatusError
			if err != nil && (!errors.As(err, &se) || se.Status != tc.status) {
				t.Errorf("error %v, want StatusError %d", err, tc.status)
			}
			if err == nil && (r.ProviderID != tc.requestID || r.Status != webhook.StatusAccepted) {
				t.Errorf("receipt %+v", r)
			}
			req := <-got
			checkRequest(t, req, n)
		})
	}
}

// checkRequest checks the body, its signature, and that no personal data but
// the text was sent.
func checkRequest(t *testing.T, req received, n notify.Notification) {
	t.Helper()
	if !webhook.Verify(secret, req.body, req.header.Get(webhook.SignatureHeader)) {
		t.Errorf("signature %q does not verify", req.header.Get(webhook.SignatureHeader))
	}
	if ct := req.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type %q", ct)
	}
	var p webhook.Payload
	if err := json.Unmarshal(req.body, &p); err != nil {
		t.Fatal(err)
	}
	want := webhook.Payload{V: 1, AlertID: n.AlertID, Alert: n.AlertCode, Kind: n.Kind, Sev: n.Sev,
		Purpose: n.Purpose, To: webhook.Recipient{ID: n.To.ID, Role: n.To.Role}, Text: n.Text, TS: 1760000000123}
	if p != want {
		t.Errorf("payload %+v, want %+v", p, want)
	}
	notifytest.NoSecrets(t, string(req.body), n.To.Phone, n.To.Name)
}

func TestSignAndVerify(t *testing.T) {
	// RFC 4231, test case 2.
	if got := webhook.Sign("Jefe", []byte("what do ya want for nothing?")); got != "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843" {
		t.Errorf("Sign(RFC 4231 case 2) = %s", got)
	}
	body := []byte(`{"v":1,"alert":"K7M2","text":"跌倒报警"}`)
	good := webhook.Sign(secret, body)
	tests := []struct {
		name   string
		secret string
		body   []byte
		sig    string
		want   bool
	}{
		{"valid", secret, body, good, true},
		{"body changed", secret, []byte(`{"v":1,"alert":"K7M3","text":"跌倒报警"}`), good, false},
		{"other secret", "another-secret-of-16+", body, good, false},
		{"no prefix", secret, body, strings.TrimPrefix(good, "sha256="), false},
		{"sha1 prefix", secret, body, "sha1=" + strings.TrimPrefix(good, "sha256="), false},
		{"not hex", secret, body, "sha256=zz", false},
		{"empty", secret, body, "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := webhook.Verify(tc.secret, tc.body, tc.sig); got != tc.want {
				t.Errorf("Verify = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestNew(t *testing.T) {
	tests := []struct {
		name    string
		o       webhook.Options
		wantErr string
	}{
		{name: "valid", o: webhook.Options{URL: "https://his.example.cn/carebed", Secret: secret}},
		{name: "no URL", o: webhook.Options{Secret: secret}, wantErr: "URL is required"},
		{name: "relative URL", o: webhook.Options{URL: "/hook", Secret: secret}, wantErr: "URL must be"},
		{name: "ftp URL", o: webhook.Options{URL: "ftp://his.example.cn/x?key=" + queryKey, Secret: secret}, wantErr: "URL must be"},
		{name: "no secret", o: webhook.Options{URL: "https://his.example.cn/"}, wantErr: "Secret is required"},
		{name: "short secret", o: webhook.Options{URL: "https://his.example.cn/", Secret: "short"}, wantErr: "Secret must be at least"},
		{name: "negative timeout", o: webhook.Options{URL: "https://his.example.cn/", Secret: secret, Timeout: -1}, wantErr: "Timeout"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := webhook.New(tc.o)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("New error %v, want %q", err, tc.wantErr)
			}
			notifytest.NoSecrets(t, err.Error(), secret, "short", queryKey)
		})
	}
}
