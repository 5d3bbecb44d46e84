package api

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"carebed/alerting"
	"carebed/alerting/notify/twilio"
)

// fakeInbound takes the SMS that start with "到"; fail makes it fail once.
type fakeInbound struct {
	got  []string
	fail bool
}

func (f *fakeInbound) HandleSMS(_ context.Context, from, body string) (string, bool, error) {
	if !strings.HasPrefix(body, "到") {
		return "", false, nil
	}
	if f.fail {
		f.fail = false
		return "", true, errors.New("store down")
	}
	f.got = append(f.got, from+" "+body)
	return "已登记", true, nil
}

// The SMS webhook offers Inbound every signed, first-seen message before the alert
// replies: what it takes is answered with its reply, what it leaves still
// acknowledges alerts, a replay reaches it no more, and a failure is retried.
func TestInboundTakesCheckIns(t *testing.T) {
	s := newSite(t)
	in := &fakeInbound{fail: true}
	s.api.o.Inbound = in
	doctor := people[2]
	smoke := s.raise(t, alerting.KindSmoke)

	checkIn := smsForm("SM00000000000000000000000000000011", doctor.Phone, "到 H-0001")
	if code, _ := s.postSMS(t, checkIn); code != http.StatusInternalServerError || len(in.got) != 0 {
		t.Fatalf("a failing check-in answered %d, recorded %v", code, in.got)
	}
	code, body := s.postSMS(t, checkIn) // Twilio's retry
	if code != 200 || !strings.Contains(body, "<Message>已登记</Message>") || len(in.got) != 1 {
		t.Fatalf("check-in: %d %s, recorded %v", code, body, in.got)
	}
	if s.alert(t, smoke.ID).State == alerting.StateAcknowledged {
		t.Error("a check-in acknowledged an alert")
	}
	if code, body = s.postSMS(t, checkIn); code != 200 || strings.Contains(body, "<Message>") || len(in.got) != 1 {
		t.Errorf("replayed check-in: %d %s, recorded %v", code, body, in.got)
	}
	code, body = s.postSMS(t, smsForm("SM00000000000000000000000000000012", doctor.Phone, "1"))
	if code != 200 || !strings.Contains(body, "已确认") || s.alert(t, smoke.ID).State != alerting.StateAcknowledged {
		t.Errorf("an alert reply with Inbound set: %d %s", code, body)
	}
	// A forged signature never reaches Inbound.
	form := smsForm("SM00000000000000000000000000000013", doctor.Phone, "到 H-0002")
	r := httptest.NewRequest(http.MethodPost, publicURL+"/webhooks/twilio/sms", strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set(twilio.SignatureHeader, twilio.Sign(publicURL+"/webhooks/twilio/sms", "wrong-token", form))
	w := httptest.NewRecorder()
	mux := http.NewServeMux()
	s.api.Register(mux)
	mux.ServeHTTP(w, r)
	if w.Code != http.StatusForbidden || len(in.got) != 1 {
		t.Errorf("forged check-in: %d, recorded %v", w.Code, in.got)
	}
}
