package points

import (
	"testing"
	"time"
)

func TestAppendVisit(t *testing.T) {
	at := time.UnixMilli(1764400000000)
	sbp, dbp, hr, g := 135, 85, 72, 6.2
	tests := []struct {
		name string
		v    VisitPoint
		want string
	}{
		{"sms visit", VisitPoint{County: "和静县", Township: "和静镇", Village: "A村", Home: "H-0001", Source: "sms",
			ID: 7, State: "good", At: at},
			"visit,county=和静县,home=H-0001,township=和静镇,village=A村,source=sms id=7i,confirmed=f,state=\"good\" 1764400000000000007\n"},
		{"device visit", VisitPoint{County: "c", Township: "t", Village: "v", Home: "H-2", Device: "hj-2-sos",
			Source: "device", ID: 1_000_008, Confirmed: true, At: at},
			"visit,county=c,device=hj-2-sos,home=H-2,township=t,village=v,source=device id=1000008i,confirmed=t 1764400000000000008\n"},
		{"round with vitals", VisitPoint{County: "c", Township: "t", Village: "v", Home: "H-3", Round: true, Source: "sms",
			ID: 9, SBP: &sbp, DBP: &dbp, HR: &hr, Glucose: &g, At: at},
			"round,county=c,home=H-3,township=t,village=v,source=sms id=9i,confirmed=f,sbp=135i,dbp=85i,hr=72i,glucose=6.2 1764400000000000009\n"},
	}
	for _, tt := range tests {
		if got := string(AppendVisit(nil, tt.v)); got != tt.want {
			t.Errorf("%s:\n got %q\nwant %q", tt.name, got, tt.want)
		}
	}
}

func TestAppendVisitsDue(t *testing.T) {
	at := time.UnixMilli(1764400000000)
	for _, tt := range []struct {
		name string
		v    VisitsDuePoint
		want string
	}{
		{"visits", VisitsDuePoint{County: "和静县", Township: "和静镇", Village: "A村", Homes: 12, Due: 3, Overdue: 1, At: at},
			"visits_due,county=和静县,kind=visit,township=和静镇,village=A村 homes=12i,due=3i,overdue=1i 1764400000000000000\n"},
		{"rounds, none due", VisitsDuePoint{County: "c", Township: "t", Village: "v w", Round: true, Homes: 2, At: at},
			"visits_due,county=c,kind=round,township=t,village=v\\ w homes=2i,due=0i,overdue=0i 1764400000000000000\n"},
	} {
		if got := string(AppendVisitsDue(nil, tt.v)); got != tt.want {
			t.Errorf("%s:\n got %q\nwant %q", tt.name, got, tt.want)
		}
	}
}
