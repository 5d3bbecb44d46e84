package api

import (
	"strings"
	"testing"

	"carebed/alerting"
)

// A captured, correctly signed "1" replayed later must not acknowledge the alert
// that is newest then, not even after a restart.
func TestReplayedSMSReplyDoesNotAct(t *testing.T) {
	s := newSite(t)
	doctor := people[2]
	smoke := s.raise(t, alerting.KindSmoke)
	reply := smsForm("SM00000000000000000000000000000001", doctor.Phone, "1")
	code, body := s.postSMS(t, reply)
	if code != 200 || !strings.Contains(body, "已确认") || s.alert(t, smoke.ID).State != alerting.StateAcknowledged {
		t.Fatalf("first reply: %d %s, alert %s", code, body, s.alert(t, smoke.ID).State)
	}

	gas := s.raise(t, alerting.KindGas)
	for _, restart := range []bool{false, true} {
		if restart {
			s.reopen(t)
		}
		code, body = s.postSMS(t, reply)
		if got := s.alert(t, gas.ID); got.State != alerting.StateNotified && got.State != alerting.StateOpen {
			t.Fatalf("replay (restart %v) acknowledged the new alert: %s by %s", restart, got.State, got.AckedBy)
		}
		if code != 200 || strings.Contains(body, "<Message>") {
			t.Errorf("replay (restart %v) answered %d %s, want an empty TwiML", restart, code, body)
		}
	}

	// A new reply (another sid) still works.
	code, body = s.postSMS(t, smsForm("SM00000000000000000000000000000002", doctor.Phone, "1"))
	if got := s.alert(t, gas.ID); code != 200 || got.State != alerting.StateAcknowledged || !strings.Contains(body, gas.Code) {
		t.Fatalf("a new reply: %d %s, alert %s", code, body, got.State)
	}
}
