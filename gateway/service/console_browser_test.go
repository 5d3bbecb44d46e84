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
	"go.yaml.in/yaml/v3"

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

// browserPolicy is testPolicy with the clinic's step at 2 minutes, so that the
// countdown to it can be read, and a compact page text that, with the test's long
// one-tap link, still fits one SMS segment (the default text drops the link then).
const browserPolicy = `
rules:
  fall_hold_off: 2s
ladders:
  critical:
    steps:
      - {after: 0s, notify: [family, village_doctor, village_visitor], channels: [sms]}
      - {after: 120s, notify: [township_clinic], channels: [sms]}
    repeat: 0s
templates:
  page: "【巴州家庭养老床位】{{.KindZH}}回1或{{.Code}}{{if .Link}} {{.Link}}{{end}}"
`

// textNow is the text of the first element matching sel now ("" when none), read in
// one script: a live list replaced under chromedp's node ids cannot fail it.
func (b *browser) textNow(sel string) string {
	b.t.Helper()
	return browserValue(b, chromedp.Evaluate[string](fmt.Sprintf(
		`(function () { var e = document.querySelector(%q); return e ? e.textContent.trim() : ''; })()`, sel)))
}

// cardOrder returns the ids of the open alerts' cards, top to bottom.
func (b *browser) cardOrder() string {
	b.t.Helper()
	return browserValue(b, chromedp.Evaluate[string](
		`Array.from(document.querySelectorAll('#alerts a[data-id]')).map(a => a.dataset.id).join(' ')`))
}

