// Package auth signs people and systems in to the gateway's HTTP API: password
// sign-in (argon2id hashes) that opens a session, API tokens for systems, roles scoped
// to an area (package api confines every request to the caller's area), and sign-in
// attempts limited per login name and per client address.
//
// Tokens and session ids are 32 random bytes; the registry keeps only their SHA-256.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"carebed/alerting/api"
	"carebed/gateway/registry"
)

// CookieName is the session cookie.
const CookieName = "carebed_session"

// tokenPrefix starts every token, so a leaked one is recognisable in a scan.
const tokenPrefix = "cbt_"

// Errors of Login.
var (
	ErrBadLogin      = errors.New("wrong name or password")
	ErrTooManyLogins = errors.New("too many sign-in attempts; wait a minute")
)

// Store is where users and tokens live; *registry.Store is one.
type Store interface {
	User(ctx context.Context, name string) (registry.User, error)
	PutToken(ctx context.Context, t registry.Token) error
	TokenUser(ctx context.Context, hash string, now time.Time) (registry.User, error)
	DeleteToken(ctx context.Context, hash string) error
}

// Options configure a Service.
type Options struct {
	Store Store
	// SessionTTL is how long a sign-in lasts; default 12 hours (a duty shift).
	SessionTTL time.Duration
	// Limits of sign-in attempts; defaults in newLimiter.
	Limits Limits
	// TrustedProxies are the reverse proxies whose X-Forwarded-For ClientIP
	// believes (config http.trusted_proxies).
	TrustedProxies []netip.Prefix
	Registerer     prometheus.Registerer
	Logger         *slog.Logger
	Now            func() time.Time
}

// Service authenticates API requests.
type Service struct {
	o      Options
	limits *limiter
	logins *prometheus.CounterVec
	log    *slog.Logger
}

// dummyHash is verified against when the user is unknown, so timing tells nothing.
// Made at the first such sign-in: an argon2id hash costs about 0.1 s of CPU, most
// of the gateway's start-up.
var dummyHash = sync.OnceValue(func() string { return HashPassword("not a password anyone has") })

// New returns the service.
func New(o Options) *Service {
	if o.SessionTTL <= 0 {
		o.SessionTTL = 12 * time.Hour
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	s := &Service{o: o, limits: newLimiter(o.Limits, o.Now), log: o.Logger.With("component", "auth"),
		logins: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "carebed_http_logins_total",
			Help: "Sign-in attempts by result (ok, bad, limited)."}, []string{"result"})}
	if o.Registerer != nil {
		o.Registerer.MustRegister(s.logins)
	}
	return s
}

// newToken returns a new random token and the hash the registry keeps.
func newToken() (token, hash string) {
	b := make([]byte, 32)
	rand.Read(b) //nolint:errcheck // never fails
	token = tokenPrefix + base64.RawURLEncoding.EncodeToString(b)
	return token, hashToken(token)
}

func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// Authenticate finds the caller from the Authorization bearer token or the session
// cookie; without either, or with an unknown or expired one, api.ErrUnauthenticated.
func (s *Service) Authenticate(r *http.Request) (api.Caller, error) {
	u, err := s.user(r)
	if err != nil {
		return api.Caller{}, err
	}
	return CallerOf(u), nil
}

func (s *Service) user(r *http.Request) (registry.User, error) {
	token := requestToken(r)
	if token == "" {
		return registry.User{}, api.ErrUnauthenticated
	}
	u, err := s.o.Store.TokenUser(r.Context(), hashToken(token), s.o.Now())
	if errors.Is(err, registry.ErrNotFound) {
		return u, api.ErrUnauthenticated
	}
	return u, err
}

func requestToken(r *http.Request) string {
	if h := r.Header.Get("Authorization"); h != "" {
		t, ok := strings.CutPrefix(h, "Bearer ")
		if !ok {
			return ""
		}
		return strings.TrimSpace(t)
	}
	if c, err := r.Cookie(CookieName); err == nil {
		return c.Value
	}
	return ""
}

