package service

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"carebed/gateway/auth"
	"carebed/gateway/protocol"
	"carebed/gateway/registry"
)

// Two townships of one county, one home with an SOS pendant each.
const accessLedger = "county,township,village,home_id,elder_name,address,lat,lon,device_id,device_kind,visitor_name,visitor_phone,doctor_name,doctor_phone,family_phone\n" +
	"和静县,巴伦台镇,巴伦台村,H-A1,老人甲,地址甲,42.74,86.29,sos-a1,sos_pendant,探访员甲,13800000101,村医甲,13800000102,13900000103\n" +
	"和静县,巴润哈尔莫敦镇,查汗赛尔村,H-B1,老人乙,地址乙,42.31,86.39,sos-b1,sos_pendant,探访员乙,13800000201,村医乙,13800000202,13900000203\n"

type accessSite struct {
	e      *env
	base   string
	tokens map[string]string // user name -> API token
	alerts map[string]int64  // township -> its SOS alert's id
}

func newAccessSite(t *testing.T) *accessSite {
	t.Helper()
	e := newEnv(t, true)
	e.importLedger(accessLedger)
	s := &accessSite{e: e, tokens: map[string]string{}, alerts: map[string]int64{}}
	for _, u := range []registry.User{
		{Name: "admin", Display: "和静县管理员", Role: auth.RoleCountyAdmin, County: "和静县"},
		{Name: "admin-other", Display: "和硕县管理员", Role: auth.RoleCountyAdmin, County: "和硕县"},
		{Name: "duty-a", Display: "巴伦台镇卫生院值班", Role: auth.RoleTownshipDuty, County: "和静县", Township: "巴伦台镇"},
		{Name: "duty-b", Display: "巴润哈尔莫敦镇卫生院值班", Role: auth.RoleTownshipDuty, County: "和静县", Township: "巴润哈尔莫敦镇"},
		{Name: "doctor-a", Display: "村医甲", Role: auth.RoleVillageDoctor, County: "和静县", Township: "巴伦台镇",
			Village: "巴伦台村", Phone: "13800000102"},
		{Name: "visitor-a", Display: "探访员甲", Role: auth.RoleVisitor, County: "和静县", Township: "巴伦台镇", Village: "巴伦台村"},
	} {
		s.tokens[u.Name] = e.addUser(u, "duty-password-"+u.Name)
	}
	r := e.start()
	s.base = "http://" + r.g.HTTPAddr()
	broker := "tcp://" + r.g.BrokerAddr()
	for _, dev := range []string{"sos-a1", "sos-b1"} {
		c := publishClient(t, broker, dev)
		publish(t, c, protocol.Prefix+dev+"/event",
			protocol.EncodeEvent(protocol.Event{Seq: 1, TS: time.Now().UnixMilli(), Type: protocol.EventSOS}))
	}
	waitFor(t, 30*time.Second, "both SOS alerts raised", func() (bool, string) {
		list := s.list(t, "admin")
		for _, a := range list {
			s.alerts[a.Township] = a.ID
		}
		return len(list) == 2, fmt.Sprint(list)
	})
	return s
}

type listedAlert struct {
	ID       int64  `json:"id"`
	Township string `json:"township"`
	State    string `json:"state"`
}

func (s *accessSite) list(t *testing.T, user string) []listedAlert {
	t.Helper()
	code, body := call(t, "GET", s.base+"/api/v1/alerts", s.tokens[user], "")
	if code != http.StatusOK {
		t.Fatalf("list as %s: %d %s", user, code, body)
	}
	var out struct{ Alerts []listedAlert }
	if err := json.Unmarshal([]byte(body), &out); err != nil {
		t.Fatal(err)
	}
	return out.Alerts
}

func (s *accessSite) alertURL(township, action string) string {
	u := fmt.Sprintf("%s/api/v1/alerts/%d", s.base, s.alerts[township])
	if action != "" {
		u += "/" + action
	}
	return u
}

