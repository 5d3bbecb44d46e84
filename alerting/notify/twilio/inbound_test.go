package twilio_test

import (
	"cmp"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/twilio/twilio-go/client"

	"carebed/alerting/notify"
	"carebed/alerting/notify/notifytest"
	"carebed/alerting/notify/twilio"
	"carebed/alerting/notify/twilio/twiliotest"
)

const publicURL = "https://gw.example.cn/twilio/sms?county=hejing"

func replyForm() url.Values {
	return url.Values{"MessageSid": {"SM0123456789abcdef0123456789abcdef"}, "AccountSid": {sid},
		"From": {"+8613912345678"}, "To": {from}, "Body": {" 1 "}, "NumMedia": {"0"}}
}

// TestSignMatchesTwilioValidator checks Sign against Twilio's published vector and
// against twilio-go's validator.
func TestSignMatchesTwilioValidator(t *testing.T) {
	vector := url.Values{"Digits": {"1234"}, "CallSid": {"CA1234567890ABCDE"}, "To": {"+18005551212"},
		"Caller": {"+14158675309"}, "From": {"+14158675309"}, "ReasonConferenceEnded": {"test"},
		"Reason": {"Participant"}}
	if got := twilio.Sign("https://mycompany.com/myapp.php?foo=1&bar=2", "12345", vector); got != "vOEb5UThFn24KEfnOFLQY2AE5FY=" {
		t.Errorf("Sign(twilio-go's test vector) = %q", got)
	}
	tests := []struct {
		name string
		url  string
		form url.Values
	}{
		{"sms reply", publicURL, replyForm()},
		{"chinese body", "https://gw.example.cn/twilio/sms", url.Values{"Body": {"收到，马上去"}, "From": {"+8613800000000"}}},
		{"empty form", "https://gw.example.cn/hook", url.Values{}},
		{"keys sorted case-sensitively", "https://x.cn/", url.Values{"b": {"1"}, "B": {"2"}, "a": {"3"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			params := map[string]string{}
			for k := range tc.form {
				params[k] = tc.form.Get(k)
			}
			v := client.NewRequestValidator(token)
			if !v.Validate(tc.url, params, twilio.Sign(tc.url, token, tc.form)) {
				t.Error("twilio-go rejects Sign's signature")
			}
			if v.Validate(tc.url, params, twilio.Sign(tc.url, "other"+token, tc.form)) {
				t.Error("twilio-go accepts a signature made with another token")
			}
		})
	}
}

func TestVerifyRequest(t *testing.T) {
	good := replyForm()
	tests := []struct {
		name    string
		method  string
		form    url.Values // posted
		sig     string     // X-Twilio-Signature; "-" for none
		wantErr error      // nil: valid; ErrBadSignature or errAny
	}{
		{name: "valid", form: good, sig: twilio.Sign(publicURL, token, good)},
		{name: "forged with another token", form: good, sig: twilio.Sign(publicURL, "forged", good), wantErr: twilio.ErrBadSignature},
		{name: "signed for the internal URL", form: good, sig: twilio.Sign("http://10.0.0.5:8080/twilio/sms", token, good), wantErr: twilio.ErrBadSignature},
		{name: "body changed after signing", form: with(good, "Body", "2"), sig: twilio.Sign(publicURL, token, good), wantErr: twilio.ErrBadSignature},
		{name: "parameter added after signing", form: with(good, "Extra", "x"), sig: twilio.Sign(publicURL, token, good), wantErr: twilio.ErrBadSignature},
		{name: "no signature", form: good, sig: "-", wantErr: twilio.ErrBadSignature},
		{name: "repeated parameter", form: repeated(good, "Body", "2"), sig: twilio.Sign(publicURL, token, good), wantErr: twilio.ErrBadSignature},
		{name: "GET", method: http.MethodGet, form: good, sig: twilio.Sign(publicURL, token, good), wantErr: errAny},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(cmp.Or(tc.method, http.MethodPost), "http://10.0.0.5:8080/twilio/sms", strings.NewReader(tc.form.Encode()))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if tc.sig != "-" {
				r.Header.Set(twilio.SignatureHeader, tc.sig)
			}
			got, err := twilio.VerifyRequest(r, publicURL, token)
			switch {
			case tc.wantErr == nil && err != nil:
				t.Fatalf("VerifyRequest: %v", err)
			case tc.wantErr == nil && got.Encode() != good.Encode():
				t.Errorf("form = %v, want %v", got, good)
			case tc.wantErr == errAny && err == nil:
				t.Error("VerifyRequest accepted the request")
			case tc.wantErr != nil && tc.wantErr != errAny && !errors.Is(err, tc.wantErr):
				t.Errorf("VerifyRequest error %v, want %v", err, tc.wantErr)
			}
		})
	}
}

