package api

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"carebed/alerting"
)

// testAuth takes the caller from the test's header X-Test-Caller.
type testAuth map[string]Caller

func (a testAuth) Authenticate(r *http.Request) (Caller, error) {
	c, ok := a[r.Header.Get("X-Test-Caller")]
	if !ok {
		return c, ErrUnauthenticated
	}
	return c, nil
}

// callers are API users of the home's county, one per role, as gateway/auth makes
// them.
var callers = testAuth{
	"county_admin":   {ID: "user/admin", Role: "county_admin", Area: alerting.Place{County: home.County}, Acts: alerting.ReceiverCountyCentre},
	"township_duty":  {ID: "user/duty", Role: "township_duty", Area: alerting.Place{County: home.County, Township: home.Township}, Acts: alerting.ReceiverTownshipClinic},
	"village_doctor": {ID: "user/doc", Role: "village_doctor", Area: alerting.Place{County: home.County, Township: home.Township, Village: home.Village}, Acts: alerting.ReceiverVillageDoctor},
	"visitor":        {ID: "user/visit", Role: "visitor", Area: alerting.Place{County: home.County, Township: home.Township, Village: home.Village}, Acts: alerting.ReceiverVillageVisitor},
}

// CallerByName finds the caller user/name.
func (a testAuth) CallerByName(_ context.Context, name string) (Caller, bool, error) {
	for _, c := range a {
		if c.ID == "user/"+name {
			return c, true, nil
		}
	}
	return Caller{}, false, nil
}

// withMetrics gives the site's API a registry, returned.
func (s *site) withMetrics(t *testing.T) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	o := s.api.o
	o.Registerer, o.Auth, o.Users = reg, callers, callers
	s.api = New(o)
	return reg
}

func (s *site) call(t *testing.T, method, path, caller, body string) (int, string) {
	t.Helper()
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	r.Header.Set("X-Test-Caller", caller)
	w := httptest.NewRecorder()
	mux := http.NewServeMux()
	s.api.Register(mux)
	mux.ServeHTTP(w, r)
	return w.Code, w.Body.String()
}

