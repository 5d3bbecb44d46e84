package auth

import (
	"context"
	"errors"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"carebed/alerting"
	"carebed/alerting/api"
	"carebed/gateway/registry"
	"carebed/internal/devsvc"
)

func TestPasswords(t *testing.T) {
	h := HashPassword("correct horse")
	cases := []struct {
		name, hash, pw string
		want           bool
	}{
		{"right", h, "correct horse", true},
		{"wrong", h, "correct horse ", false},
		{"empty", h, "", false},
		{"not a hash", "correct horse", "correct horse", false},
		{"bcrypt is not argon2id", "$2a$10$abcdefghijklmnopqrstuu", "x", false},
		{"huge memory refused", strings.Replace(h, "m=19456", "m=99999999", 1), "correct horse", false},
		{"cut short", h[:len(h)-10], "correct horse", false},
	}
	for _, c := range cases {
		if got := VerifyPassword(c.hash, c.pw); got != c.want {
			t.Errorf("%s: VerifyPassword = %v, want %v", c.name, got, c.want)
		}
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") || h == HashPassword("correct horse") {
		t.Errorf("hash %q: want argon2id PHC with a fresh salt", h)
	}
	if CheckPassword("短密码") == nil || CheckPassword("long enough pw") != nil {
		t.Error("CheckPassword does not enforce the length")
	}
}

func FuzzVerifyPassword(f *testing.F) {
	f.Add(HashPassword("x"), "x")
	f.Add("$argon2id$v=19$m=8,t=1,p=1$AAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA", "")
	f.Fuzz(func(t *testing.T, hash, pw string) {
		VerifyPassword(hash, pw) // must not panic or allocate without bound
	})
}

func TestCheckUser(t *testing.T) {
	ok := registry.User{Name: "duty-1", Display: "值班", Role: RoleTownshipDuty, County: "和静县", Township: "巴伦台镇"}
	cases := []struct {
		name   string
		change func(*registry.User)
		field  string // "" = valid
	}{
		{"valid", func(*registry.User) {}, ""},
		{"bad name", func(u *registry.User) { u.Name = "Duty 1" }, "name"},
		{"unknown role", func(u *registry.User) { u.Role = "boss" }, "role"},
		{"no display", func(u *registry.User) { u.Display = "" }, "display"},
		{"no county", func(u *registry.User) { u.County = "" }, "county"},
		{"duty without township", func(u *registry.User) { u.Township = "" }, "township"},
		{"duty with village", func(u *registry.User) { u.Village = "巴伦台村" }, "village"},
		{"admin with township", func(u *registry.User) { u.Role = RoleCountyAdmin }, "township"},
		{"doctor without village", func(u *registry.User) { u.Role = RoleVillageDoctor }, "village"},
	}
	for _, c := range cases {
		u := ok
		c.change(&u)
		err := CheckUser(u)
		switch {
		case c.field == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.field != "" && (err == nil || !strings.HasPrefix(err.Error(), c.field)):
			t.Errorf("%s: error %v, want one naming %s", c.name, err, c.field)
		}
	}
}

// clock is an injected, settable time.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

// storeBackends are the engines users and sessions are kept on (the registry's):
// the tests of sign-in and sessions run on each.
var storeBackends = []struct {
	name string
	open func(t *testing.T) *registry.Store
}{
	{name: "sqlite", open: func(t *testing.T) *registry.Store {
		reg, err := registry.Open(filepath.Join(t.TempDir(), "registry.db"))
		if err != nil {
			t.Fatal(err)
		}
		return reg
	}},
	{name: "postgres", open: func(t *testing.T) *registry.Store {
		reg, err := registry.OpenPostgres(context.Background(), sharedPostgres(t).NewDatabase(t))
		if err != nil {
			t.Fatal(err)
		}
		return reg
	}},
}

// sharedPostgres is one PostgreSQL cluster for the package's tests, started on first
// use and stopped by TestMain.
var sharedPostgres, stopPostgres = devsvc.Shared(devsvc.StartPostgres)

func TestMain(m *testing.M) {
	code := m.Run()
	stopPostgres()
	os.Exit(code)
}

// eachStore runs test once per engine, as subtests named after them, with
// newService giving a Service over a fresh store on that engine.
func eachStore(t *testing.T, test func(t *testing.T, newService func(t *testing.T) (*Service, *registry.Store, *clock))) {
	for _, b := range storeBackends {
		t.Run(b.name, func(t *testing.T) {
			test(t, func(t *testing.T) (*Service, *registry.Store, *clock) { return newServiceOn(t, b.open(t)) })
		})
	}
}

// newService is a Service over a fresh SQLite store with one user, duty-1.
func newService(t *testing.T) (*Service, *registry.Store, *clock) {
	t.Helper()
	return newServiceOn(t, storeBackends[0].open(t))
}

