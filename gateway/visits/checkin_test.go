package visits

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"carebed/gateway/points"
	"carebed/gateway/protocol"
)

func TestSMSCheckIns(t *testing.T) {
	eachBackend(t, func(t *testing.T, newFixture fixtureFn, newFixtureWith fixtureWithFn) {
		f := newFixture(t, smallLedger, nil)
		ctx := context.Background()
		tests := []struct {
			from, body, reply string
			home              string // recorded for this home; "" nothing recorded
		}{
			{visitorJia, "到 H-0001 好 精神不错", "已登记H-0001探访。谢谢！", "H-0001"},
			{visitorJia, "到 2", "已登记H-0002探访。谢谢！", "H-0002"},
			{visitorJia, "到 h-0002 一般", "已登记H-0002探访。谢谢！", "H-0002"},
			{doctorYi, "巡诊 H-0001 血压135/85 血糖6.2 心率72", "已登记H-0001巡诊：血压135/85 血糖6.2 心率72。谢谢！", "H-0001"},
			{doctorYi, "到 H-0002", "已登记H-0002探访。谢谢！", "H-0002"},
			// bad input: a one-line answer, nothing recorded
			{"+8613512345678", "到 H-0001", "此号码未登记为探访员或村医，不能登记探访。请联系乡镇卫生院。", ""},
			{familyOf1, "到 H-0001", "此号码未登记为探访员或村医，不能登记探访。请联系乡镇卫生院。", ""},
			{visitorJia, "到 H-9999", "没有户编号H-9999，请核对后重发。", ""},
			{visitorJia, "到 H-0013", "H-0013不是您负责的户，未登记。请核对户编号。", ""},
			{visitorJia, "到 13", "您负责的户中没有编号13，请写完整户编号，如 H-0001。", ""},
			{visitorJia, "到 -1", "没有户编号-1，请核对后重发。", ""},
			{visitorJia, "巡诊 H-0001 血压130/80", "巡诊只能由H-0001的村医登记。探访请回复：到 H-0001", ""},
			{doctorYi, "巡诊 H-0001 血压300/20 心率72", "血压“300/20”不对，请写高压/低压，如135/85。未登记，请改正后重发。", ""},
			{doctorYi, "巡诊 H-0001 血压135/85 血糖abc", "血糖“abc”不对，请写1到35的数，如6.2。未登记，请改正后重发。", ""},
		}
		for _, tt := range tests {
			before := len(f.visitsOf(t, tt.home))
			total := f.count(t)
			reply, taken, err := f.svc.HandleSMS(ctx, tt.from, tt.body)
			if err != nil || !taken || reply != tt.reply {
				t.Errorf("%s %q: reply %q, %v, %v; want %q", tt.from, tt.body, reply, taken, err, tt.reply)
			}
			if units(reply) > 70 {
				t.Errorf("%q: reply is over one segment", tt.body)
			}
			if tt.home == "" {
				if n := f.count(t); n != total {
					t.Errorf("%q recorded something", tt.body)
				}
				continue
			}
			if got := len(f.visitsOf(t, tt.home)); got != before+1 {
				t.Errorf("%q: %s has %d visits, want %d", tt.body, tt.home, got, before+1)
			}
		}
		r := f.visitsOf(t, "H-0001")[0]
		if r.Kind != KindRound || r.ByRole != "village_doctor" || *r.Vitals.SBP != 135 || *r.Vitals.Glucose != 6.2 || r.Source != SourceSMS {
			t.Errorf("round = %+v", r)
		}
		if got := testutil.ToFloat64(f.svc.m.rejected.WithLabelValues("bad_vital")); got != 2 {
			t.Errorf("rejected bad_vital = %v, want 2", got)
		}
		if got := testutil.ToFloat64(f.svc.m.rejected.WithLabelValues("unknown_sender")); got != 2 {
			t.Errorf("rejected unknown_sender = %v, want 2", got)
		}
		if _, taken, _ := f.svc.HandleSMS(ctx, visitorJia, "1"); taken {
			t.Error("an alert reply was taken as a check-in")
		}
		for _, rec := range f.spool.all() {
			if strings.Contains(rec, "138") || strings.Contains(rec, "精神") {
				t.Errorf("a point carries a phone or a note: %q", rec)
			}
		}
		if n := len(f.spool.all()); n != 5 {
			t.Errorf("%d points written, want 5", n)
		}
	})
}

// msg builds a device message of home H-0001's bed sensor.
func bedTags() points.Tags {
	return points.Tags{County: "和静县", Township: "和静镇", Village: "A村", Home: "H-0001", Device: "hj-0001-bed", Kind: "bed_sensor"}
}

func event(typ protocol.EventType, seq uint64, at time.Time) protocol.Message {
	return protocol.Message{Topic: protocol.Topic{Device: "hj-0001-bed", Kind: protocol.KindEvent},
		Event: protocol.Event{Seq: seq, TS: at.UnixMilli(), Type: typ}}
}

func reading(seq uint64, at time.Time, motion float64, occupied bool) protocol.Message {
	return protocol.Message{Topic: protocol.Topic{Device: "hj-0001-bed", Kind: protocol.KindTelemetry},
		Telemetry: protocol.Telemetry{Readings: []protocol.Reading{{Seq: seq, TS: at.UnixMilli(), Motion: &motion, Occupied: &occupied}}}}
}

