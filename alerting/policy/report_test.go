package policy

import (
	"strings"
	"testing"
	"time"

	"carebed/alerting"
)

func TestReportTargets(t *testing.T) {
	p, err := Parse([]byte("report:\n  targets:\n    sos: 3m\n    tamper: 2h\n  sms_segment_price: 0.04\n"))
	if err != nil {
		t.Fatal(err)
	}
	r := p.Report()
	for kind, want := range map[alerting.Kind]time.Duration{
		alerting.KindSOS: 3 * time.Minute, alerting.KindTamper: 2 * time.Hour, alerting.KindFall: 5 * time.Minute,
	} {
		if got := r.Targets[kind]; got != want {
			t.Errorf("target of %s = %v, want %v", kind, got, want)
		}
	}
	if r.SMSSegmentPrice != 0.04 {
		t.Errorf("price = %v", r.SMSSegmentPrice)
	}
	if d := Default().Report(); d.Targets[alerting.KindSOS] != 5*time.Minute || d.SMSSegmentPrice != 0.05 {
		t.Errorf("default report = %+v", d)
	}
}

func TestReportErrorsNameTheKey(t *testing.T) {
	tests := []struct{ yml, key string }{
		{"report:\n  targets:\n    sso: 5m\n", "alerting.report.targets.sso"},
		{"report:\n  targets:\n    sos: 0s\n", "alerting.report.targets.sos"},
		{"report:\n  targets:\n    sos: 200h\n", "alerting.report.targets.sos"},
		{"report:\n  targets:\n    sos: soon\n", "alerting.report.targets.sos"},
		{"report:\n  sms_segment_price: -1\n", "alerting.report.sms_segment_price"},
		{"report:\n  price: 1\n", `alerting.report: line 2: unknown key "price"`},
	}
	for _, tt := range tests {
		_, err := Parse([]byte(tt.yml))
		if err == nil || !strings.Contains(err.Error(), tt.key) {
			t.Errorf("Parse(%q) = %v, want an error naming %s", tt.yml, err, tt.key)
		}
	}
}
