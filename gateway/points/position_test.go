package points

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"carebed/gateway/protocol"
)

func TestAppendPositions(t *testing.T) {
	tags := Tags{County: "和静县", Township: "巴伦台镇", Village: "巴伦台村", Home: "H-0002", Device: "hj-0002-sos", Kind: "sos_pendant"}
	s := Stamp{Received: time.UnixMilli(1764401005000), LateAfter: time.Minute}
	fix := &protocol.Fix{Lat: 42.87, Lon: 83.71, AccM: 15, TS: 1764400940000}
	tests := []struct {
		name string
		m    protocol.Message
		want string
	}{
		{"event with a fix taken earlier", protocol.Message{Topic: protocol.Topic{Kind: protocol.KindEvent},
			Event: protocol.Event{Seq: 313, TS: 1764401000000, Type: protocol.EventSOS, Fix: fix}},
			"position,county=和静县,device=hj-0002-sos,home=H-0002,kind=sos_pendant,township=巴伦台镇,village=巴伦台村 lat=42.87,lon=83.71,acc_m=15.0,seq=313i 1764400940000000313\n"},
		{"reading whose fix has no time", protocol.Message{Topic: protocol.Topic{Kind: protocol.KindTelemetry},
			Telemetry: protocol.Telemetry{Readings: []protocol.Reading{{Seq: 7, TS: 1764400000000, Fix: &protocol.Fix{Lat: 42.5, Lon: 83, AccM: 3}}, {Seq: 8}}}},
			"position,county=和静县,device=hj-0002-sos,home=H-0002,kind=sos_pendant,township=巴伦台镇,village=巴伦台村 lat=42.5,lon=83.0,acc_m=3.0,seq=7i 1764400000000000007\n"},
		{"status without clock", protocol.Message{Topic: protocol.Topic{Kind: protocol.KindStatus},
			Status: protocol.Status{Online: true, Fix: &protocol.Fix{Lat: 42.5, Lon: 83, AccM: 3}}},
			"position,county=和静县,device=hj-0002-sos,home=H-0002,kind=sos_pendant,township=巴伦台镇,village=巴伦台村 lat=42.5,lon=83.0,acc_m=3.0,seq=0i 1764401005000000000\n"},
		{"no fix", protocol.Message{Topic: protocol.Topic{Kind: protocol.KindEvent}, Event: protocol.Event{Seq: 1, Type: protocol.EventSOS}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(AppendPositions(nil, tags, tt.m, s)); got != tt.want {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}

type recWriter struct {
	got []string
	err error
}

func (w *recWriter) WriteRecord(_ context.Context, lines ...string) error {
	w.got = append(w.got, strings.Join(lines, ""))
	return w.err
}

func TestRouterSplitsPositions(t *testing.T) {
	const tel, pos, ev = "telemetry,device=a hr=60.0 1\n", "position,device=a lat=1.0,lon=2.0,acc_m=3.0,seq=1i 1\n", "event,device=a,type=sos seq=1i 2\n"
	main, posW := &recWriter{}, &recWriter{}
	r := &Router{Main: main, Positions: posW}
	if err := r.WriteRecord(context.Background(), tel+pos+ev); err != nil {
		t.Fatal(err)
	}
	if len(main.got) != 1 || main.got[0] != tel+ev || len(posW.got) != 1 || posW.got[0] != pos {
		t.Errorf("main %q, positions %q", main.got, posW.got)
	}
	// No position: passed as is, the positions writer untouched.
	main.got, posW.got = nil, nil
	if err := r.WriteRecord(context.Background(), tel); err != nil || len(main.got) != 1 || len(posW.got) != 0 {
		t.Errorf("main %q, positions %q, %v", main.got, posW.got, err)
	}
	// A failing positions write is retried, unless Drop says it is no use.
	posW.err = errors.New("retention policy not found: positions")
	if err := r.WriteRecord(context.Background(), pos+tel); err == nil {
		t.Error("positions write error not returned")
	}
	dropped := 0
	r.Drop = func(error) bool { return true }
	r.Dropped = func(n int, _ error) { dropped += n }
	if err := r.WriteRecord(context.Background(), pos+tel); err != nil || dropped != 1 {
		t.Errorf("dropped %d, err %v; want 1 and nil", dropped, err)
	}
	// A failing main write stops before the positions.
	main.err, posW.got = errors.New("down"), nil
	if err := r.WriteRecord(context.Background(), pos+tel); err == nil || len(posW.got) != 0 {
		t.Errorf("err %v, positions %q", err, posW.got)
	}
}

func TestWithoutPositions(t *testing.T) {
	rec := "bed-0001 7\nevent,device=a,type=sos seq=7i 1\nposition,device=a lat=42.87,lon=83.71,acc_m=5.0,seq=7i 1\n"
	if got := string(WithoutPositions([]byte(rec))); got != "bed-0001 7\nevent,device=a,type=sos seq=7i 1\n" {
		t.Errorf("WithoutPositions = %q", got)
	}
	plain := "bed-0001 8\ntelemetry,device=a hr=60.0 1\n"
	if got := string(WithoutPositions([]byte(plain))); got != plain {
		t.Errorf("WithoutPositions changed a record without positions: %q", got)
	}
}
