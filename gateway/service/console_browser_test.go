package service

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"carebed/gateway/auth"
	"carebed/gateway/protocol"
	"carebed/gateway/registry"
	"carebed/internal/devsvc"
)

// browser is a real headless Chromium driven by chromedp.
type browser struct {
	t    *testing.T
	ctx  context.Context
	dir  string // where screenshots go
	base string
}

// newBrowser starts Chromium for the test. Screenshots go to $CAREBED_SCREENSHOTS
// (make screenshots: docs/console/) or the test's own folder.
func newBrowser(t *testing.T, base string) *browser {
	t.Helper()
	bin := devsvc.Chromium(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(bin), chromedp.NoSandbox,
		chromedp.WindowSize(1280, 900), chromedp.Flag("lang", "zh-CN"))
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(alloc)
	t.Cleanup(func() { cancelCtx(); cancelAlloc() })
	dir := os.Getenv("CAREBED_SCREENSHOTS")
	if dir == "" {
		dir = t.TempDir()
	}
	b := &browser{t: t, ctx: ctx, dir: dir, base: base}
	// Start the browser on the test-long context: a browser started on a shorter one
	// (run's deadlines) would close with it.
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("starting %s: %v", bin, err)
	}
	return b
}

// run runs browser actions with a deadline.
func (b *browser) run(actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.t.Fatalf("browser: %v", err)
	}
}

// browserValue runs one action and returns its value, with a deadline.
func browserValue[T any](b *browser, a chromedp.Action[T]) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		b.t.Fatalf("browser: %v", err)
	}
	return v
}

// text returns the text of the first element matching the CSS selector sel,
// waiting for it.
func (b *browser) text(sel string) string {
	b.t.Helper()
	b.run(chromedp.WaitVisible(chromedp.CSS(sel)))
	return browserValue(b, chromedp.Text(chromedp.CSS(sel)))
}

