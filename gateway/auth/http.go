package auth

import (
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"carebed/alerting"
	"carebed/gateway/registry"
)

// Register adds the sign-in routes to mux: POST /api/v1/login (JSON {name,
// password}; answers the token and sets the session cookie), POST /api/v1/logout and
// GET /api/v1/me.
func (s *Service) Register(mux *http.ServeMux) {
	mux.HandleFunc("POST /api/v1/login", s.login)
	mux.HandleFunc("POST /api/v1/logout", s.logout)
	mux.HandleFunc("GET /api/v1/me", s.me)
}

type loginRequest struct {
	Name     string `json:"name"`
	Password string `json:"password"`
}

func (s *Service) login(w http.ResponseWriter, r *http.Request) {
	var req loginRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "body: " + err.Error()})
		return
	}
	token, u, err := s.Login(r.Context(), req.Name, req.Password, s.ClientIP(r))
	switch {
	case errors.Is(err, ErrTooManyLogins):
		w.Header().Set("Retry-After", strconv.Itoa(int(s.limits.l.NameEvery.Seconds())+1))
		writeJSON(w, http.StatusTooManyRequests, map[string]string{"error": err.Error()})
		return
	case errors.Is(err, ErrBadLogin):
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": err.Error()})
		return
	case err != nil:
		s.log.Error("sign-in", "err", err)
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "internal error"})
		return
	}
	expires := s.SetSessionCookie(w, r, token)
	writeJSON(w, http.StatusOK, map[string]any{"token": token, "expires_at": expires, "user": userJSON(u)})
}

func (s *Service) logout(w http.ResponseWriter, r *http.Request) {
	if token := requestToken(r); token != "" {
		if err := s.Logout(r.Context(), token); err != nil {
			s.log.Error("sign-out", "err", err)
		}
	}
	ClearSessionCookie(w)
	w.WriteHeader(http.StatusNoContent)
}

// SetSessionCookie sets the session cookie for a sign-in (HttpOnly, SameSite=Strict,
// Secure over TLS) and returns when it expires.
func (s *Service) SetSessionCookie(w http.ResponseWriter, r *http.Request, token string) time.Time {
	expires := s.o.Now().Add(s.o.SessionTTL)
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: token, Path: "/", Expires: expires,
		HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
	return expires
}

// ClearSessionCookie removes the session cookie.
func ClearSessionCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
		SameSite: http.SameSiteStrictMode})
}

// RequestToken is the session or API token a request carries, "" when none.
func RequestToken(r *http.Request) string { return requestToken(r) }

// RemoteIP is the peer's address without the port (the proxy's, behind one; see
// ClientIP).
func RemoteIP(r *http.Request) string { return remoteIP(r) }

// ClientIP is the address of the client that made r: the peer's, or, when the peer
// is one of Options.TrustedProxies, the right-most address of X-Forwarded-For that
// is not a trusted proxy (each proxy appends the address it got the request from,
// so everything left of that is whatever the client claimed). A header that cannot
// be read there gives the nearest trusted proxy's address.
func (s *Service) ClientIP(r *http.Request) string {
	peer := remoteIP(r)
	addr, err := netip.ParseAddr(peer)
	if err != nil || !s.trusted(addr) {
		return peer
	}
	hops := r.Header.Values("X-Forwarded-For")
	for i := len(hops) - 1; i >= 0; i-- {
		parts := strings.Split(hops[i], ",")
		for j := len(parts) - 1; j >= 0; j-- {
			a, err := netip.ParseAddr(strings.TrimSpace(parts[j]))
			if err != nil {
				return addr.String()
			}
			a = a.Unmap()
			if !s.trusted(a) {
				return a.String()
			}
			addr = a
		}
	}
	return addr.String()
}

func (s *Service) trusted(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range s.o.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

func (s *Service) me(w http.ResponseWriter, r *http.Request) {
	u, err := s.user(r)
	if err != nil {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "not signed in"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"user": userJSON(u)})
}

// userJSON is what a user is told about themselves (no hash).
func userJSON(u registry.User) map[string]any {
	return map[string]any{"name": u.Name, "display": u.Display, "role": u.Role, "county": u.County,
		"township": u.Township, "village": u.Village, "may_resolve": CallerOf(u).May(alerting.ActionResolve)}
}

// remoteIP is the client's address without the port.
func remoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v) //nolint:errcheck // the client went away
}
