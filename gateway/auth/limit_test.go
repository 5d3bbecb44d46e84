package auth

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"carebed/gateway/registry"
)

// countingStore counts user look-ups: a password is hashed only after one.
type countingStore struct {
	Store
	lookups atomic.Int64
}

func (c *countingStore) User(ctx context.Context, name string) (registry.User, error) {
	c.lookups.Add(1)
	return c.Store.User(ctx, name)
}

// limitSite is a Service with two users, duty-1 and duty-2, and a counted store.
func limitSite(t *testing.T, o Options) (*Service, *countingStore, *clock) {
	t.Helper()
	_, reg, clk := newService(t)
	u := registry.User{Name: "duty-2", Display: "值班二", Role: RoleTownshipDuty, County: "和静县", Township: "巴伦台镇",
		PasswordHash: HashPassword("second password"), Created: clk.t}
	if err := reg.PutUser(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	cs := &countingStore{Store: reg}
	o.Store, o.SessionTTL, o.Now = cs, time.Hour, clk.now
	return New(o), cs, clk
}

var rightPassword = map[string]string{"duty-1": "duty password", "duty-2": "second password"}

// try is n sign-ins (after waiting wait) of name from addr, with its right password
// or a wrong one, each answered want ("ok", "bad" or "limited").
type try struct {
	wait  time.Duration
	n     int
	name  string
	right bool
	addr  string
	want  string
	// hashes: how many of the n may look the user up (and hash); -1: any.
	hashes int
}

func result(err error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, ErrBadLogin):
		return "bad"
	case errors.Is(err, ErrTooManyLogins):
		return "limited"
	}
	return err.Error()
}

func TestLoginLimitTable(t *testing.T) {
	const proxy, guesser = "10.0.0.1", "10.0.0.9"
	names := func(n int) []string {
		var out []string
		for i := range n {
			out = append(out, "nobody-"+string(rune('a'+i)))
		}
		return out
	}
	cases := []struct {
		name  string
		tries []try
	}{
		{"30 wrong tries for one user do not lock out another user at the same address", []try{
			{n: 5, name: "duty-1", addr: proxy, want: "bad", hashes: 5},
			{n: 25, name: "duty-1", addr: proxy, want: "limited", hashes: 0},
			{n: 1, name: "duty-2", right: true, addr: proxy, want: "ok", hashes: 1},
		}},
		{"refused tries spend nothing: the name recovers on time", []try{
			{n: 5, name: "duty-1", addr: guesser, want: "bad", hashes: 5},
			{n: 50, name: "duty-1", addr: guesser, want: "limited", hashes: 0},
			{wait: 12 * time.Second, n: 1, name: "duty-1", right: true, addr: guesser, want: "ok", hashes: 1},
		}},
		{"an address full of other names' failures lets a right password through", []try{
			{n: 20, name: "*", addr: guesser, want: "bad", hashes: 20},
			{n: 1, name: "nobody-z", addr: guesser, want: "limited", hashes: 1}, // unknown: no hash
			{n: 1, name: "duty-2", right: true, addr: guesser, want: "ok", hashes: 1},
		}},
		{"over the address limit, a wrong password is refused and spends the name", []try{
			{n: 20, name: "*", addr: guesser, want: "bad", hashes: 20},
			{n: 5, name: "duty-2", addr: guesser, want: "limited", hashes: 5},
			{n: 1, name: "duty-2", right: true, addr: guesser, want: "limited", hashes: 0},
			{n: 1, name: "duty-2", right: true, addr: "10.0.0.77", want: "limited", hashes: 0},
			{wait: 12 * time.Second, n: 1, name: "duty-2", right: true, addr: guesser, want: "ok", hashes: 1},
		}},
		{"right passwords spend no allowance", []try{
			{n: 40, name: "duty-1", right: true, addr: proxy, want: "ok", hashes: 40},
			{n: 5, name: "duty-1", addr: proxy, want: "bad", hashes: 5},
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, cs, clk := limitSite(t, Options{})
			ctx := context.Background()
			guesses := names(26)
			for i, tr := range c.tries {
				clk.t = clk.t.Add(tr.wait)
				before := cs.lookups.Load()
				for k := range tr.n {
					name := tr.name
					if name == "*" {
						name = guesses[k%len(guesses)]
					}
					pw := "wrong guess"
					if tr.right {
						pw = rightPassword[name]
					}
					_, _, err := s.Login(ctx, name, pw, tr.addr)
					if got := result(err); got != tr.want {
						t.Fatalf("try %d (%s from %s), attempt %d: %s, want %s", i, name, tr.addr, k+1, got, tr.want)
					}
				}
				if n := cs.lookups.Load() - before; tr.hashes >= 0 && n > int64(tr.hashes) {
					t.Errorf("try %d: %d look-ups (hashes), want at most %d", i, n, tr.hashes)
				}
			}
		})
	}
}

