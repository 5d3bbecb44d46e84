package console

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"carebed/alerting"
)

// memLinks is an in-memory LinkStore with the alert store's semantics.
type memLinks map[string]alerting.Link

func (m memLinks) CreateLink(_ context.Context, l alerting.Link) error { m[l.ID] = l; return nil }

func (m memLinks) LinkByID(_ context.Context, id string) (alerting.Link, error) {
	l, ok := m[id]
	if !ok {
		return l, alerting.ErrNotFound
	}
	return l, nil
}

func (m memLinks) UseLink(_ context.Context, id string, now time.Time) (alerting.Link, error) {
	l, ok := m[id]
	switch {
	case !ok:
		return l, alerting.ErrNotFound
	case !l.Used.IsZero():
		return l, alerting.ErrLinkUsed
	case !now.Before(l.Expires):
		return l, alerting.ErrLinkExpired
	}
	l.Used = now
	m[id] = l
	return l, nil
}

func TestLinks(t *testing.T) {
	now := time.Date(2026, 11, 29, 3, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	store := memLinks{}
	links, err := NewLinks([]byte("0123456789abcdef0123456789abcdef"), store, "https://cb.example.cn", time.Hour, clock)
	if err != nil {
		t.Fatal(err)
	}
	url, err := links.Make(context.Background(), alerting.Alert{ID: 7}, alerting.Person{ID: "home/H-1/1"})
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^https://cb\.example\.cn/a/[A-Za-z0-9_-]{16}$`).MatchString(url) {
		t.Fatalf("link %q: want a 16-character token", url)
	}
	token := url[strings.LastIndex(url, "/")+1:]
	other, _ := NewLinks([]byte("another key, another site......"), store, "", time.Hour, clock)
	cases := []struct {
		name  string
		links *Links
		token string
		want  error
	}{
		{"altered", links, token[:15] + string("AB"[boolInt(token[15] == 'A')]), ErrLinkTampered},
		{"cut short", links, token[:10], ErrLinkTampered},
		{"not base64", links, "!!!!!!!!!!!!!!!!", ErrLinkTampered},
		{"another site's key", other, token, ErrLinkTampered},
		{"first use", links, token, nil},
		{"second use", links, token, alerting.ErrLinkUsed},
	}
	for _, c := range cases {
		l, err := c.links.Use(context.Background(), c.token)
		if !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
		if c.want == nil && (l.AlertID != 7 || l.PersonID != "home/H-1/1") {
			t.Errorf("%s: link %+v", c.name, l)
		}
	}
	late, _ := links.Make(context.Background(), alerting.Alert{ID: 8}, alerting.Person{ID: "home/H-1/2"})
	now = now.Add(time.Hour)
	if _, err := links.Use(context.Background(), late[strings.LastIndex(late, "/")+1:]); !errors.Is(err, alerting.ErrLinkExpired) {
		t.Errorf("after its hour: %v, want expired", err)
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestTemplatesUseKnownWords renders nothing unknown: every key the templates pass
// to .T is in words, in both languages.
func TestTemplatesUseKnownWords(t *testing.T) {
	re := regexp.MustCompile(`\.T "([a-z.]+)"`)
	entries, err := templateFS.ReadDir("templates")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, _ := templateFS.ReadFile("templates/" + e.Name())
		for _, m := range re.FindAllStringSubmatch(string(b), -1) {
			if w, ok := words[m[1]]; !ok || w[0] == "" || w[1] == "" {
				t.Errorf("%s uses %q, which has no Chinese and English text", e.Name(), m[1])
			}
		}
	}
	if _, err := New(Options{}); err != nil {
		t.Fatalf("templates do not parse: %v", err)
	}
}

func TestAge(t *testing.T) {
	cases := []struct {
		d      time.Duration
		zh, en string
	}{
		{45 * time.Second, "45秒", "45 s "},
		{3 * time.Minute, "3分钟", "3 min "},
		{2*time.Hour + 5*time.Minute, "2小时5分", "2 h 5 min "},
		{72 * time.Hour, "3天", "3 d "},
	}
	for _, c := range cases {
		if got := age(langZH, c.d); got != c.zh {
			t.Errorf("age(%v) = %q, want %q", c.d, got, c.zh)
		}
		if got := age(langEN, c.d); got != c.en {
			t.Errorf("age(%v, en) = %q, want %q", c.d, got, c.en)
		}
	}
}

func TestSafeNext(t *testing.T) {
	for in, want := range map[string]string{"/console/alerts/3": "/console/alerts/3", "https://evil.example/": "/console/",
		"//evil.example/console/": "/console/", "": "/console/", "/metrics": "/console/"} {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestTitleByRole: a village doctor does not read 乡镇值班台.
func TestTitleByRole(t *testing.T) {
	for role, want := range map[string]string{"township_duty": "乡镇值班台", "village_doctor": "村医警报台",
		"visitor": "探访员警报台", "county_admin": "县级值班台", "": "乡镇值班台"} {
		if got := title(langZH, role); got != want {
			t.Errorf("title for %q = %s, want %s", role, got, want)
		}
	}
}

// TestAuditDetailOfAFoldedOutageRepeat: a village outage's repeat that stands for a
// storm's devices says how many in Chinese; the machine's seq is left out.
func TestAuditDetailOfAFoldedOutageRepeat(t *testing.T) {
	c := &Console{}
	for _, r := range []struct {
		detail, zh string
	}{
		{alerting.OutageJoinsDetail(312, "seq 0"), "1 秒内共 312 台设备断线"},
		{"seq 7", ""},
	} {
		row := alerting.AuditRow{What: "repeat", Detail: r.detail}
		if got := c.auditDetail(context.Background(), langZH, nil, row); got != r.zh {
			t.Errorf("zh %q: %q, want %q", r.detail, got, r.zh)
		}
		if got := c.auditDetail(context.Background(), langEN, nil, row); got != r.detail {
			t.Errorf("en %q: %q, want it as recorded", r.detail, got)
		}
	}
}
