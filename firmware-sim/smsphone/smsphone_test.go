package smsphone

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twilio/twilio-go/client"
)

const token = "test-twilio-token"

var at = time.Date(2026, 7, 20, 8, 0, 0, 0, time.UTC)

// gateway is an httptest server standing in for the gateway's webhook: it checks
// X-Twilio-Signature with twilio-go's RequestValidator for the URL Twilio calls,
// answers 403 when it does not match, and records the forms it took.
type gateway struct {
	srv   *httptest.Server
	token string
	mu    sync.Mutex
	forms []map[string]string
}

func startGateway(t *testing.T, token string) *gateway {
	g := &gateway{token: token}
	g.srv = httptest.NewServer(http.HandlerFunc(g.serve))
	t.Cleanup(g.srv.Close)
	return g
}

func (g *gateway) url() string { return g.srv.URL + "/webhooks/twilio/sms" }

func (g *gateway) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/webhooks/twilio/sms" || r.ParseForm() != nil {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	params := map[string]string{}
	for k, vs := range r.PostForm {
		if len(vs) != 1 {
			http.Error(w, "repeated "+k, http.StatusBadRequest)
			return
		}
		params[k] = vs[0]
	}
	v := client.NewRequestValidator(g.token)
	if !v.Validate(g.url(), params, r.Header.Get("X-Twilio-Signature")) {
		http.Error(w, "bad signature", http.StatusForbidden)
		return
	}
	g.mu.Lock()
	g.forms = append(g.forms, params)
	g.mu.Unlock()
	w.Header().Set("Content-Type", "text/xml")
	_, _ = w.Write([]byte(`<?xml version="1.0" encoding="UTF-8"?><Response/>`))
}

func TestSendIsSignedAsTwilioSigns(t *testing.T) {
	g := startGateway(t, token)
	p, err := New("hb-0001-phone", "H-0021", "138 0000 0021", Webhook{URL: g.url(), AuthToken: token, To: "+8613900000000"}, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	bodies := []string{"SOS 42.87,83.71", "救命", "1", "sos  43.0 , 84.1 ", "Body with & and = and +"}
	for i, body := range bodies {
		s, err := p.Send(context.Background(), at, body)
		if err != nil || s.Status != http.StatusOK {
			t.Fatalf("send %q: %+v %v", body, s, err)
		}
		f := g.forms[i]
		if f["From"] != "+8613800000021" || f["To"] != "+8613900000000" || f["Body"] != body ||
			f["MessageSid"] != s.MessageSID || !strings.HasPrefix(s.MessageSID, "SM") || len(s.MessageSID) != 34 {
			t.Errorf("the gateway got %v for %q (sid %s)", f, body, s.MessageSID)
		}
	}
	if len(p.Sent()) != len(bodies) {
		t.Errorf("%d sent recorded", len(p.Sent()))
	}
	q, _ := New("hb-0001-phone", "H-0021", "13800000021", Webhook{URL: g.url(), AuthToken: token}, 1, nil)
	s, _ := q.Send(context.Background(), at, "救命")
	if s.MessageSID != p.Sent()[0].MessageSID || g.forms[len(g.forms)-1]["To"] != DefaultTo {
		t.Errorf("the same seed gave message id %s, then %s; To %s", p.Sent()[0].MessageSID, s.MessageSID, g.forms[len(g.forms)-1]["To"])
	}
}

func TestSendRefused(t *testing.T) {
	g := startGateway(t, "the-gateways-token")
	cases := []struct {
		name string
		hook Webhook
		want string
	}{
		{"another account's token", Webhook{URL: g.url(), AuthToken: token}, "403"},
		{"signed for another URL", Webhook{URL: g.srv.URL + "/webhooks/twilio/sms?x=1", AuthToken: "the-gateways-token"}, "403"},
		{"no token", Webhook{URL: g.url()}, "auth token"},
		{"no URL", Webhook{AuthToken: token}, "webhook URL"},
		{"not http", Webhook{URL: "ftp://x/y", AuthToken: token}, "not http"},
		{"nobody listening", Webhook{URL: "http://127.0.0.1:1/webhooks/twilio/sms", AuthToken: token}, "connect"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := New("hb-0001-phone", "H-0021", "13800000021", c.hook, 1, nil)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := p.Send(context.Background(), at, "救命"); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want one saying %q", err, c.want)
			}
		})
	}
	if len(g.forms) != 0 {
		t.Errorf("the gateway took %v", g.forms)
	}
}

func TestE164(t *testing.T) {
	cases := []struct{ in, want string }{
		{"13800000021", "+8613800000021"},
		{"+8613800000021", "+8613800000021"},
		{"8613800000021", "+8613800000021"},
		{" 138-0000-0021 ", "+8613800000021"},
		{"+14155550100", "+14155550100"},
		{"0996-1234567", ""},
		{"", ""},
		{"1380000002", ""},
	}
	for _, c := range cases {
		got, err := E164(c.in)
		if got != c.want || (err != nil) != (c.want == "") {
			t.Errorf("E164(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
}

// FuzzE164: whatever a ledger's device_phone holds, E164 gives an E.164 number or
// an error.
func FuzzE164(f *testing.F) {
	for _, s := range []string{"13800000021", "+86 138-0000-0021", "+14155550100", "０１", "+", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := E164(s)
		if err == nil && !e164.MatchString(n) {
			t.Fatalf("E164(%q) = %q", s, n)
		}
	})
}