func TestAPIConfinesEachRoleToItsArea(t *testing.T) {
	s := newAccessSite(t)
	const a, b = "巴伦台镇", "巴润哈尔莫敦镇"

	sees := map[string][]string{"admin": {a, b}, "admin-other": nil, "duty-a": {a}, "duty-b": {b},
		"doctor-a": {a}, "visitor-a": {a}}
	for user, want := range sees {
		t.Run(user+" lists its area", func(t *testing.T) {
			var got []string
			for _, al := range s.list(t, user) {
				got = append(got, al.Township)
			}
			if slices.Sort(got); !slices.Equal(got, want) {
				t.Errorf("sees %v, want %v", got, want)
			}
			for _, tw := range []string{a, b} {
				code, _ := call(t, "GET", s.alertURL(tw, ""), s.tokens[user], "")
				if wantCode := statusFor(slices.Contains(want, tw)); code != wantCode {
					t.Errorf("GET alert of %s: %d, want %d", tw, code, wantCode)
				}
			}
		})
	}

	steps := []struct {
		name, method, url, user, body string
		want                          int
	}{
		{"no token", "GET", s.base + "/api/v1/alerts", "", "", http.StatusUnauthorized},
		{"forged token", "GET", s.base + "/api/v1/alerts", "forged", "", http.StatusUnauthorized},
		{"no token acks", "POST", s.alertURL(a, "ack"), "", "", http.StatusUnauthorized},
		{"other township acks", "POST", s.alertURL(a, "ack"), "duty-b", "", http.StatusNotFound},
		{"other county resolves", "POST", s.alertURL(a, "resolve"), "admin-other", `{"outcome":"false_alarm"}`, http.StatusNotFound},
		{"visitor may not close", "POST", s.alertURL(a, "resolve"), "visitor-a", `{"outcome":"false_alarm"}`, http.StatusForbidden},
		{"visitor acknowledges", "POST", s.alertURL(a, "ack"), "visitor-a", "", http.StatusOK},
		{"second ack conflicts", "POST", s.alertURL(a, "ack"), "duty-a", "", http.StatusConflict},
		{"duty closes", "POST", s.alertURL(a, "resolve"), "duty-a", `{"outcome":"handled_at_home","note":"老人无恙"}`, http.StatusOK},
		{"doctor acknowledges own village only", "POST", s.alertURL(b, "ack"), "doctor-a", "", http.StatusNotFound},
		{"the other township acknowledges its own", "POST", s.alertURL(b, "ack"), "duty-b", "", http.StatusOK},
		{"hand over to someone who cannot see it", "POST", s.alertURL(b, "handover"), "duty-b", `{"to":"duty-a"}`, http.StatusBadRequest},
		{"hand over to a stranger", "POST", s.alertURL(b, "handover"), "duty-b", `{"to":"nobody"}`, http.StatusBadRequest},
		{"hand over to the county", "POST", s.alertURL(b, "handover"), "duty-b", `{"to":"admin"}`, http.StatusOK},
		{"bad outcome", "POST", s.alertURL(b, "resolve"), "admin", `{"outcome":"whatever"}`, http.StatusBadRequest},
		{"resolved alerts cannot be handed over", "POST", s.alertURL(a, "handover"), "duty-a", `{"to":"admin"}`, http.StatusConflict},
	}
	for _, st := range steps {
		token := s.tokens[st.user]
		if st.user == "forged" {
			token = "cbt_" + strings.Repeat("x", 43)
		}
		code, body := call(t, st.method, st.url, token, st.body)
		if code != st.want {
			t.Errorf("%s: %s %s as %q: %d %s, want %d", st.name, st.method, st.url, st.user, code, body, st.want)
		}
	}

	for tw, wants := range map[string][]string{
		a: {"acknowledged by user/visitor-a via api", "resolved by user/duty-a via api"},
		b: {"acknowledged by user/duty-b via api", "handed_over by user/duty-b via api"},
	} {
		trail := s.audit(t, tw)
		for _, want := range wants {
			if !strings.Contains(trail, want) {
				t.Errorf("audit trail of %s lacks %q:\n%s", tw, want, trail)
			}
		}
	}
}

// audit renders an alert's audit trail as "what by actor via channel" lines.
func (s *accessSite) audit(t *testing.T, township string) string {
	t.Helper()
	code, body := call(t, "GET", s.alertURL(township, ""), s.tokens["admin"], "")
	if code != http.StatusOK {
		t.Fatalf("GET alert: %d %s", code, body)
	}
	var detail struct {
		Audit []struct{ What, Actor, Channel string } `json:"audit"`
	}
	if err := json.Unmarshal([]byte(body), &detail); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, r := range detail.Audit {
		fmt.Fprintf(&b, "%s by %s via %s\n", r.What, r.Actor, r.Channel)
	}
	return b.String()
}