// TestWhoMayDoWhatOnEveryChannel: the same rule (alerting.Permit) on every channel
// that acts on alerts: a refused action changes nothing, answers clearly, is in
// the audit trail and is counted.
func TestWhoMayDoWhatOnEveryChannel(t *testing.T) {
	ctx := context.Background()
	mayClose := map[string]bool{"family": false, "village_visitor": false, "village_doctor": true,
		"township_clinic": true, "county_centre": true, "visitor": false, "county_admin": true, "township_duty": true}
	type tc struct {
		channel, who string
		action       alerting.Action
		allowed      bool
	}
	var cases []tc
	for _, p := range people {
		role := string(p.Role)
		cases = append(cases,
			tc{"mqtt", role, alerting.ActionAck, true},
			tc{"mqtt", role, alerting.ActionResolve, mayClose[role]},
			tc{"sms", role, alerting.ActionAck, true},
			tc{"sms", role, alerting.ActionResolve, false}) // an SMS reply never closes
	}
	for role := range callers {
		for _, ch := range []string{"api", "console"} {
			cases = append(cases,
				tc{ch, role, alerting.ActionAck, true},
				tc{ch, role, alerting.ActionResolve, mayClose[role]},
				tc{ch, role, alerting.ActionHandOver, true})
		}
	}
	for _, c := range cases {
		t.Run(c.channel+"/"+c.who+"/"+string(c.action), func(t *testing.T) {
			s := newSite(t)
			reg := s.withMetrics(t)
			al := s.raise(t, alerting.KindGas)
			if c.action == alerting.ActionHandOver { // one hands over what was taken
				if _, err := s.st.Ack(ctx, al.ID, "user/other", "api", s.now); err != nil {
					t.Fatal(err)
				}
			}
			before := s.alert(t, al.ID)
			var refused bool // the channel's own answer said no
			switch c.channel {
			case "mqtt":
				p := person(c.who)
				body := `{"v":1,"alert":"` + al.Code + `","action":"ack"}`
				if c.action == alerting.ActionResolve {
					body = `{"v":1,"alert":"` + al.Code + `","action":"resolve","outcome":"false_alarm"}`
				}
				_, err := s.api.Responder(ctx, p.Responder, []byte(body))
				refused = errors.Is(err, alerting.ErrNotPermitted)
				if err != nil && !refused {
					t.Fatal(err)
				}
			case "sms":
				p := person(c.who)
				body := al.Code
				if c.action == alerting.ActionResolve {
					body = al.Code + " false_alarm"
				}
				_, answer := s.postSMS(t, smsForm("SM"+strconv.FormatInt(al.ID, 10)+c.who+string(c.action), p.Phone, body))
				refused = !strings.Contains(answer, "已确认")
			case "api":
				path := "/api/v1/alerts/" + strconv.FormatInt(al.ID, 10) + "/" + string(c.action)
				body := map[alerting.Action]string{alerting.ActionAck: ``,
					alerting.ActionResolve:  `{"outcome":"false_alarm","note":"误报"}`,
					alerting.ActionHandOver: `{"to":"duty"}`}[c.action]
				code, answer := s.call(t, http.MethodPost, path, c.who, body)
				refused = code == http.StatusForbidden
				if code != http.StatusForbidden && code != http.StatusOK && code != http.StatusBadRequest {
					t.Fatalf("%s answered %d %s", path, code, answer)
				}
			case "console": // the console calls the same operations
				var err error
				switch c.action {
				case alerting.ActionAck:
					_, err = s.api.AckAs(ctx, callers[c.who], al.ID, "console")
				case alerting.ActionResolve:
					_, err = s.api.ResolveAs(ctx, callers[c.who], al.ID, alerting.OutcomeFalseAlarm, "", "console")
				case alerting.ActionHandOver:
					_, err = s.api.HandOverAs(ctx, callers[c.who], al.ID, "doc", "console")
				}
				refused = errors.Is(err, ErrForbidden)
			}
			after := s.alert(t, al.ID)
			if refused == c.allowed {
				t.Fatalf("refused = %v, want allowed = %v (alert %s)", refused, c.allowed, after.State)
			}
			counted := testutil.ToFloat64(s.api.refusals.WithLabelValues(c.channel, string(c.action), "role"))
			if c.allowed {
				if c.action == alerting.ActionResolve && after.State != alerting.StateResolved {
					t.Errorf("allowed resolve left the alert %s", after.State)
				}
				if counted != 0 {
					t.Errorf("an allowed action counted as refused")
				}
				return
			}
			if after.State != before.State {
				t.Errorf("refused %s changed the alert from %s to %s", c.action, before.State, after.State)
			}
			if c.channel == "sms" { // nothing to refuse: an SMS cannot ask to close
				return
			}
			if counted != 1 {
				t.Errorf("carebed_alert_actions_refused_total{channel=%s,action=%s,reason=role} = %v, want 1", c.channel, c.action, counted)
			}
			trail, err := s.st.Audit(ctx, al.ID)
			if err != nil {
				t.Fatal(err)
			}
			last := trail[len(trail)-1]
			if last.What != "ack_refused" || last.Channel != c.channel || !strings.HasPrefix(last.Detail, string(c.action)+": ") {
				t.Errorf("audit ends with %+v, want the refused %s over %s", last, c.action, c.channel)
			}
			_ = reg
		})
	}
}

func person(role string) alerting.Person {
	for _, p := range people {
		if string(p.Role) == role {
			return p
		}
	}
	panic("no " + role)
}

// The documented bodies of ack and resolve (docs/alerting.md) are what the API takes.
func TestDocumentedActionBodies(t *testing.T) {
	s := newSite(t)
	s.withMetrics(t)
	al := s.raise(t, alerting.KindSOS)
	id := strconv.FormatInt(al.ID, 10)
	if code, body := s.call(t, http.MethodPost, "/api/v1/alerts/"+id+"/ack", "township_duty", `{"by":"user/duty"}`); code != http.StatusBadRequest || !strings.Contains(body, `unknown field \"by\"`) {
		t.Errorf("ack with a by field: %d %s, want 400 (the caller is the signed-in user)", code, body)
	}
	for _, body := range []string{``, `{}`} {
		al := s.raise(t, alerting.KindSmoke)
		path := "/api/v1/alerts/" + strconv.FormatInt(al.ID, 10) + "/ack"
		if code, answer := s.call(t, http.MethodPost, path, "township_duty", body); code != http.StatusOK || !strings.Contains(answer, `"acknowledged_by":"user/duty"`) {
			t.Errorf("ack with body %q: %d %s", body, code, answer)
		}
		if _, err := s.st.Resolve(context.Background(), al.ID, "x", "api", alerting.OutcomeFalseAlarm, "", s.now); err != nil {
			t.Fatal(err)
		}
	}
	code, answer := s.call(t, http.MethodPost, "/api/v1/alerts/"+id+"/resolve", "township_duty", `{"outcome":"handled_at_home","note":"血压正常"}`)
	if code != http.StatusOK || !strings.Contains(answer, `"outcome":"handled_at_home"`) {
		t.Errorf("documented resolve: %d %s", code, answer)
	}
}
