package api

import (
	"context"
	"errors"
	"net/http"

	"carebed/alerting"
)

// Caller is who makes an API request, as authentication established it.
type Caller struct {
	// ID is recorded as the actor in the audit trail, e.g. "user/duty-hejing-1".
	ID string
	// Name is how others are told who took an alert.
	Name string
	// Phone links the caller to the person the escalation ladder paged, if any.
	Phone string
	// Role is the caller's role name (see carebed/gateway/auth).
	Role string
	// Area is what the caller may see: the set fields must match, the empty ones
	// below them match anything (an empty County: everything).
	Area alerting.Place
	// Acts is the role the caller acts in towards alerts (a township's duty staff act
	// as the township clinic): what alerting.Permit lets them do.
	Acts alerting.Receiver
}

// May reports whether the caller's role may do a to the alerts they see
// (alerting.Permit).
func (c Caller) May(a alerting.Action) bool { return alerting.Permit(c.Acts, a) == nil }

// Sees reports whether p lies in the caller's area.
func (c Caller) Sees(p alerting.Place) bool {
	a := c.Area
	return (a.County == "" || a.County == p.County) && (a.Township == "" || a.Township == p.Township) &&
		(a.Village == "" || a.Village == p.Village)
}

// ErrUnauthenticated is what an Authenticator returns for a request without valid
// credentials; the API answers 401.
var ErrUnauthenticated = errors.New("not signed in")

// Authenticator establishes the caller of a request.
type Authenticator interface {
	Authenticate(r *http.Request) (Caller, error)
}

// caller authenticates r; false: the 401 (or 500) is written.
func (a *API) caller(w http.ResponseWriter, r *http.Request) (Caller, bool) {
	c, err := a.o.Auth.Authenticate(r)
	switch {
	case errors.Is(err, ErrUnauthenticated):
		w.Header().Set("WWW-Authenticate", `Bearer realm="carebed"`)
		writeError(w, http.StatusUnauthorized, "sign in first (Authorization: Bearer TOKEN, or the session cookie)")
		return c, false
	case err != nil:
		a.fail(w, err)
		return c, false
	}
	return c, true
}

// person is who the caller is for the escalation: the person the ladder paged about
// this alert when the caller's phone is one of theirs, else the caller as such.
func (a *API) person(ctx context.Context, c Caller, alertID int64) (alerting.Person, error) {
	self := alerting.Person{ID: c.ID, Name: c.Name, Phone: c.Phone}
	if c.Phone == "" {
		return self, nil
	}
	people, err := a.o.Directory.PeopleByPhone(ctx, c.Phone)
	if err != nil || len(people) == 0 {
		return self, err
	}
	ids := make([]string, len(people))
	byID := make(map[string]alerting.Person, len(people))
	for i, p := range people {
		ids[i], byID[p.ID] = p.ID, p
	}
	who, err := a.o.Store.PagedAbout(ctx, alertID, ids...)
	if err != nil || who == "" {
		return self, err
	}
	return byID[who], nil
}