func TestDoctorSignedInAcksAsThePagedPerson(t *testing.T) {
	s := newAccessSite(t)
	// The ledger's second contact of H-A1 is its village doctor: wait until paged.
	waitFor(t, 30*time.Second, "the village doctor paged", func() (bool, string) {
		trail := s.audit(t, "巴伦台镇")
		return strings.Contains(trail, "notification_sent by home/H-A1/1 via sms"), trail
	})
	code, body := call(t, "POST", s.alertURL("巴伦台镇", "ack"), s.tokens["doctor-a"], "")
	if code != http.StatusOK {
		t.Fatalf("ack: %d %s", code, body)
	}
	// The doctor's phone is the one the ladder paged for home H-A1: the ack is that
	// person's, so the 'taken by' notices and the audit name the village doctor of
	// the home, not a stranger.
	trail := s.audit(t, "巴伦台镇")
	if !strings.Contains(trail, "acknowledged by home/H-A1/1 via api") {
		t.Errorf("ack not recorded as the paged person:\n%s", trail)
	}
}

func TestSignInSessionsAndLimits(t *testing.T) {
	s := newAccessSite(t)
	login := func(name, password string) (int, string, *http.Cookie) {
		body := fmt.Sprintf(`{"name":%q,"password":%q}`, name, password)
		resp, err := http.Post(s.base+"/api/v1/login", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out struct{ Token string }
		json.NewDecoder(resp.Body).Decode(&out) //nolint:errcheck // checked by the callers' status
		var cookie *http.Cookie
		for _, c := range resp.Cookies() {
			if c.Name == auth.CookieName {
				cookie = c
			}
		}
		return resp.StatusCode, out.Token, cookie
	}

	code, token, cookie := login("duty-a", "duty-password-duty-a")
	if code != http.StatusOK || token == "" || cookie == nil || !cookie.HttpOnly || cookie.SameSite != http.SameSiteStrictMode {
		t.Fatalf("sign-in: %d token=%q cookie=%+v", code, token, cookie)
	}
	req, _ := http.NewRequest("GET", s.base+"/api/v1/me", nil)
	req.AddCookie(cookie)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var me struct{ User map[string]any }
	json.NewDecoder(resp.Body).Decode(&me) //nolint:errcheck // checked below
	resp.Body.Close()
	if me.User["role"] != auth.RoleTownshipDuty || me.User["township"] != "巴伦台镇" {
		t.Errorf("me by cookie: %d %v", resp.StatusCode, me.User)
	}
	if code, _ := call(t, "POST", s.base+"/api/v1/logout", token, ""); code != http.StatusNoContent {
		t.Errorf("sign-out: %d", code)
	}
	if code, _ := call(t, "GET", s.base+"/api/v1/alerts", token, ""); code != http.StatusUnauthorized {
		t.Errorf("after sign-out the session still works: %d", code)
	}

	if code, _, _ := login("duty-b", "wrong password"); code != http.StatusUnauthorized {
		t.Errorf("wrong password: %d", code)
	}
	if code, _, _ := login("nobody", "duty-password-x"); code != http.StatusUnauthorized {
		t.Errorf("unknown user: %d", code)
	}
	// Five tries at once, then one per 12 s: the next wrong ones are refused
	// outright, and so is the right password until the allowance comes back.
	var last int
	for range 5 {
		last, _, _ = login("duty-b", "guess")
	}
	if last != http.StatusTooManyRequests {
		t.Errorf("after 6 wrong passwords: %d, want 429", last)
	}
	if code, _, _ := login("duty-b", "duty-password-duty-b"); code != http.StatusTooManyRequests {
		t.Errorf("right password while limited: %d, want 429", code)
	}
	if code, _, _ := login("duty-a", "duty-password-duty-a"); code != http.StatusOK {
		t.Errorf("another user is not limited: %d", code)
	}
}

func statusFor(visible bool) int {
	if visible {
		return http.StatusOK
	}
	return http.StatusNotFound
}