// Login checks name and password, from the client at remote (an IP address: see
// ClientIP), and opens a session: the token is the session id.
//
// Limits: a name whose allowance wrong passwords have spent is refused before its
// password is hashed. An address whose allowance is spent (wrong passwords from it,
// for any names) still lets a right password through, so that one guesser behind
// the county's proxy or NAT does not lock the staff out; the name's own limit bounds
// how many hashes such attempts cost.
func (s *Service) Login(ctx context.Context, name, password, remote string) (string, registry.User, error) {
	at, ok := s.limits.begin(name, remote)
	if !ok {
		return "", registry.User{}, s.limited(name, remote, "name")
	}
	u, err := s.o.Store.User(ctx, name)
	switch {
	case errors.Is(err, registry.ErrNotFound):
		if at.addrOver { // no right password to let through: refuse without a hash
			at.giveBack()
			return "", registry.User{}, s.limited(name, remote, "address")
		}
		VerifyPassword(dummyHash(), password)
		u = registry.User{}
	case err != nil:
		at.giveBack()
		return "", u, err
	}
	if u.Name == "" || !u.Active() || u.PasswordHash == "" || !VerifyPassword(u.PasswordHash, password) {
		at.wrong()
		if at.addrOver {
			return "", registry.User{}, s.limited(name, remote, "address")
		}
		s.logins.WithLabelValues("bad").Inc()
		s.log.Warn("sign-in refused", "user", name, "remote", remote)
		return "", registry.User{}, ErrBadLogin
	}
	token, err := s.issue(ctx, u.Name, registry.TokenSession, "sign-in from "+remote, s.o.SessionTTL)
	if err != nil {
		at.giveBack()
		return "", u, err
	}
	at.giveBack()
	s.limits.reset(name)
	s.logins.WithLabelValues("ok").Inc()
	s.log.Info("signed in", "user", u.Name, "role", u.Role, "remote", remote)
	return token, u, nil
}

// limited counts and logs a sign-in refused by the limit of by ("name" or
// "address") and returns ErrTooManyLogins.
func (s *Service) limited(name, remote, by string) error {
	s.logins.WithLabelValues("limited").Inc()
	s.log.Warn("sign-in refused: too many attempts", "user", name, "remote", remote, "limit", by)
	return ErrTooManyLogins
}

// Logout ends the session or deletes the token.
func (s *Service) Logout(ctx context.Context, token string) error {
	return s.o.Store.DeleteToken(ctx, hashToken(token))
}

// NewAPIToken issues a token for a system that calls the API as user; ttl 0: it
// does not expire. The token is returned once; only its hash is kept.
func (s *Service) NewAPIToken(ctx context.Context, user, label string, ttl time.Duration) (string, error) {
	if _, err := s.o.Store.User(ctx, user); err != nil {
		return "", err
	}
	return s.issue(ctx, user, registry.TokenAPI, label, ttl)
}

func (s *Service) issue(ctx context.Context, user, kind, label string, ttl time.Duration) (string, error) {
	token, hash := newToken()
	now := s.o.Now()
	t := registry.Token{Hash: hash, User: user, Kind: kind, Label: label, Created: now}
	if ttl > 0 {
		t.Expires = now.Add(ttl)
	}
	if err := s.o.Store.PutToken(ctx, t); err != nil {
		return "", fmt.Errorf("auth: %w", err)
	}
	return token, nil
}

// CallerByName returns the active user with this login as an API caller (whom an
// alert may be handed over to); false when there is none.
func (s *Service) CallerByName(ctx context.Context, name string) (api.Caller, bool, error) {
	u, err := s.o.Store.User(ctx, name)
	switch {
	case errors.Is(err, registry.ErrNotFound):
		return api.Caller{}, false, nil
	case err != nil:
		return api.Caller{}, false, err
	case !u.Active():
		return api.Caller{}, false, nil
	}
	return CallerOf(u), true, nil
}