// newServiceOn is a Service over reg (closed when the test ends) with one user,
// duty-1.
func newServiceOn(t *testing.T, reg *registry.Store) (*Service, *registry.Store, *clock) {
	t.Helper()
	t.Cleanup(func() { reg.Close() })
	clk := &clock{t: time.Date(2026, 11, 29, 8, 0, 0, 0, time.UTC)}
	u := registry.User{Name: "duty-1", Display: "值班", Role: RoleTownshipDuty, County: "和静县", Township: "巴伦台镇",
		PasswordHash: HashPassword("duty password"), Created: clk.t}
	if err := reg.PutUser(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	return New(Options{Store: reg, SessionTTL: time.Hour, Now: clk.now}), reg, clk
}

func authenticate(s *Service, token string) (api.Caller, error) {
	r := httptest.NewRequest("GET", "/api/v1/alerts", nil)
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	return s.Authenticate(r)
}

func TestSessionLifetime(t *testing.T) {
	eachStore(t, func(t *testing.T, newService func(t *testing.T) (*Service, *registry.Store, *clock)) {
		s, reg, clk := newService(t)
		ctx := context.Background()
		token, _, err := s.Login(ctx, "duty-1", "duty password", "10.0.0.1")
		if err != nil {
			t.Fatal(err)
		}
		c, err := authenticate(s, token)
		if err != nil || c.ID != "user/duty-1" || c.Area.Township != "巴伦台镇" || !c.May(alerting.ActionResolve) {
			t.Fatalf("caller %+v, %v", c, err)
		}
		clk.t = clk.t.Add(time.Hour + time.Second)
		if _, err := authenticate(s, token); !errors.Is(err, api.ErrUnauthenticated) {
			t.Errorf("expired session: %v", err)
		}
		apiToken, err := s.NewAPIToken(ctx, "duty-1", "clinic-his", 0)
		if err != nil {
			t.Fatal(err)
		}
		clk.t = clk.t.Add(365 * 24 * time.Hour)
		if _, err := authenticate(s, apiToken); err != nil {
			t.Errorf("API token without expiry: %v", err)
		}
		if err := reg.DisableUser(ctx, "duty-1", clk.t); err != nil {
			t.Fatal(err)
		}
		if _, err := authenticate(s, apiToken); !errors.Is(err, api.ErrUnauthenticated) {
			t.Errorf("token of a disabled user: %v", err)
		}
		if _, _, err := s.Login(ctx, "duty-1", "duty password", "10.0.0.1"); !errors.Is(err, ErrBadLogin) {
			t.Errorf("disabled user signs in: %v", err)
		}
		if _, err := authenticate(s, ""); !errors.Is(err, api.ErrUnauthenticated) {
			t.Errorf("no token: %v", err)
		}
	})
}

func TestLoginLimits(t *testing.T) {
	eachStore(t, func(t *testing.T, newService func(t *testing.T) (*Service, *registry.Store, *clock)) {
		s, _, clk := newService(t)
		ctx := context.Background()
		for i := range 5 {
			if _, _, err := s.Login(ctx, "duty-1", "guess", "10.0.0.1"); !errors.Is(err, ErrBadLogin) {
				t.Fatalf("attempt %d: %v", i+1, err)
			}
		}
		if _, _, err := s.Login(ctx, "duty-1", "duty password", "10.0.0.1"); !errors.Is(err, ErrTooManyLogins) {
			t.Fatalf("sixth attempt at once: %v, want too many", err)
		}
		clk.t = clk.t.Add(12 * time.Second)
		if _, _, err := s.Login(ctx, "duty-1", "duty password", "10.0.0.1"); err != nil {
			t.Fatalf("after 12 s the right password works: %v", err)
		}
		// One address trying many names is limited too (20 at once, then one per 3 s).
		var err error
		for i := range 21 {
			_, _, err = s.Login(ctx, "user-"+string(rune('a'+i)), "guess", "10.0.0.9")
		}
		if !errors.Is(err, ErrTooManyLogins) {
			t.Errorf("21st name from one address: %v", err)
		}
	})
}

// TestSignOutAndNewPassword: a sign-out ends that session only; a new password ends
// the user's sessions but not its API tokens; expired tokens are swept.
func TestSignOutAndNewPassword(t *testing.T) {
	eachStore(t, func(t *testing.T, newService func(t *testing.T) (*Service, *registry.Store, *clock)) {
		s, reg, clk := newService(t)
		ctx := context.Background()
		login := func() string {
			t.Helper()
			token, _, err := s.Login(ctx, "duty-1", "duty password", "10.0.0.1")
			if err != nil {
				t.Fatal(err)
			}
			return token
		}
		first, second := login(), login()
		if err := s.Logout(ctx, first); err != nil {
			t.Fatal(err)
		}
		if _, err := authenticate(s, first); !errors.Is(err, api.ErrUnauthenticated) {
			t.Errorf("signed-out session: %v", err)
		}
		if _, err := authenticate(s, second); err != nil {
			t.Errorf("the other session after a sign-out: %v", err)
		}
		apiToken, err := s.NewAPIToken(ctx, "duty-1", "clinic-his", 0)
		if err != nil {
			t.Fatal(err)
		}
		if err := reg.SetPassword(ctx, "duty-1", HashPassword("new password")); err != nil {
			t.Fatal(err)
		}
		if _, err := authenticate(s, second); !errors.Is(err, api.ErrUnauthenticated) {
			t.Errorf("session after a new password: %v", err)
		}
		if _, err := authenticate(s, apiToken); err != nil {
			t.Errorf("API token after a new password: %v", err)
		}
		short, err := s.NewAPIToken(ctx, "duty-1", "short", time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		clk.t = clk.t.Add(2 * time.Minute)
		if n, err := reg.DeleteExpiredTokens(ctx, clk.t); err != nil || n != 1 {
			t.Errorf("expired tokens swept: %d, %v; want 1", n, err)
		}
		if _, err := authenticate(s, short); !errors.Is(err, api.ErrUnauthenticated) {
			t.Errorf("expired token: %v", err)
		}
	})
}
