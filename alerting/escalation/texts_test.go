package escalation

import (
	"context"
	"strings"
	"testing"
	"time"

	"carebed/alerting"
	"carebed/alerting/notify"
	"carebed/alerting/policy"
)

// textTo returns the last text of purpose sent to person id.
func (r *recorder) textTo(purpose notify.Purpose, id string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	text := ""
	for _, n := range r.sent {
		if n.Purpose == purpose && n.To.ID == id {
			text = n.Text
		}
	}
	return text
}

// TestSMSByAudience: the family is told who is coming and asked nothing; the
// responders' page asks them to reply and carries the link only when it still fits
// one segment; the clinic's page says nobody answered; the 'taken' notice names the
// elder, who took it and their phone; a device cancel after paging reaches everyone
// paged. Times are the gateway's receive time in Beijing time, not the device's.
func TestSMSByAudience(t *testing.T) {
	for _, c := range []struct {
		name, link string
		linked     bool
	}{
		{"short public address: the link fits", "https://c.cn/a/AbCdEfGh", true},
		{"long public address: the link is dropped", "https://carebed.example.cn/a/AbCdEfGhIjKlMnOp", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t)
			r := New(Options{Store: f.store, Policy: policy.Default().WithLocation(time.FixedZone("CST", 8*3600)),
				Directory: directory{}, Notifiers: map[string]notify.Notifier{"sms": f.sms},
				Retry: notify.RetryOptions{Min: time.Millisecond, Max: time.Millisecond}, Now: f.clk.now,
				Location: time.FixedZone("CST", 8*3600),
				Link:     func(context.Context, alerting.Alert, alerting.Person) (string, error) { return c.link, nil }})
			// The device's clock runs 2 minutes fast: 11:02 on it, 11:00 at the gateway.
			a, _, err := f.store.Raise(context.Background(), alerting.Raise{Kind: alerting.KindSOS, Sev: alerting.Critical,
				Place: place, Device: "hj-0002-sos", EventAt: t0.Add(2 * time.Minute), Now: t0})
			if err != nil {
				t.Fatal(err)
			}
			f.at(r, 0)
			doctor := people[alerting.ReceiverVillageDoctor][0]
			family := people[alerting.ReceiverFamily][0]
			visitor := people[alerting.ReceiverVillageVisitor][0]
			clinic := people[alerting.ReceiverTownshipClinic][0]

			page := f.sms.textTo(notify.PurposePage, doctor.ID)
			wantPage := "【巴州家庭养老床位】紧急呼叫：巴伦台村老人乙，11:00。回复1或" + a.Code + "表示您去处理"
			if c.linked {
				wantPage += " " + c.link
			}
			if page != wantPage {
				t.Errorf("doctor's page\n got %s\nwant %s", page, wantPage)
			}
			fam := f.sms.textTo(notify.PurposePage, family.ID)
			if want := "【巴州家庭养老床位】老人乙11:00紧急呼叫。已请村医村医乙上门，电话13800000012。您不用回复。"; fam != want {
				t.Errorf("family's message\n got %s\nwant %s", fam, want)
			}

			f.at(r, 3*time.Minute)
			esc := f.sms.textTo(notify.PurposePage, clinic.ID)
			if !strings.HasPrefix(esc, "【巴州家庭养老床位】3分钟无人接手！紧急呼叫：巴伦台村老人乙，11:00。回复1或"+a.Code) {
				t.Errorf("clinic's page at 3 min: %s", esc)
			}

			f.clk.t = t0.Add(4 * time.Minute)
			if _, err := r.Ack(context.Background(), a.ID, doctor, "sms"); err != nil {
				t.Fatal(err)
			}
			r.sending.Wait()
			taken := f.sms.textTo(notify.PurposeTaken, family.ID)
			if want := "【巴州家庭养老床位】巴伦台村老人乙紧急呼叫：村医村医乙已接手，电话13800000012。"; taken != want {
				t.Errorf("'taken' notice\n got %s\nwant %s", taken, want)
			}

			f.clk.t = t0.Add(5 * time.Minute)
			if err := r.DeviceCancelled(context.Background(), a, f.clk.t); err != nil {
				t.Fatal(err)
			}
			r.sending.Wait()
			for _, p := range []alerting.Person{doctor, family, visitor, clinic} {
				got := f.sms.textTo(notify.PurposeCancelled, p.ID)
				if want := "【巴州家庭养老床位】巴伦台村老人乙的设备11:05按了取消。紧急呼叫警报仍开着，请打电话或上门看一眼。"; got != want {
					t.Errorf("cancel notice to %s\n got %s\nwant %s", p.ID, got, want)
				}
			}
			for _, n := range f.sms.sent {
				if s := policy.Segments(n.Text); s != 1 {
					t.Errorf("%s to %s is %d characters, %d segments: %s", n.Purpose, n.To.ID, policy.Chars(n.Text), s, n.Text)
				}
			}
		})
	}
}

// The pages of a herder's device gone offline say where and when it was last heard
// of (issue 17, item 5), as an SOS's say where to go; a low battery's do not.
func TestOfflinePageNamesLastPosition(t *testing.T) {
	const where = "距巴伦台村 23 公里 西北（3 小时前） https://uri.amap.com/marker?position=86.09000,42.89000"
	for _, c := range []struct {
		kind alerting.Kind
		want bool
	}{{alerting.KindDeviceOffline, true}, {alerting.KindSOS, true}, {alerting.KindLowBattery, false}} {
		f := newFixture(t)
		pol, err := policy.Parse([]byte("quiet_hours: {severities: []}\n"))
		if err != nil {
			t.Fatal(err)
		}
		r := New(Options{Store: f.store, Policy: pol.WithLocation(time.FixedZone("CST", 8*3600)),
			Directory: directory{}, Notifiers: map[string]notify.Notifier{"sms": f.sms},
			Retry: notify.RetryOptions{Min: time.Millisecond, Max: time.Millisecond}, Now: f.clk.now,
			Where: func(context.Context, alerting.Alert) string { return where }})
		sev := alerting.Warning
		if c.kind == alerting.KindSOS {
			sev = alerting.Critical
		}
		if _, _, err := f.store.Raise(context.Background(), alerting.Raise{Kind: c.kind, Sev: sev,
			Place: place, Device: "hj-0002-sos", EventAt: t0, Now: t0}); err != nil {
			t.Fatal(err)
		}
		f.at(r, 0)
		var page string
		for _, n := range f.sms.sent {
			if n.To.Role != alerting.ReceiverFamily {
				page = n.Text
			}
		}
		if page == "" || strings.Contains(page, "位置："+where) != c.want {
			t.Errorf("%s: page %q, want the position: %v", c.kind, page, c.want)
		}
	}
}
