package twiliotest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// SetClock makes the fake date the messages it accepts with now (default
// time.Now): tests with an injected clock make Twilio's clock agree with theirs.
func (a *API) SetClock(now func() time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.now = now
}

// HoldAnswers makes create requests record their message, as Twilio does when it
// accepts one, and then wait to answer until release is called (or the caller goes
// away): a slow Twilio, during which a gateway may die.
func (a *API) HoldAnswers() (release func()) {
	ch := make(chan struct{})
	a.mu.Lock()
	a.held = ch
	a.mu.Unlock()
	return func() {
		a.mu.Lock()
		defer a.mu.Unlock()
		if a.held == ch {
			a.held = nil
			close(ch)
		}
	}
}

// listMessages serves GET /2010-04-01/Accounts/{sid}/Messages.json as Twilio does:
// the messages, newest first, filtered by To, From and DateSent (DateSent, DateSent<
// and DateSent> for on, on or before and on or after: a date YYYY-MM-DD or an RFC
// 3339 time), in pages of PageSize (default 50, at most 1000) numbered by Page, with
// Twilio's paging fields (next_page_uri is null on the last page). The fake sends
// every message at once, so each has its date_sent and status "sent".
func (a *API) listMessages(w http.ResponseWriter, r *http.Request) {
	if !a.authorized(w, r) {
		return
	}
	q := r.URL.Query()
	match, err := dateFilter(q)
	if err != nil {
		WriteError(w, http.StatusBadRequest, 20001, err.Error())
		return
	}
	size, page := 50, 0
	if v := q.Get("PageSize"); v != "" {
		if size, err = strconv.Atoi(v); err != nil || size < 1 || size > 1000 {
			WriteError(w, http.StatusBadRequest, 20001, "PageSize must be between 1 and 1000")
			return
		}
	}
	if v := q.Get("Page"); v != "" {
		if page, err = strconv.Atoi(v); err != nil || page < 0 {
			WriteError(w, http.StatusBadRequest, 20001, "Page must be a non-negative number")
			return
		}
	}
	a.mu.Lock()
	var found []map[string]any
	var sids []string
	for i := len(a.messages) - 1; i >= 0; i-- {
		m := a.messages[i]
		if to := q.Get("To"); to != "" && m.To != to || q.Get("From") != "" && m.From != q.Get("From") || !match(a.created[i]) {
			continue
		}
		found = append(found, resource(a.accountSID, m, a.created[i], "sent", true))
		sids = append(sids, m.SID)
	}
	a.mu.Unlock()
	start := min(page*size, len(found))
	end := min(start+size, len(found))
	writeList(w, a.accountSID, q, found[start:end], sids, page, size, start, end, len(found))
}

// writeList answers one page with Twilio's paging fields.
func writeList(w http.ResponseWriter, accountSID string, q url.Values, msgs []map[string]any, sids []string, page, size, start, end, total int) {
	base := fmt.Sprintf("/2010-04-01/Accounts/%s/Messages.json", accountSID)
	pageURI := func(p int, token string) string {
		v := url.Values{}
		for _, k := range []string{"To", "From", "DateSent", "DateSent<", "DateSent>"} {
			if q.Has(k) {
				v.Set(k, q.Get(k))
			}
		}
		v.Set("PageSize", strconv.Itoa(size))
		v.Set("Page", strconv.Itoa(p))
		if token != "" {
			v.Set("PageToken", token)
		}
		return base + "?" + v.Encode()
	}
	var next, prev any
	if end < total {
		next = pageURI(page+1, "PA"+sids[end-1])
	}
	if page > 0 && start > 0 {
		prev = pageURI(page-1, "PB"+sids[start-1])
	}
	if msgs == nil {
		msgs = []map[string]any{}
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"messages": msgs, "start": start, "end": max(end-1, start), "page": page, "page_size": size,
		"uri": pageURI(page, q.Get("PageToken")), "first_page_uri": pageURI(0, ""),
		"next_page_uri": next, "previous_page_uri": prev,
	})
}

// dateFilter reads the DateSent filters: a message sent at t matches when it is on
// the date (or at the time) given, on or before DateSent<, on or after DateSent>.
func dateFilter(q url.Values) (func(t time.Time) bool, error) {
	type bound struct {
		key string
		ok  func(t, b time.Time, day bool) bool
	}
	sameOrAfter := func(t, b time.Time, day bool) bool {
		if day {
			return !t.UTC().Before(b)
		}
		return !t.Before(b)
	}
	sameOrBefore := func(t, b time.Time, day bool) bool {
		if day {
			return t.UTC().Before(b.AddDate(0, 0, 1))
		}
		return !t.After(b)
	}
	checks := []func(time.Time) bool{}
	for _, bd := range []bound{
		{"DateSent", func(t, b time.Time, day bool) bool { return sameOrAfter(t, b, day) && sameOrBefore(t, b, day) }},
		{"DateSent<", sameOrBefore}, {"DateSent>", sameOrAfter},
	} {
		v := q.Get(bd.key)
		if v == "" {
			continue
		}
		b, day, err := parseDate(v)
		if err != nil {
			return nil, fmt.Errorf("%s: %q is not a date YYYY-MM-DD nor an RFC 3339 time", bd.key, v)
		}
		checks = append(checks, func(t time.Time) bool { return bd.ok(t, b, day) })
	}
	return func(t time.Time) bool {
		for _, c := range checks {
			if !c(t) {
				return false
			}
		}
		return true
	}, nil
}

func parseDate(v string) (time.Time, bool, error) {
	if t, err := time.Parse(time.DateOnly, v); err == nil {
		return t, true, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	return t, false, err
}