func TestClientIP(t *testing.T) {
	s := New(Options{Store: nil, TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32"),
		netip.MustParsePrefix("10.1.0.0/16")}})
	cases := []struct {
		name, peer string
		xff        []string
		want       string
	}{
		{"no proxy", "192.0.2.5:4000", nil, "192.0.2.5"},
		{"an untrusted peer's header is ignored", "192.0.2.5:4000", []string{"198.51.100.1"}, "192.0.2.5"},
		{"trusted proxy", "127.0.0.1:4000", []string{"198.51.100.1"}, "198.51.100.1"},
		{"the client's own claim is left of the proxy's", "127.0.0.1:4000", []string{"6.6.6.6, 198.51.100.1"}, "198.51.100.1"},
		{"two trusted proxies", "127.0.0.1:4000", []string{"6.6.6.6, 198.51.100.1, 10.1.2.3"}, "198.51.100.1"},
		{"several headers", "127.0.0.1:4000", []string{"6.6.6.6", "198.51.100.1", "10.1.2.3"}, "198.51.100.1"},
		{"garbage where the client is", "127.0.0.1:4000", []string{"198.51.100.1, junk, 10.1.2.3"}, "10.1.2.3"},
		{"trusted proxy without the header", "127.0.0.1:4000", nil, "127.0.0.1"},
		{"IPv6 client", "127.0.0.1:4000", []string{"2001:db8::1"}, "2001:db8::1"},
	}
	for _, c := range cases {
		r := httptest.NewRequest(http.MethodPost, "/api/v1/login", nil)
		r.RemoteAddr = c.peer
		for _, v := range c.xff {
			r.Header.Add("X-Forwarded-For", v)
		}
		if got := s.ClientIP(r); got != c.want {
			t.Errorf("%s: ClientIP = %s, want %s", c.name, got, c.want)
		}
	}
}

// Behind the recommended reverse proxy, a guesser does not lock the staff out.
func TestLoginBehindProxyHTTP(t *testing.T) {
	s, _, _ := limitSite(t, Options{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}})
	mux := http.NewServeMux()
	s.Register(mux)
	login := func(name, pw, client string) int {
		body := `{"name":"` + name + `","password":"` + pw + `"}`
		r := httptest.NewRequest(http.MethodPost, "/api/v1/login", strings.NewReader(body))
		r.RemoteAddr = "127.0.0.1:51000" // every request comes from the proxy
		r.Header.Set("X-Forwarded-For", client)
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, r)
		return w.Code
	}
	for i := range 30 {
		want := http.StatusUnauthorized
		if i >= 5 {
			want = http.StatusTooManyRequests
		}
		if code := login("duty-1", "guess "+string(rune('a'+i)), "203.0.113.66"); code != want {
			t.Fatalf("guess %d: %d, want %d", i+1, code, want)
		}
	}
	for i := range 25 { // the guesser moves on to other names
		login("user-"+string(rune('a'+i)), "guess", "203.0.113.66")
	}
	if code := login("duty-2", "second password", "198.51.100.2"); code != http.StatusOK {
		t.Errorf("another user's right password from another client: %d, want 200", code)
	}
	if code := login("duty-2", "second password", "203.0.113.66"); code != http.StatusOK {
		t.Errorf("another user's right password from the guesser's own address: %d, want 200", code)
	}
	if code := login("duty-1", "duty password", "198.51.100.2"); code != http.StatusTooManyRequests {
		t.Errorf("the guessed user is still limited: %d, want 429", code)
	}
}
