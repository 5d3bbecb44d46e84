package service

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"go.yaml.in/yaml/v3"

	"carebed/gateway/auth"
	"carebed/gateway/protocol"
	"carebed/gateway/registry"
)

// TestVisitsPageInABrowser: a township's duty staff open the console's 探访 page and
// see H-0002 due; a round with a blood pressure of 300/20 is refused with the reason
// and nothing is recorded; a corrected round is recorded and listed, unconfirmed
// until the bed sensor's motion (5 minutes before it, arriving after it) confirms
// it; another township's staff see neither the home nor the round.
func TestVisitsPageInABrowser(t *testing.T) {
	e := newAlertEnv(t)
	var node yaml.Node
	if err := yaml.Unmarshal([]byte(testPolicy+"visits:\n  due_list_at: \"23:59\"\n"), &node); err != nil {
		t.Fatal(err)
	}
	e.cfg.Alerting = node
	e.importLedger(visitsLedger)
	e.addUser(registry.User{Name: "duty-blt", Display: "巴伦台镇卫生院值班", Role: auth.RoleTownshipDuty,
		County: "和静县", Township: "巴伦台镇"}, "duty password 1")
	e.addUser(registry.User{Name: "duty-other", Display: "别的乡镇值班", Role: auth.RoleTownshipDuty,
		County: "和静县", Township: "巴润哈尔莫敦镇"}, "duty password 2")
	r := e.start()

	b := newBrowser(t, e.public)
	b.signIn("duty-blt", "duty password 1")
	b.run(chromedp.Navigate(e.public + "/console/visits"))
	if s := b.text("#visits-due table"); !strings.Contains(s, "H-0002") || !strings.Contains(s, "巡诊") || !strings.Contains(s, "从未") {
		t.Errorf("due list: %q", s)
	}
	fill := func(bp string) {
		b.run(chromedp.SendKeys(chromedp.CSS("#v-home"), "H-0002"), chromedp.SetValue(chromedp.CSS("#v-kind"), "round"),
			chromedp.SetValue(chromedp.CSS("#v-state"), "good"), chromedp.SendKeys(chromedp.CSS("#v-bp"), bp),
			chromedp.SendKeys(chromedp.CSS("#v-hr"), "72"), chromedp.Click(chromedp.CSS("#v-submit")))
	}
	fill("300/20")
	if s := b.text("#visits-error"); !strings.Contains(s, "血压“300/20”不对") {
		t.Errorf("refused round says %q", s)
	}
	if s := b.text("#visits-recent"); strings.Contains(s, "H-0002") {
		t.Errorf("a refused round was recorded: %q", s)
	}
	b.screenshot("visits-phone", 390, 844)
	fill("135/85")
	b.run(chromedp.WaitVisible(chromedp.CSS("#flash")))
	s := b.text("#visits-recent")
	for _, want := range []string{"H-0002", "巡诊", "血压135/85 心率72", "值班台", "好", "未核实"} {
		if !strings.Contains(s, want) {
			t.Errorf("recent list lacks %q: %q", want, s)
		}
	}
	// The bed sensor's motion, 5 minutes before the round by the device's clock,
	// arrives after it and confirms it.
	dev := publishClient(t, e.mq.URL, "hj-0002-bed")
	publish(t, dev, "carebed/v1/hj-0002-bed/telemetry", protocol.EncodeReading(protocol.Reading{Seq: 5,
		TS: time.Now().Add(-5 * time.Minute).UnixMilli(), Motion: f64(0.7)}))
	waitFor(t, 15*time.Second, "the round confirmed by the sensor", func() (bool, string) {
		b.run(chromedp.Navigate(e.public + "/console/visits"))
		s := b.text("#visits-recent")
		return strings.Contains(s, "已核实"), s
	})
	if s := b.text("#visits-due table"); strings.Contains(s, "巡诊") || !strings.Contains(s, "探访") {
		t.Errorf("the round is still due: %q", s)
	}
	if n := metric(t, r.reg, "carebed_visits_checkins_total", map[string]string{"kind": "round", "source": "console", "confirmed": "false"}); n != 1 {
		t.Errorf("console rounds recorded (unconfirmed at recording) = %v, want 1", n)
	}
	b.screenshot("visits-desktop", 1280, 900)

	b.signOut()
	b.signIn("duty-other", "duty password 2")
	b.run(chromedp.Navigate(e.public + "/console/visits"))
	if s := b.text("main"); strings.Contains(s, "H-0002") {
		t.Errorf("another township sees H-0002: %q", s)
	}
	b.run(chromedp.SendKeys(chromedp.CSS("#v-home"), "H-0002"), chromedp.Click(chromedp.CSS("#v-submit")))
	if s := b.text("#visits-error"); !strings.Contains(s, "您的辖区没有这个户编号") {
		t.Errorf("another township recording H-0002: %q", s)
	}
}
