package visits

import (
	"errors"
	"testing"
)

func TestParseSMS(t *testing.T) {
	tests := []struct {
		body              string
		taken             bool
		kind              Kind
		code, state, note string
		vitals            string
		reason            string
	}{
		{body: "1", taken: false},
		{body: "K7M2", taken: false},
		{body: "到 H-0001", taken: true, kind: KindVisit, code: "H-0001"},
		{body: "到H-0001 好", taken: true, kind: KindVisit, code: "H-0001", state: "good"},
		{body: " 探访 1 一般 老人说腿疼 要买药", taken: true, kind: KindVisit, code: "1", state: "fair", note: "老人说腿疼 要买药"},
		{body: "到　Ｈ－０００１　差", taken: true, kind: KindVisit, code: "H-0001", state: "poor"},
		{body: "巡诊 H-0001 血压135/85 血糖6.2 心率72", taken: true, kind: KindRound, code: "H-0001", vitals: "血压135/85 血糖6.2 心率72"},
		{body: "巡诊 H-0001 血压 140／90，心率:80 好 按时吃药", taken: true, kind: KindRound, code: "H-0001", state: "good",
			vitals: "血压140/90 心率80", note: "按时吃药"},
		{body: "到", taken: true, kind: KindVisit, reason: "no_home"},
		{body: "到 H<0001>", taken: true, kind: KindVisit, reason: "bad_home"},
		{body: "巡诊 H-0001 血压300/20", taken: true, kind: KindRound, code: "H-0001", reason: "bad_vital"},
		{body: "巡诊 H-0001 血压85/135", taken: true, kind: KindRound, code: "H-0001", reason: "bad_vital"},
		{body: "巡诊 H-0001 血糖abc", taken: true, kind: KindRound, code: "H-0001", reason: "bad_vital"},
		{body: "巡诊 H-0001 心率0", taken: true, kind: KindRound, code: "H-0001", reason: "bad_vital"},
		{body: "巡诊 H-0001 血压", taken: true, kind: KindRound, code: "H-0001", reason: "bad_vital"},
	}
	for _, tt := range tests {
		m, taken, err := ParseSMS(tt.body)
		if taken != tt.taken {
			t.Errorf("%q: taken = %v", tt.body, taken)
			continue
		}
		var ie *InputError
		switch {
		case tt.reason != "":
			if !errors.As(err, &ie) || ie.Reason != tt.reason {
				t.Errorf("%q: err = %v, want reason %s", tt.body, err, tt.reason)
			} else if units(ie.Answer) > 70 {
				t.Errorf("%q: answer %q is over one SMS segment", tt.body, ie.Answer)
			}
			continue
		case err != nil:
			t.Errorf("%q: %v", tt.body, err)
			continue
		}
		if !taken {
			continue
		}
		if m.Kind != tt.kind || m.Code != tt.code || string(m.State) != tt.state || m.Note != tt.note || m.Vitals.Text() != tt.vitals {
			t.Errorf("%q = %+v (vitals %q)", tt.body, m, m.Vitals.Text())
		}
	}
}

func FuzzParseSMS(f *testing.F) {
	for _, s := range []string{"到 H-0001 好 note", "巡诊 H-0001 血压135/85 血糖6.2 心率72", "1", "巡诊 1 血压 300/20", "到"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		m, taken, err := ParseSMS(body)
		if !taken && (err != nil || m.Kind != "") {
			t.Fatalf("not taken but %+v, %v", m, err)
		}
		var ie *InputError
		if err != nil && (!errors.As(err, &ie) || ie.Answer == "") {
			t.Fatalf("error %v is not an InputError with an answer", err)
		}
		if err == nil && taken {
			if m.Code == "" || !validCode(m.Code) {
				t.Fatalf("code %q accepted", m.Code)
			}
			v := m.Vitals
			if v.SBP != nil && (*v.SBP < minSBP || *v.SBP > maxSBP || *v.DBP >= *v.SBP) {
				t.Fatalf("blood pressure %d/%d accepted", *v.SBP, *v.DBP)
			}
		}
	})
}
