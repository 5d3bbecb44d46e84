package escalation

import (
	"sync"
	"time"

	"carebed/alerting"
	"carebed/alerting/policy"
)

// limiter enforces the policy's per-person rate limit and daily SMS budget. A
// critical page is never held back: it goes out, and the excess is logged and
// counted. State is in memory: a restart starts the counts afresh.
type limiter struct {
	mu     sync.Mutex
	limits policy.Limits
	sent   map[string][]time.Time // person -> send times within the window
	day    string                 // the budget's day, YYYY-MM-DD in the policy's zone
	sms    int                    // SMS sent that day
}

// verdict is what the limiter says about one notification.
type verdict int

const (
	allow          verdict = iota
	allowOverLimit         // critical: sent although over a limit
	deny
)

// check decides a notification to person on channel about an alert of sev at now,
// and counts it when it goes out.
func (l *limiter) check(person, channel string, sev alerting.Severity, now time.Time, loc *time.Location) verdict {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.sent == nil {
		l.sent = map[string][]time.Time{}
	}
	recent := l.sent[person][:0:0]
	for _, t := range l.sent[person] {
		if now.Sub(t) < l.limits.Per {
			recent = append(recent, t)
		}
	}
	over := l.limits.PerPerson > 0 && len(recent) >= l.limits.PerPerson
	if channel == policy.ChannelSMS {
		if day := now.In(loc).Format(time.DateOnly); day != l.day {
			l.day, l.sms = day, 0
		}
		over = over || l.limits.SMSPerDay > 0 && l.sms >= l.limits.SMSPerDay
	}
	v := allow
	switch {
	case over && sev != alerting.Critical:
		l.sent[person] = recent
		return deny
	case over:
		v = allowOverLimit
	}
	l.sent[person] = append(recent, now)
	if channel == policy.ChannelSMS {
		l.sms++
	}
	return v
}