// TestDutyConsoleInABrowser: a township's duty staff sign in, an SOS published on
// MQTT appears on the open page without a reload; its age ticks with no event and a
// countdown says when the clinic is paged; the list puts the most severe first,
// then those nobody has, then the longest waiting. They take it (a confirmation;
// the others paged get 'taken by' SMS) and close it with an outcome they must choose
// and a note the page then shows; the audit trail has each step with the person. A
// device cancel after paging shows on the card, the alert and the timeline, and
// reaches those paged by SMS. A hand-over (not offered to the holder) sends the new
// holder an SMS whose link shows the address and numbers to call. Another township's
// staff do not see it. A one-tap SMS link acknowledges once, then shows its person
// what they took; a tampered one gives the duty number.
func TestDutyConsoleInABrowser(t *testing.T) {
	e := newAlertEnv(t)
	e.cfg.HTTP.PublicURL = e.public
	var node yaml.Node
	if err := yaml.Unmarshal([]byte(browserPolicy), &node); err != nil {
		t.Fatal(err)
	}
	e.cfg.Alerting = node
	e.addUser(registry.User{Name: "duty-blt", Display: "巴伦台镇卫生院值班", Role: auth.RoleTownshipDuty,
		County: "和静县", Township: "巴伦台镇"}, "duty password 1")
	e.addUser(registry.User{Name: "duty-blt-2", Display: "巴伦台镇夜班", Role: auth.RoleTownshipDuty,
		County: "和静县", Township: "巴伦台镇"}, "duty password 3")
	e.addUser(registry.User{Name: "doc-blt", Display: "测试村医乙", Role: auth.RoleVillageDoctor,
		County: "和静县", Township: "巴伦台镇", Village: "巴伦台村", Phone: doctorPhone}, "doctor password")
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
	if title := browserValue(b, chromedp.Title()); !strings.HasPrefix(title, "(1) ") || !strings.Contains(title, "乡镇值班台") {
		t.Errorf("title %q has no badge for the waiting alert", title)
	}
	e.waitSMS(t, doctorPhone, 1, 10*time.Second)
	e.waitSMS(t, familyPhone, 1, 10*time.Second)
	e.waitSMS(t, visitPhone, 1, 10*time.Second)
	if s := b.textNow(`#alerts a[data-id="1"] .nobody`); s != "无人接手" {
		t.Errorf("an untaken alert's card says %q, want 无人接手 (in red)", s)
	}
	if red := browserValue(b, chromedp.Evaluate[string](
		`getComputedStyle(document.querySelector('#alerts .nobody')).backgroundColor`)); red != "rgb(198, 40, 40)" {
		t.Errorf("无人接手 is drawn on %s, want red", red)
	}
	if s := b.textNow(`#alerts a[data-id="1"] .next`); !strings.Contains(s, "分钟后升级到卫生院") {
		t.Errorf("countdown %q, want 'X分钟后升级到卫生院'", s)
	}

	// The age ticks every second with no event from the server: the list is not
	// fetched again (the fetches are counted) while its text changes.
	browserValue(b, chromedp.Evaluate[bool](`(function () {
		window.__fetches = 0;
		var f = window.fetch;
		window.fetch = function () { window.__fetches++; return f.apply(this, arguments); };
		return true; })()`))
	ticked := false
	for try := 0; try < 5 && !ticked; try++ {
		before := b.textNow(`#alerts a[data-id="1"] .age`)
		fetches := browserValue(b, chromedp.Evaluate[int](`window.__fetches`))
		time.Sleep(2200 * time.Millisecond)
		after := b.textNow(`#alerts a[data-id="1"] .age`)
		if browserValue(b, chromedp.Evaluate[int](`window.__fetches`)) != fetches {
			continue // an event came in; try another quiet window
		}
		if after == before {
			t.Fatalf("the age stayed %q for 2 s without an event", before)
		}
		ticked = true
	}
	if !ticked {
		t.Fatal("no quiet 2 s without an event to watch the age tick in")
	}

	// A held fall of the same home and a low battery (a warning): the most severe
	// first, then the ones nobody has, then the longest waiting.
	fall := publishClient(t, e.mq.URL, "hj-0002-fall")
	publish(t, fall, "carebed/v1/hj-0002-fall/event", protocol.EncodeEvent(protocol.Event{Seq: 1, TS: time.Now().UnixMilli(), Type: protocol.EventFall}))
	waitFor(t, 10*time.Second, "the held fall on the page", func() (bool, string) {
		order := b.cardOrder()
		return order == "1 2", order
	})
	publish(t, dev, "carebed/v1/hj-0002-sos/telemetry", protocol.EncodeReading(protocol.Reading{Seq: 101,
		TS: time.Now().UnixMilli(), Battery: f64(9), RSSI: f64(-71)}))
	waitFor(t, 15*time.Second, "the fall paged and the low battery on the page", func() (bool, string) {
		order := b.cardOrder()
		return order == "1 2 3" && strings.Contains(b.textNow(`#alerts a[data-id="2"]`), "已通知"), order
	})
	e.waitSMS(t, doctorPhone, 2, 10*time.Second)

	// Take the SOS: a confirmation, and the others paged are told who has it.
	b.run(chromedp.Click(chromedp.CSS(`#alerts a[data-id="1"]`)), chromedp.WaitVisible(chromedp.CSS("#ack")))
	if s := b.text("main"); !strings.Contains(s, "测试老人乙") || !strings.Contains(s, "87") || !strings.Contains(s, "村医") {
		t.Errorf("the alert page lacks the elder, the recent battery reading or the contacts' roles:\n%s", s)
	}
	if s := b.text("#next"); !strings.Contains(s, "升级到卫生院") {
		t.Errorf("the alert's countdown: %q", s)
	}
	b.screenshot("alert-phone", 390, 844)
	b.run(chromedp.Click(chromedp.CSS("#ack")), chromedp.WaitVisible(chromedp.CSS(`#alert[data-state="acknowledged"]`)))
	if s := b.text("#holder"); !strings.Contains(s, "巴伦台镇卫生院值班") {
		t.Errorf("after taking it the page says %q", s)
	}
	if s := b.text("#flash"); !strings.Contains(s, "您已接手") {
		t.Errorf("no confirmation after taking it: %q", s)
	}
	for _, phone := range []string{doctorPhone, familyPhone, visitPhone} {
		waitFor(t, 10*time.Second, "the 'taken' notice to "+phone, func() (bool, string) {
			sms := e.smsTo(phone)
			for _, text := range sms {
				if strings.Contains(text, "巴伦台镇卫生院值班已接手") && strings.Contains(text, "测试老人乙") {
					return true, ""
				}
			}
			return false, fmt.Sprint(sms)
		})
	}

	// The list now: the untaken fall, the taken SOS, then the warning.
	b.run(chromedp.Navigate(e.public+"/console/"), chromedp.WaitVisible(chromedp.CSS(`#alerts a[data-id]`)))
	if order := b.cardOrder(); order != "2 1 3" {
		t.Errorf("order after taking the SOS: %s, want 2 1 3 (critical untaken, critical taken, warning)", order)
	}

	// The fall's device cancels after the pages went out: the alert stays open, the
	// card and the page say so, the timeline has it, those paged are told.
	publish(t, fall, "carebed/v1/hj-0002-fall/event", protocol.EncodeEvent(protocol.Event{Seq: 2, TS: time.Now().UnixMilli(), Type: protocol.EventFallCancel, Cancels: 1}))
	waitFor(t, 10*time.Second, "the cancel on the fall's card", func() (bool, string) {
		n := browserValue(b, chromedp.Evaluate[int](`document.querySelectorAll('#alerts a[data-id="2"] .cancelled').length`))
		return n == 1, b.textNow(`#alerts a[data-id="2"]`)
	})
	b.screenshot("open-phone", 390, 844)
	b.screenshot("open-desktop", 1280, 800)
	for _, phone := range []string{doctorPhone, familyPhone, visitPhone} {
		waitFor(t, 10*time.Second, "the cancel SMS to "+phone, func() (bool, string) {
			sms := e.smsTo(phone)
			return strings.Contains(sms[len(sms)-1], "按了取消"), fmt.Sprint(sms)
		})
	}
	b.run(chromedp.Navigate(e.public + "/console/alerts/2"))
	if s := b.text("#cancelled"); !strings.Contains(s, "按了取消") {
		t.Errorf("the fall's page on the cancel: %q", s)
	}
	if s := b.text("#timeline"); !strings.Contains(s, "设备按了取消") {
		t.Errorf("timeline lacks the device cancel:\n%s", s)
	}
	if s := b.text("#state"); s == "已结束" {
		t.Error("the device cancel after paging closed the alert")
	}

	// Close the SOS: no outcome is chosen for them; the note shows afterwards.
	b.run(chromedp.Navigate(e.public+"/console/alerts/1"), chromedp.WaitVisible(chromedp.CSS("#resolve")))
	if v := browserValue(b, chromedp.Evaluate[string](`document.querySelector('#outcome-select').value`)); v != "" {
		t.Errorf("the close form preselects %q; it must make them choose", v)
	}
	b.run(chromedp.SendKeys(chromedp.CSS("#note"), "老人按错了按钮，已上门查看"))
	b.screenshot("alert-desktop", 1280, 900)
	b.run(chromedp.Click(chromedp.CSS("#resolve")), chromedp.Sleep(300*time.Millisecond))
	if state := browserValue(b, chromedp.Evaluate[string](`document.querySelector('#alert').dataset.state`)); state != "acknowledged" {
		t.Errorf("closed without an outcome chosen: %s", state)
	}
	b.run(chromedp.SetValue(chromedp.CSS("#outcome-select"), "handled_at_home"),
		chromedp.Click(chromedp.CSS("#resolve")), chromedp.WaitVisible(chromedp.CSS(`#alert[data-state="resolved"]`)))
	if s := b.text("#state"); s != "已结束" {
		t.Errorf("state after closing: %q", s)
	}
	if s := b.text("#close-note"); !strings.Contains(s, "老人按错了按钮") {
		t.Errorf("the close note on the alert: %q", s)
	}
	timeline := b.text("#timeline")
	for _, want := range []string{"警报产生", "已发送通知", "短信", "已接手", "已结束", "在家处理", "巴伦台镇卫生院值班"} {
		if !strings.Contains(timeline, want) {
			t.Errorf("timeline lacks %q:\n%s", want, timeline)
		}
	}
	for _, raw := range []string{"raised", "(sms)", "page", "step", "seq", "handled_at_home", "console"} {
		if strings.Contains(timeline, raw) {
			t.Errorf("timeline shows the raw %q:\n%s", raw, timeline)
		}
	}
	trail := auditOf(t, e, 1)
	for _, want := range []string{"acknowledged by user/duty-blt via console", "resolved by user/duty-blt via console"} {
		if !strings.Contains(trail, want) {
			t.Errorf("audit trail lacks %q:\n%s", want, trail)
		}
	}
	b.run(chromedp.Navigate(e.public + "/console/resolved"))
	if s := b.text("main"); !strings.Contains(s, "在家处理") || !strings.Contains(s, "接手用时") || !strings.Contains(s, "老人按错了按钮") {
		t.Errorf("resolved page: %q", s)
	}
	b.screenshot("resolved-phone", 390, 844)

	// Hand-over: duty-blt takes the fall; the night shift (duty-blt-2) hands it to
	// the village doctor. The holder is not offered; the doctor gets an SMS with the
	// link, which shows the address and numbers to call.
	b.run(chromedp.Navigate(e.public+"/console/alerts/2"), chromedp.WaitVisible(chromedp.CSS("#ack")),
		chromedp.Click(chromedp.CSS("#ack")), chromedp.WaitVisible(chromedp.CSS(`#alert[data-state="acknowledged"]`)))
	b.signOut()
	b.signIn("duty-blt-2", "duty password 3")
	b.run(chromedp.Navigate(e.public+"/console/alerts/2"), chromedp.WaitVisible(chromedp.CSS("#handover")))
	offered := browserValue(b, chromedp.Evaluate[string](
		`Array.from(document.querySelectorAll('#to option')).map(o => o.value).join(' ')`))
	if o := " " + offered + " "; !strings.Contains(o, " doc-blt ") || strings.Contains(o, " duty-blt ") || strings.Contains(o, " duty-blt-2 ") {
		t.Errorf("hand-over offers %q, want doc-blt and neither the holder (duty-blt) nor me (duty-blt-2)", offered)
	}
	before := len(e.smsTo(doctorPhone))
	b.run(chromedp.SetValue(chromedp.CSS("#to"), "doc-blt"), chromedp.Click(chromedp.CSS("#handover")),
		chromedp.WaitVisible(chromedp.CSS("#flash")))
	if s := b.text("#flash"); !strings.Contains(s, "已转交") {
		t.Errorf("after the hand-over: %q", s)
	}
	linkRE := regexp.MustCompile(`http://[^ ，。]+/a/[A-Za-z0-9_-]{16}`)
	var handLink string
	waitFor(t, 10*time.Second, "the hand-over SMS to the doctor", func() (bool, string) {
		sms := e.smsTo(doctorPhone)
		if len(sms) > before && strings.Contains(sms[len(sms)-1], "交给您处理") {
			handLink = linkRE.FindString(sms[len(sms)-1])
		}
		return handLink != "", fmt.Sprint(sms)
	})
	b.signOut()
	for _, visit := range []string{"first", "reopened"} {
		b.run(chromedp.Navigate(handLink), chromedp.WaitVisible(chromedp.CSS("#link-yours")))
		checkYours(t, b, visit+" hand-over link")
	}

	// Another township's duty staff see nothing of it.
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

	// A second SOS: the doctor's SMS carries a one-tap link (the site's compact
	// page text leaves room for it).
	publish(t, dev, "carebed/v1/hj-0002-sos/event", protocol.EncodeEvent(protocol.Event{Seq: 2, TS: time.Now().UnixMilli(), Type: protocol.EventSOS}))
	var link string
	waitFor(t, 10*time.Second, "the second SOS's page to the doctor, with its link", func() (bool, string) {
		sms := e.smsTo(doctorPhone)
		last := sms[len(sms)-1]
		if strings.Contains(last, "紧急呼叫回1或") {
			link = linkRE.FindString(last)
		}
		return link != "", fmt.Sprint(sms)
	})
	b.run(chromedp.Navigate(link))
	if s := b.text("#link"); !strings.Contains(s, "紧急呼叫") {
		t.Errorf("link page: %q", s)
	}
	b.run(chromedp.Click(chromedp.CSS("#link-ack")), chromedp.WaitVisible(chromedp.CSS("#link-message")))
	if s := b.text("#link-message"); !strings.Contains(s, "已确认") {
		t.Errorf("after the tap: %q", s)
	}
	checkYours(t, b, "after the tap")
	b.screenshot("link-phone", 390, 844)
	waitFor(t, 10*time.Second, "the alert acknowledged by the doctor through the link", func() (bool, string) {
		trail := auditOf(t, e, 4)
		return strings.Contains(trail, "acknowledged by home/H-0002/1 via link"), trail
	})
	waitFor(t, 10*time.Second, "the family told the doctor took it, with the doctor's phone", func() (bool, string) {
		sms := e.smsTo(familyPhone)
		return strings.Contains(sms[len(sms)-1], "已接手，电话13800000012"), fmt.Sprint(sms)
	})

	// Reopened by the same person: what they took, not "used".
	b.run(chromedp.Navigate(link), chromedp.WaitVisible(chromedp.CSS("#link-yours")))
	checkYours(t, b, "reopened link")
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

// checkYours checks the one-tap page of the person who holds the alert: the address,
// tel: links for the home's people and the clinic, and who else was paged.
func checkYours(t *testing.T, b *browser, what string) {
	t.Helper()
	if s := b.text("#link-yours"); !strings.Contains(s, "巴伦台村二组7号") || !strings.Contains(s, "同时被通知的人") {
		t.Errorf("%s: the page lacks the address or who else was paged:\n%s", what, s)
	}
	tels := browserValue(b, chromedp.Evaluate[string](
		`Array.from(document.querySelectorAll('#link-yours a[href^="tel:"]')).map(a => a.getAttribute('href')).join(' ')`))
	for _, want := range []string{"13800000012", "13900000013", "13800000011", "13800000019"} {
		if !strings.Contains(tels, want) {
			t.Errorf("%s: no tel: link for %s in %q", what, want, tels)
		}
	}
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