var errAny = errors.New("any error")

func with(v url.Values, k, val string) url.Values {
	out := url.Values{}
	for key, vs := range v {
		out[key] = append([]string(nil), vs...)
	}
	out.Set(k, val)
	return out
}

func repeated(v url.Values, k, val string) url.Values {
	out := with(v, k, v.Get(k))
	out.Add(k, val)
	return out
}

func TestParseInbound(t *testing.T) {
	tests := []struct {
		name    string
		form    url.Values
		want    twilio.Inbound
		wantErr string
	}{
		{name: "reply", form: replyForm(), want: twilio.Inbound{From: "+8613912345678", Body: " 1 ", MessageSID: "SM0123456789abcdef0123456789abcdef"}},
		{name: "legacy SmsSid", form: url.Values{"SmsSid": {"SM1"}, "From": {"+86139"}, "Body": {"K7M2"}}, want: twilio.Inbound{From: "+86139", Body: "K7M2", MessageSID: "SM1"}},
		{name: "media only, empty body", form: url.Values{"MessageSid": {"MM1"}, "From": {"+86139"}}, want: twilio.Inbound{From: "+86139", MessageSID: "MM1"}},
		{name: "no sid", form: url.Values{"From": {"+86139"}, "Body": {"1"}}, wantErr: "MessageSid is missing"},
		{name: "no sender", form: url.Values{"MessageSid": {"SM1"}, "Body": {"1"}}, wantErr: "From is missing"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := twilio.ParseInbound(tc.form)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("ParseInbound error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("ParseInbound = %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

func TestParseStatus(t *testing.T) {
	tests := []struct {
		name              string
		form              url.Values
		want              twilio.StatusCallback
		delivered, failed bool
		wantErr           string
	}{
		{name: "queued", form: url.Values{"MessageSid": {"SM1"}, "MessageStatus": {"queued"}},
			want: twilio.StatusCallback{MessageSID: "SM1", Status: "queued"}},
		{name: "sending", form: url.Values{"MessageSid": {"SM1"}, "MessageStatus": {"sending"}},
			want: twilio.StatusCallback{MessageSID: "SM1", Status: "sending"}},
		{name: "sent", form: url.Values{"MessageSid": {"SM1"}, "MessageStatus": {"sent"}},
			want: twilio.StatusCallback{MessageSID: "SM1", Status: "sent"}},
		{name: "delivered", form: url.Values{"MessageSid": {"SM1"}, "MessageStatus": {"delivered"}},
			want: twilio.StatusCallback{MessageSID: "SM1", Status: "delivered"}, delivered: true},
		{name: "undelivered with code", form: url.Values{"MessageSid": {"SM1"}, "MessageStatus": {"undelivered"}, "ErrorCode": {"30003"}},
			want: twilio.StatusCallback{MessageSID: "SM1", Status: "undelivered", ErrorCode: "30003"}, failed: true},
		{name: "failed", form: url.Values{"MessageSid": {"SM1"}, "MessageStatus": {"failed"}, "ErrorCode": {"30006"}},
			want: twilio.StatusCallback{MessageSID: "SM1", Status: "failed", ErrorCode: "30006"}, failed: true},
		{name: "legacy SmsSid and SmsStatus", form: url.Values{"SmsSid": {"SM2"}, "SmsStatus": {"delivered"}},
			want: twilio.StatusCallback{MessageSID: "SM2", Status: "delivered"}, delivered: true},
		{name: "unknown status", form: url.Values{"MessageSid": {"SM1"}, "MessageStatus": {"exploded"}}, wantErr: "unknown MessageStatus"},
		{name: "no status", form: url.Values{"MessageSid": {"SM1"}}, wantErr: "MessageStatus is missing"},
		{name: "no sid", form: url.Values{"MessageStatus": {"sent"}}, wantErr: "MessageSid is missing"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := twilio.ParseStatus(tc.form)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("ParseStatus error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("ParseStatus = %+v, %v; want %+v", got, err, tc.want)
			}
			if got.Delivered() != tc.delivered || got.Failed() != tc.failed {
				t.Errorf("Delivered %v Failed %v, want %v %v", got.Delivered(), got.Failed(), tc.delivered, tc.failed)
			}
		})
	}
}

// TestCallbacksFromTheFake sends a message through the fake API, then has it post
// a signed status callback and an SMS reply to a gateway-like handler that uses
// VerifyRequest with its public URL.
func TestCallbacksFromTheFake(t *testing.T) {
	type got struct {
		status  twilio.StatusCallback
		inbound twilio.Inbound
	}
	results := make(chan got, 2)
	mux := http.NewServeMux()
	var gw *httptest.Server
	mux.HandleFunc("POST /twilio/status", func(w http.ResponseWriter, r *http.Request) {
		form, err := twilio.VerifyRequest(r, gw.URL+"/twilio/status", token)
		if err != nil {
			http.Error(w, "forbidden", http.StatusForbidden)
			return
		}
		s, err := twilio.ParseStatus(form)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		results <- got{status: s}
	})
	mux.HandleFunc("POST /twilio/sms", func(w http.ResponseWriter, r *http.Request) {
		form, err := twilio.VerifyRequest(r, gw.URL+"/twilio/sms", token)
		if err != nil {
			http.Error(w, "forbidden", http.StatusForbidden)
			return
		}
		in, err := twilio.ParseInbound(form)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		results <- got{inbound: in}
	})
	gw = httptest.NewServer(mux)
	defer gw.Close()

	api := twiliotest.NewAPI(sid, token)
	nf, err := twilio.New(twilio.Options{AccountSID: sid, AuthToken: token, From: from,
		BaseURL: twiliotest.Serve(t, api), StatusCallbackURL: gw.URL + "/twilio/status"})
	if err != nil {
		t.Fatal(err)
	}
	r, _, err := nf.Notify(t.Context(), replyNotification())
	if err != nil {
		t.Fatal(err)
	}
	m := api.Messages()[0]
	if err := api.SendStatus(t.Context(), m, twilio.StatusUndelivered, "30003"); err != nil {
		t.Fatal(err)
	}
	if s := (<-results).status; s.MessageSID != r.ProviderID || !s.Failed() || s.ErrorCode != "30003" {
		t.Errorf("status callback %+v for receipt %+v", s, r)
	}
	if err := api.SendSMS(t.Context(), gw.URL+"/twilio/sms", m.To, from, "1 收到"); err != nil {
		t.Fatal(err)
	}
	if in := (<-results).inbound; in.From != m.To || in.Body != "1 收到" {
		t.Errorf("inbound %+v", in)
	}
	// A forged callback (signed with another token) is refused.
	forged := twiliotest.NewAPI(sid, "forged"+token)
	if err := forged.SendStatus(t.Context(), m, twilio.StatusDelivered, ""); err == nil {
		t.Error("a callback signed with another token was accepted")
	}
}

func replyNotification() notify.Notification { return notifytest.Sample }