// screenshot saves the page at a phone's or a desk's width.
func (b *browser) screenshot(name string, width, height int64) {
	b.t.Helper()
	b.run(chromedp.EmulateViewport(width, height), chromedp.Sleep(100*time.Millisecond))
	png := browserValue(b, chromedp.FullScreenshot(100))
	if err := os.WriteFile(filepath.Join(b.dir, name+".png"), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.run(chromedp.EmulateViewport(1280, 900))
}

func (b *browser) signIn(name, password string) {
	b.t.Helper()
	b.run(chromedp.Navigate(b.base+"/console/"), chromedp.WaitVisible(chromedp.CSS("#login")),
		chromedp.SendKeys(chromedp.CSS("#name"), name), chromedp.SendKeys(chromedp.CSS("#password"), password),
		chromedp.Click(chromedp.CSS("#signin")), chromedp.WaitVisible(chromedp.CSS("#alerts")))
}

func (b *browser) signOut() {
	b.t.Helper()
	b.run(chromedp.Navigate(b.base+"/console/"), chromedp.Click(chromedp.CSS("header form button")),
		chromedp.WaitVisible(chromedp.CSS("#login")))
}

// TestDutyConsoleInABrowser: a township's duty staff sign in, an SOS published on
// MQTT appears on the open page without a reload, they take it (the others paged get
// 'taken by' SMS) and close it with an outcome; the audit trail has each step with the
// person. Another township's staff do not see it. A one-tap SMS link acknowledges once
// and refuses a second use and a tampered token.
func TestDutyConsoleInABrowser(t *testing.T) {
	e := newAlertEnv(t)
	e.cfg.HTTP.PublicURL = e.public
	e.addUser(registry.User{Name: "duty-blt", Display: "巴伦台镇卫生院值班", Role: auth.RoleTownshipDuty,
		County: "和静县", Township: "巴伦台镇"}, "duty password 1")
	e.addUser(registry.User{Name: "duty-other", Display: "别的乡镇值班", Role: auth.RoleTownshipDuty,
		County: "和静县", Township: "巴润哈尔莫敦镇"}, "duty password 2")
	r := e.start()
	b := newBrowser(t, e.public)

	b.signIn("duty-blt", "duty password 1")
	if s := b.text("#none"); !strings.Contains(s, "没有待处理的警报") {
		t.Fatalf("empty open page says %q", s)
	}
	browserValue(b, chromedp.Evaluate[bool](`window.__notReloaded = true`))
	dev := publishClient(t, e.mq.URL, "hj-0002-sos")
	publish(t, dev, "carebed/v1/hj-0002-sos/telemetry", protocol.EncodeReading(protocol.Reading{Seq: 100,
		TS: time.Now().Add(-time.Minute).UnixMilli(), Battery: f64(87), RSSI: f64(-71)}))
	waitFor(t, 20*time.Second, "the reading in InfluxDB", func() (bool, string) {
		n := e.influx.Count(t, `SELECT COUNT(battery) FROM telemetry`)
		return n == 1, fmt.Sprint(n)
	})
	publish(t, dev, "carebed/v1/hj-0002-sos/event", protocol.EncodeEvent(protocol.Event{Seq: 1, TS: time.Now().UnixMilli(), Type: protocol.EventSOS}))

	// The SOS arrives live: no reload (the marker survives), a title badge.
	b.run(chromedp.WaitVisible(chromedp.CSS(`#alerts a[data-id]`)))
	if !browserValue(b, chromedp.Evaluate[bool](`window.__notReloaded === true`)) {
		t.Error("the page reloaded to show the alert; it must arrive live")
	}
	waitFor(t, 10*time.Second, "the paged alert on the page", func() (bool, string) {
		s := b.text(`#alerts a[data-id]`)
		return strings.Contains(s, "紧急呼叫") && strings.Contains(s, "巴伦台村") && strings.Contains(s, "已通知"), s
	})
	if title := browserValue(b, chromedp.Title()); !strings.HasPrefix(title, "(1) ") {
		t.Errorf("title %q has no badge for the waiting alert", title)
	}
	b.screenshot("open-phone", 390, 844)
	b.screenshot("open-desktop", 1280, 800)
	e.waitSMS(t, doctorPhone, 1, 10*time.Second)

	// Take it, then close it with an outcome.
	b.run(chromedp.Click(chromedp.CSS(`#alerts a[data-id]`)), chromedp.WaitVisible(chromedp.CSS("#ack")))
	if s := b.text("main"); !strings.Contains(s, "测试老人乙") || !strings.Contains(s, "87") || !strings.Contains(s, "村医") {
		t.Errorf("the alert page lacks the elder, the recent battery reading or the contacts' roles:\n%s", s)
	}
	b.screenshot("alert-phone", 390, 844)
	b.run(chromedp.Click(chromedp.CSS("#ack")), chromedp.WaitVisible(chromedp.CSS(`#alert[data-state="acknowledged"]`)))
	if s := b.text("#holder"); !strings.Contains(s, "巴伦台镇卫生院值班") {
		t.Errorf("after taking it the page says %q", s)
	}
	for _, phone := range []string{doctorPhone, familyPhone, visitPhone} {
		taken := e.waitSMS(t, phone, 2, 10*time.Second)
		if last := taken[len(taken)-1]; !strings.Contains(last, "巴伦台镇卫生院值班") || !strings.Contains(last, "接手") {
			t.Errorf("'taken by' notice to %s: %q", phone, last)
		}
	}
	b.run(chromedp.SetValue(chromedp.CSS("#outcome-select"), "handled_at_home"),
		chromedp.SendKeys(chromedp.CSS("#note"), "老人按错了按钮，已上门查看"))
	b.screenshot("alert-desktop", 1280, 900)
	b.run(chromedp.Click(chromedp.CSS("#resolve")), chromedp.WaitVisible(chromedp.CSS(`#alert[data-state="resolved"]`)))
	if s := b.text("#state"); s != "已结束" {
		t.Errorf("state after closing: %q", s)
	}
	timeline := b.text("#timeline")
	for _, want := range []string{"警报产生", "已发送通知", "已接手", "已结束", "巴伦台镇卫生院值班"} {
		if !strings.Contains(timeline, want) {
			t.Errorf("timeline lacks %q:\n%s", want, timeline)
		}
	}
	trail := auditOf(t, e, 1)
	for _, want := range []string{"acknowledged by user/duty-blt via console", "resolved by user/duty-blt via console"} {
		if !strings.Contains(trail, want) {
			t.Errorf("audit trail lacks %q:\n%s", want, trail)
		}
	}
	b.run(chromedp.Navigate(e.public + "/console/resolved"))
	if s := b.text("main"); !strings.Contains(s, "在家处理") || !strings.Contains(s, "接手用时") {
		t.Errorf("resolved page: %q", s)
	}
	b.screenshot("resolved-phone", 390, 844)

	// Another township's duty staff see nothing of it.
	b.signOut()
	b.signIn("duty-other", "duty password 2")
	b.run(chromedp.Navigate(e.public + "/console/resolved"))
	if s := b.text("main"); strings.Contains(s, "巴伦台村") {
		t.Errorf("another township sees the alert: %q", s)
	}
	code, _ := getWithCookie(t, b, e.public+"/console/alerts/1")
	if code != 404 {
		t.Errorf("another township opens the alert page: %d, want 404", code)
	}
	b.signOut()

	// A second SOS: the doctor's SMS carries a one-tap link.
	publish(t, dev, "carebed/v1/hj-0002-sos/event", protocol.EncodeEvent(protocol.Event{Seq: 2, TS: time.Now().UnixMilli(), Type: protocol.EventSOS}))
	linkRE := regexp.MustCompile(`http://[^ ，。]+/a/[A-Za-z0-9_-]{16}`)
	var link string
	waitFor(t, 10*time.Second, "the second page to the doctor, with its link", func() (bool, string) {
		sms := e.smsTo(doctorPhone)
		var links []string
		for _, text := range sms {
			if l := linkRE.FindString(text); l != "" {
				links = append(links, l)
			}
		}
		if len(links) >= 2 { // the first alert's page had one too
			link = links[len(links)-1]
		}
		return link != "", fmt.Sprint(sms)
	})
	b.run(chromedp.Navigate(link))
	if s := b.text("#link"); !strings.Contains(s, "紧急呼叫") {
		t.Errorf("link page: %q", s)
	}
	b.screenshot("link-phone", 390, 844)
	b.run(chromedp.Click(chromedp.CSS("#link-ack")), chromedp.WaitVisible(chromedp.CSS("#link-message")))
	if s := b.text("#link-message"); !strings.Contains(s, "已确认") {
		t.Errorf("after the tap: %q", s)
	}
	waitFor(t, 10*time.Second, "the alert acknowledged by the doctor through the link", func() (bool, string) {
		trail := auditOf(t, e, 2)
		return strings.Contains(trail, "acknowledged by home/H-0002/1 via link"), trail
	})
	e.waitSMS(t, familyPhone, 4, 10*time.Second) // the family hears the doctor took it

	b.run(chromedp.Navigate(link))
	if s := b.text("#link-message"); !strings.Contains(s, "已经用过") {
		t.Errorf("second use of the link: %q", s)
	}
	if code, body := call(t, "POST", link, "", ""); code != 410 || !strings.Contains(body, "已经用过") {
		t.Errorf("second POST of the link: %d", code)
	}
	tampered := link[:len(link)-1] + flip(link[len(link)-1])
	b.run(chromedp.Navigate(tampered))
	if s := b.text("#link-message"); !strings.Contains(s, "无效") {
		t.Errorf("tampered link: %q", s)
	}
	if code, _ := call(t, "POST", tampered, "", ""); code != 404 {
		t.Errorf("POST of a tampered link: %d, want 404", code)
	}
	_ = r
}

func flip(c byte) string {
	if c == 'A' {
		return "B"
	}
	return "A"
}

// auditOf renders an alert's audit trail as "what by actor via channel" lines.
func auditOf(t *testing.T, e *alertEnv, id int) string {
	t.Helper()
	code, body := call(t, "GET", fmt.Sprintf("%s/api/v1/alerts/%d", e.public, id), e.admin, "")
	if code != 200 {
		t.Fatalf("GET alert %d: %d %s", id, code, body)
	}
	var detail struct {
		Audit []struct{ What, Actor, Channel string } `json:"audit"`
	}
	if err := jsonUnmarshal(body, &detail); err != nil {
		t.Fatal(err)
	}
	var sb strings.Builder
	for _, r := range detail.Audit {
		fmt.Fprintf(&sb, "%s by %s via %s\n", r.What, r.Actor, r.Channel)
	}
	return sb.String()
}

// getWithCookie fetches url in the browser's session and returns the status.
func getWithCookie(t *testing.T, b *browser, url string) (int, string) {
	t.Helper()
	type result struct {
		Status int    `json:"status"`
		Body   string `json:"body"`
	}
	res := browserValue(b, chromedp.Evaluate[result](fmt.Sprintf(
		`fetch(%q, {credentials: 'same-origin'}).then(r => r.text().then(t => ({status: r.status, body: t})))`, url),
		chromedp.EvalAwaitPromise))
	return res.Status, res.Body
}

// TestConsoleStreamsEndWhenTheGatewayStops: an open page's live stream must not keep
// a stopping gateway (or its port) busy.
func TestConsoleStreamsEndWhenTheGatewayStops(t *testing.T) {
	e := newEnv(t, true)
	token := e.addUser(registry.User{Name: "duty-2", Display: "值班2", Role: auth.RoleCountyAdmin, County: "和静县"}, "")
	r := e.start()
	req, _ := http.NewRequest("GET", "http://"+r.g.HTTPAddr()+"/console/events", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("events: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	ended := make(chan error, 1)
	go func() { _, err := io.Copy(io.Discard, resp.Body); ended <- err }()
	r.stop()
	select {
	case <-ended:
	case <-time.After(30 * time.Second):
		t.Fatal("the event stream stayed open after the gateway stopped")
	}
}
