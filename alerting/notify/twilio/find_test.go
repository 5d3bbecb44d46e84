package twilio_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"carebed/alerting/notify"
	"carebed/alerting/notify/notifytest"
	"carebed/alerting/notify/twilio/twiliotest"
)

// TestFind asks the fake Twilio's Messages list, through twilio-go's ListMessage,
// which messages it accepted: by number, text (its link aside) and time, across
// pages.
func TestFind(t *testing.T) {
	api := twiliotest.NewAPI(sid, token)
	clock := time.Date(2026, 11, 29, 3, 0, 0, 0, time.UTC)
	api.SetClock(func() time.Time { return clock })
	nf := newNotifier(t, twiliotest.Serve(t, api), token)
	ctx := context.Background()
	send := func(n notify.Notification) notify.Receipt {
		t.Helper()
		r, _, err := nf.Notify(ctx, n)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	page := notifytest.Sample
	page.Text = "【巴州家庭养老床位】巴伦台村H-0002 紧急呼叫。回复1或RJG8表示您去处理，或点 https://gw.example.cn/l/abc123。"
	old := send(page) // an earlier repeat of the same page, a minute before
	clock = clock.Add(time.Minute)
	since := clock
	want := send(page)
	other := page
	other.Text = strings.Replace(page.Text, "RJG8", "K7M2", 1) // another alert's page
	for range 60 {                                             // newer messages to the same number push it to the second page
		send(other)
	}
	elsewhere := page
	elsewhere.To.Phone = "+8613800000099"
	send(elsewhere)
	if n := len(api.Messages()); n != 63 {
		t.Fatalf("%d messages sent, want 63", n)
	}

	relinked := page
	relinked.Text = strings.Replace(page.Text, "abc123", "zzz999", 1) // the link made anew after a restart
	cases := []struct {
		name  string
		n     notify.Notification
		since time.Time
		want  []string
	}{
		{"same page, new link, since the attempt", relinked, since, []string{want.ProviderID}},
		{"both repeats when since is earlier", relinked, since.Add(-time.Hour), []string{want.ProviderID, old.ProviderID}},
		{"nothing after", page, clock.Add(time.Second), nil},
		{"another text", func() notify.Notification { n := page; n.Text = "别的"; return n }(), since.Add(-time.Hour), nil},
		{"another number", func() notify.Notification { n := page; n.To.Phone = "+8613800000077"; return n }(), since, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rs, _, err := nf.Find(ctx, c.n, c.since)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range rs {
				got = append(got, r.ProviderID)
				if r.Status != "sent" {
					t.Errorf("status %q, want sent", r.Status)
				}
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("found %v, want %v", got, c.want)
			}
		})
	}
}

// TestFindErrors: a failing list is an error to retry (5xx, connection) or not (bad
// credentials), and the error does not contain the number.
func TestFindErrors(t *testing.T) {
	ctx := context.Background()
	api := twiliotest.NewAPI(sid, token)
	srv := httptest.NewServer(api)
	bad := newNotifier(t, srv.URL, "wrongtoken0123456789")
	if _, retry, err := bad.Find(ctx, notifytest.Sample, time.Time{}); err == nil || retry {
		t.Errorf("wrong token: retry %v, err %v; want an error not retried", retry, err)
	}
	srv.Close()
	closed := newNotifier(t, srv.URL, token)
	_, retry, err := closed.Find(ctx, notifytest.Sample, time.Time{})
	if err == nil || !retry {
		t.Errorf("connection refused: retry %v, err %v; want an error retried", retry, err)
	}
	if err != nil && strings.Contains(err.Error(), strings.TrimPrefix(notifytest.Sample.To.Phone, "+")) {
		t.Errorf("error %q contains the phone number", err)
	}
}

// TestFindListPaging reads the fake's list as JSON: Twilio's paging fields.
func TestFindListPaging(t *testing.T) {
	api := twiliotest.NewAPI(sid, token)
	base := twiliotest.Serve(t, api)
	nf := newNotifier(t, base, token)
	for i := range 3 {
		n := notifytest.Sample
		n.Text = fmt.Sprint("第", i)
		if _, _, err := nf.Notify(context.Background(), n); err != nil {
			t.Fatal(err)
		}
	}
	var page struct {
		Messages []struct {
			Sid, Body string
		} `json:"messages"`
		NextPageURI *string `json:"next_page_uri"`
		PageSize    int     `json:"page_size"`
		Page        int     `json:"page"`
	}
	getJSON(t, base+"/2010-04-01/Accounts/"+sid+"/Messages.json?PageSize=2", &page)
	if len(page.Messages) != 2 || page.Messages[0].Body != "第2" || page.NextPageURI == nil || page.PageSize != 2 {
		t.Fatalf("first page %+v", page)
	}
	getJSON(t, base+*page.NextPageURI, &page)
	if len(page.Messages) != 1 || page.Messages[0].Body != "第0" || page.NextPageURI != nil || page.Page != 1 {
		t.Fatalf("second page %+v", page)
	}
}

// getJSON GETs url with the account's credentials and decodes the answer into v.
func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(sid, token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}