// TestConfirmedRule: a check-in is confirmed when the home's own sensors show
// someone within ±30 minutes of it, before or after; unconfirmed otherwise.
func TestConfirmedRule(t *testing.T) {
	eachBackend(t, func(t *testing.T, newFixture fixtureFn, newFixtureWith fixtureWithFn) {
		ctx := context.Background()
		base := time.Date(2026, 12, 1, 10, 0, 0, 0, beijing)
		tests := []struct {
			name      string
			acts      []protocol.Message // observed before the check-in at base
			after     []protocol.Message // observed after it
			home      string
			confirmed bool
		}{
			{name: "no activity", home: "H-0001"},
			{name: "motion 20 min before", acts: []protocol.Message{reading(1, base.Add(-20*time.Minute), 0.6, true)},
				home: "H-0001", confirmed: true},
			{name: "motion 40 min before", acts: []protocol.Message{reading(1, base.Add(-40*time.Minute), 0.6, true)},
				home: "H-0001"},
			{name: "still, occupancy unchanged", acts: []protocol.Message{reading(1, base.Add(-20*time.Minute), 0, true),
				reading(2, base.Add(-10*time.Minute), 0, true)}, home: "H-0001"},
			{name: "occupancy changed", acts: []protocol.Message{reading(1, base.Add(-20*time.Minute), 0, true),
				reading(2, base.Add(-10*time.Minute), 0, false)}, home: "H-0001", confirmed: true},
			{name: "bed_exit 25 min after", after: []protocol.Message{event(protocol.EventBedExit, 3, base.Add(25*time.Minute))},
				home: "H-0001", confirmed: true},
			{name: "bed_exit 35 min after", after: []protocol.Message{event(protocol.EventBedExit, 3, base.Add(35*time.Minute))},
				home: "H-0001"},
			{name: "low battery is not someone there", acts: []protocol.Message{event(protocol.EventLowBattery, 3, base.Add(-5*time.Minute))},
				home: "H-0001"},
			{name: "activity at another home", acts: []protocol.Message{reading(1, base.Add(-5*time.Minute), 0.9, true)},
				home: "H-0002"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				f := newFixture(t, smallLedger, nil)
				f.clock.Set(base.Add(-45 * time.Minute))
				for _, m := range tt.acts {
					if err := f.svc.Observe(ctx, m, bedTags(), points.Stamp{Received: f.clock.Now()}); err != nil {
						t.Fatal(err)
					}
				}
				f.clock.Set(base)
				if _, _, err := f.svc.HandleSMS(ctx, visitorJia, "到 "+tt.home); err != nil {
					t.Fatal(err)
				}
				f.clock.Set(base.Add(40 * time.Minute))
				for _, m := range tt.after {
					if err := f.svc.Observe(ctx, m, bedTags(), points.Stamp{Received: f.clock.Now()}); err != nil {
						t.Fatal(err)
					}
				}
				vs := f.visitsOf(t, tt.home)
				if len(vs) != 1 || vs[0].Confirmed != tt.confirmed {
					t.Fatalf("visits = %+v, want one with confirmed %v", vs, tt.confirmed)
				}
				recs := f.spool.all()
				if last := recs[len(recs)-1]; strings.Contains(last, "confirmed=t") != tt.confirmed {
					t.Errorf("last point %q does not say confirmed=%v", last, tt.confirmed)
				}
			})
		}
	})
}

// TestDeviceVisit: a visit event is recorded once as a confirmed device visit, and
// counts as activity for a check-in by SMS.
func TestDeviceVisit(t *testing.T) {
	eachBackend(t, func(t *testing.T, newFixture fixtureFn, newFixtureWith fixtureWithFn) {
		ctx := context.Background()
		f := newFixture(t, smallLedger, nil)
		at := f.clock.Now()
		for range 2 { // a redelivery
			if err := f.svc.Observe(ctx, event(protocol.EventVisit, 7, at), bedTags(), points.Stamp{Received: at}); err != nil {
				t.Fatal(err)
			}
		}
		vs := f.visitsOf(t, "H-0001")
		if len(vs) != 1 || vs[0].Source != SourceDevice || !vs[0].Confirmed || vs[0].Device != "hj-0001-bed" || !vs[0].At.Equal(at) {
			t.Fatalf("visits = %+v", vs)
		}
		f.clock.Add(10 * time.Minute)
		if _, _, err := f.svc.HandleSMS(ctx, visitorJia, "到 H-0001"); err != nil {
			t.Fatal(err)
		}
		if vs := f.visitsOf(t, "H-0001"); len(vs) != 2 || !vs[0].Confirmed {
			t.Errorf("the SMS check-in after the card tap is not confirmed: %+v", vs)
		}
	})
}

// TestBusySensorStillConfirms: a bed sensor reporting motion every 10 seconds for
// hours keeps the latest activity, so a check-in after 2.5 hours of it is confirmed.
func TestBusySensorStillConfirms(t *testing.T) {
	eachBackend(t, func(t *testing.T, newFixture fixtureFn, newFixtureWith fixtureWithFn) {
		ctx := context.Background()
		f := newFixture(t, smallLedger, nil)
		start := f.clock.Now()
		for i := range 900 {
			at := start.Add(time.Duration(i) * 10 * time.Second)
			f.clock.Set(at)
			if err := f.svc.Observe(ctx, reading(uint64(i+1), at, 0.5, true), bedTags(), points.Stamp{Received: at}); err != nil {
				t.Fatal(err)
			}
		}
		if _, _, err := f.svc.HandleSMS(ctx, visitorJia, "到 H-0001"); err != nil {
			t.Fatal(err)
		}
		if vs := f.visitsOf(t, "H-0001"); len(vs) != 1 || !vs[0].Confirmed {
			t.Errorf("check-in after hours of motion: %+v", vs)
		}
	})
}
