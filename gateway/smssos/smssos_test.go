package smssos

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"carebed/alerting/policy"
	"carebed/gateway/ingest"
	"carebed/gateway/protocol"
	"carebed/gateway/registry"
)

func TestParsePosition(t *testing.T) {
	cases := []struct {
		body     string
		ok       bool
		lat, lon float64
		acc      float64
	}{
		{"SOS 42.87,83.71", true, 42.87, 83.71, 557},
		{"救命 42.8712，83.7105", true, 42.8712, 83.7105, 10},
		{"ＳＯＳ　４２．８７，８３．７１", true, 42.87, 83.71, 557}, // full-width, as sent in Chinese mode
		{"42.9 84.1", true, 42.9, 84.1, 5566},
		{"42.87;83.71", true, 42.87, 83.71, 557},
		{"-33.86,151.21", true, -33.86, 151.21, 557},
		{"1", false, 0, 0, 0},
		{"救命", false, 0, 0, 0},
		{"SOS 42,83", false, 0, 0, 0},    // no decimal point: not a position
		{"0.0,0.0", false, 0, 0, 0},      // what receivers say before a fix
		{"95.1,83.7", false, 0, 0, 0},    // latitude out of range
		{"42.87,183.71", false, 0, 0, 0}, // longitude out of range
	}
	for _, c := range cases {
		f, ok := ParsePosition(c.body)
		if ok != c.ok || (ok && (f.Lat != c.lat || f.Lon != c.lon || f.AccM != c.acc || f.TS != 0)) {
			t.Errorf("ParsePosition(%q) = %+v, %v; want %v,%v acc %v, %v", c.body, f, ok, c.lat, c.lon, c.acc, c.ok)
		}
	}
}

func TestRepliesFitOneSegment(t *testing.T) {
	for _, s := range []string{ReplyRaised, ReplyRaisedAt} {
		if n := policy.Segments(s); n != 1 {
			t.Errorf("%q is %d segments, want 1", s, n)
		}
	}
}

type phones map[string]registry.Device

func (p phones) DeviceByPhone(_ context.Context, phone string) (registry.Device, error) {
	if d, ok := p[phone]; ok {
		return d, nil
	}
	return registry.Device{}, registry.ErrNotFound
}

type intake struct {
	got []ingest.Message
	err error
}

func (i *intake) Offer(_ context.Context, m ingest.Message) error {
	if i.err != nil {
		return i.err
	}
	i.got = append(i.got, m)
	return nil
}

// An SMS from an elder's own phone, whatever it says, becomes an sos event of that
// phone's device through the ingest; an SMS from anyone else is left to the next
// handler; a failed intake answers an error so that Twilio offers the SMS again.
func TestHandleSMS(t *testing.T) {
	now := time.Date(2026, 7, 1, 3, 0, 0, 0, time.UTC)
	reg := phones{
		"+8613900000001": {ID: "hb-0101-phone", Kind: "sms_phone", Phone: "+8613900000001"},
		"+8613900000002": {ID: "hb-0101-sos", Kind: "sos_pendant"},
	}
	cases := []struct {
		name, from, body string
		intakeErr        error
		taken, wantErr   bool
		reply            string
		fix              *protocol.Fix
	}{
		{"word", "+8613900000001", "救命", nil, true, false, ReplyRaised, nil},
		{"one", "+8613900000001", "1", nil, true, false, ReplyRaised, nil},
		{"anything", "+8613900000001", "快来", nil, true, false, ReplyRaised, nil},
		{"position", "+8613900000001", "SOS 42.87,83.71", nil, true, false, ReplyRaisedAt,
			&protocol.Fix{Lat: 42.87, Lon: 83.71, AccM: 557}},
		{"a responder's reply", "+8613800000009", "1", nil, false, false, "", nil},
		{"a number that is not an elder's phone", "+8613900000002", "1", nil, false, false, "", nil},
		{"spool failing", "+8613900000001", "救命", errors.New("disk full"), true, true, "", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := &intake{err: c.intakeErr}
			reg2 := prometheus.NewRegistry()
			h := New(Options{Phones: reg, Intake: in, Registerer: reg2, Now: func() time.Time { return now }})
			reply, taken, err := h.HandleSMS(context.Background(), c.from, c.body)
			if taken != c.taken || (err != nil) != c.wantErr || reply != c.reply {
				t.Fatalf("HandleSMS = %q, %v, %v; want %q, %v, error %v", reply, taken, err, c.reply, c.taken, c.wantErr)
			}
			if !c.taken || c.wantErr {
				if len(in.got) != 0 {
					t.Fatalf("offered %d messages, want none", len(in.got))
				}
				if c.wantErr && testutil.ToFloat64(h.counts.WithLabelValues(resultFailed, "no")) != 1 {
					t.Error("failure not counted")
				}
				return
			}
			if len(in.got) != 1 {
				t.Fatalf("offered %d messages, want 1", len(in.got))
			}
			m, err := protocol.Decode(in.got[0].Topic, in.got[0].Payload)
			if err != nil {
				t.Fatalf("the event offered does not decode: %v", err)
			}
			if m.Topic.Device != "hb-0101-phone" || m.Event.Type != protocol.EventSOS || m.Event.TS != now.UnixMilli() ||
				!in.got[0].Received.Equal(now) {
				t.Errorf("event = %+v on %s, want an sos of hb-0101-phone at %v", m.Event, m.Topic.Device, now)
			}
			switch {
			case c.fix == nil && m.Event.Fix != nil:
				t.Errorf("fix = %+v, want none", m.Event.Fix)
			case c.fix != nil && (m.Event.Fix == nil || *m.Event.Fix != *c.fix):
				t.Errorf("fix = %+v, want %+v", m.Event.Fix, c.fix)
			}
		})
	}
}

// FuzzParsePosition: any text gives either no position or one the protocol keeps.
func FuzzParsePosition(f *testing.F) {
	for _, s := range []string{"SOS 42.87,83.71", "救命 42.8712，83.7105", "1", "ＳＯＳ　４２．８７，８３．７１", "-0.5 -0.5"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		fix, ok := ParsePosition(body)
		if !ok {
			return
		}
		if fix.Lat < -90 || fix.Lat > 90 || fix.Lon < -180 || fix.Lon > 180 || (fix.Lat == 0 && fix.Lon == 0) ||
			fix.AccM < 10 || fix.AccM > protocol.MaxFixAccuracyM {
			t.Fatalf("ParsePosition(%q) = %+v", body, fix)
		}
		ev := protocol.EncodeEvent(protocol.Event{Seq: 1, TS: 1764400000000, Type: protocol.EventSOS, Fix: &fix})
		m, err := protocol.Decode("carebed/v1/hb-0101-phone/event", ev)
		if err != nil || m.Event.Fix == nil {
			t.Fatalf("the event with %+v does not decode with its fix: %v %+v", fix, err, m.Event)
		}
	})
}
