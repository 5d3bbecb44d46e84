package api

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"carebed/alerting"
	"carebed/alerting/notify/twilio"
	"carebed/alerting/sqlite"
)

// The tests' site: one home with a family member, a visitor and the village doctor,
// each with a phone and a responder-app id.
var (
	t0     = time.Date(2026, 11, 29, 3, 0, 0, 0, time.UTC)
	home   = alerting.Place{County: "和静县", Township: "巴伦台镇", Village: "巴伦台村", Home: "H-0001"}
	people = []alerting.Person{
		{ID: "home/H-0001/1", Role: alerting.ReceiverFamily, Phone: "+8613800000001", Responder: "r-family"},
		{ID: "home/H-0001/2", Role: alerting.ReceiverVillageVisitor, Phone: "+8613800000002", Responder: "r-visitor"},
		{ID: "home/H-0001/3", Role: alerting.ReceiverVillageDoctor, Phone: "+8613800000003", Responder: "r-doctor"},
		{ID: "clinic/和静县/巴伦台镇", Role: alerting.ReceiverTownshipClinic, Phone: "+8613800000004", Responder: "r-clinic"},
		{ID: "county/0", Role: alerting.ReceiverCountyCentre, Phone: "+8613800000005", Responder: "r-county"},
	}
)

const (
	twilioToken = "test-auth-token"
	publicURL   = "https://carebed.example.cn"
)

// testDirectory finds the people above.
type testDirectory struct{}

func (testDirectory) People(context.Context, alerting.Place, alerting.Receiver) ([]alerting.Person, error) {
	return people, nil
}

func (testDirectory) Person(_ context.Context, id string) (alerting.Person, bool, error) {
	for _, p := range people {
		if p.ID == id {
			return p, true, nil
		}
	}
	return alerting.Person{}, false, nil
}

func (testDirectory) PeopleByPhone(_ context.Context, phone string) ([]alerting.Person, error) {
	var out []alerting.Person
	for _, p := range people {
		if p.Phone == phone {
			out = append(out, p)
		}
	}
	return out, nil
}

func (testDirectory) PeopleByResponder(_ context.Context, r string) ([]alerting.Person, error) {
	var out []alerting.Person
	for _, p := range people {
		if p.Responder == r {
			out = append(out, p)
		}
	}
	return out, nil
}

func (testDirectory) Elder(context.Context, alerting.Place) (string, error) { return "", nil }

// storeEscalation acknowledges in the store, as the escalation does.
type storeEscalation struct {
	st  *sqlite.Store
	now func() time.Time
}

func (e storeEscalation) Ack(ctx context.Context, id int64, p alerting.Person, channel string) (alerting.Alert, error) {
	return e.st.Ack(ctx, id, p.ID, channel, e.now())
}

func (storeEscalation) Delivery(context.Context, string, string, string) error { return nil }

func (storeEscalation) HandedOver(context.Context, alerting.Alert, alerting.Person, alerting.Person) error {
	return nil
}

// site is an API over a real alert store.
type site struct {
	path string
	st   *sqlite.Store
	api  *API
	now  time.Time
}

func newSite(t *testing.T) *site {
	t.Helper()
	s := &site{path: filepath.Join(t.TempDir(), "alerts.db"), now: t0}
	s.reopen(t)
	return s
}

// reopen opens the store again (a restart of the gateway).
func (s *site) reopen(t *testing.T) {
	t.Helper()
	if s.st != nil {
		s.st.Close()
	}
	st, err := sqlite.Open(s.path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	now := func() time.Time { return s.now }
	s.st = st
	s.api = New(Options{Store: st, Escalation: storeEscalation{st, now}, Directory: testDirectory{},
		TwilioToken: twilioToken, PublicURL: publicURL, Now: now})
}

// raise opens an alert of kind at the home and pages everyone about it.
func (s *site) raise(t *testing.T, kind alerting.Kind) alerting.Alert {
	t.Helper()
	ctx := context.Background()
	s.now = s.now.Add(time.Minute)
	a, _, err := s.st.Raise(ctx, alerting.Raise{Kind: kind, Sev: alerting.Critical, Place: home, Device: "hj-0001-x",
		EventAt: s.now, Now: s.now})
	if err != nil {
		t.Fatal(err)
	}
	var atts []alerting.Attempt
	for _, p := range people {
		atts = append(atts, alerting.Attempt{AlertID: a.ID, PersonID: p.ID, Channel: "sms", Purpose: "page", Status: "sent"})
	}
	if _, err := s.st.AddAttempts(ctx, a.ID, s.now, atts); err != nil {
		t.Fatal(err)
	}
	return a
}

func (s *site) alert(t *testing.T, id int64) alerting.Alert {
	t.Helper()
	a, err := s.st.Alert(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// smsForm is Twilio's incoming-message webhook for an SMS from to the gateway.
func smsForm(sid, from, body string) url.Values {
	return url.Values{"AccountSid": {"AC0123"}, "ApiVersion": {"2010-04-01"}, "MessageSid": {sid}, "SmsSid": {sid},
		"SmsMessageSid": {sid}, "SmsStatus": {"received"}, "From": {from}, "To": {"+8610000000000"}, "Body": {body},
		"NumMedia": {"0"}, "NumSegments": {"1"}}
}

// postSMS posts form to the SMS webhook, signed with the account's token as Twilio
// signs it, and returns the status and the TwiML answer.
func (s *site) postSMS(t *testing.T, form url.Values) (int, string) {
	t.Helper()
	target := publicURL + "/webhooks/twilio/sms"
	r := httptest.NewRequest(http.MethodPost, target, strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set(twilio.SignatureHeader, twilio.Sign(target, twilioToken, form))
	w := httptest.NewRecorder()
	mux := http.NewServeMux()
	s.api.Register(mux)
	mux.ServeHTTP(w, r)
	return w.Code, w.Body.String()
}
