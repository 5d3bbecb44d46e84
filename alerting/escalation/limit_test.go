package escalation

import (
	"testing"
	"time"

	"carebed/alerting"
	"carebed/alerting/policy"
)

func TestLimiter(t *testing.T) {
	l := limiter{limits: policy.Limits{PerPerson: 2, Per: time.Hour, SMSPerDay: 4}}
	loc := time.UTC
	steps := []struct {
		person string
		sev    alerting.Severity
		at     time.Duration
		want   verdict
	}{
		{"a", alerting.Warning, 0, allow},
		{"a", alerting.Warning, time.Minute, allow},
		{"a", alerting.Warning, 2 * time.Minute, deny},            // third in the hour
		{"a", alerting.Critical, 3 * time.Minute, allowOverLimit}, // critical always goes
		{"a", alerting.Warning, 2 * time.Hour, allow},             // the window moved on
		{"b", alerting.High, 2 * time.Hour, deny},                 // the day's SMS budget (4) is spent
		{"b", alerting.Critical, 2 * time.Hour, allowOverLimit},
		{"b", alerting.High, 25 * time.Hour, allow}, // a new day
	}
	for i, s := range steps {
		if got := l.check(s.person, policy.ChannelSMS, s.sev, t0.Add(s.at), loc); got != s.want {
			t.Errorf("step %d (%s, %s at %s): %v, want %v", i, s.person, s.sev, s.at, got, s.want)
		}
	}
}
