package api

import (
	"errors"
	"strings"
	"testing"
)

func TestDecodeResponderAction(t *testing.T) {
	cases := []struct {
		name, in, err string
	}{
		{"ack", `{"v":1,"alert":"K7M2","action":"ack"}`, ""},
		{"resolve", `{"v":1,"alert":"K7M2","action":"resolve","outcome":"handled_at_home","note":"血压正常"}`, ""},
		{"resolve without outcome", `{"v":1,"alert":"K7M2","action":"resolve"}`, "resolve needs an outcome"},
		{"wrong version", `{"v":2,"alert":"K7M2","action":"ack"}`, "v must be 1"},
		{"no alert", `{"v":1,"action":"ack"}`, "alert (the code) is missing"},
		{"unknown action", `{"v":1,"alert":"K7M2","action":"snooze"}`, "action must be ack or resolve"},
		{"unknown field", `{"v":1,"alert":"K7M2","action":"ack","by":"me"}`, "unknown field"},
		{"trailing data", `{"v":1,"alert":"K7M2","action":"ack"}{}`, "data after"},
		{"not json", `ack K7M2`, "invalid character"},
		{"too big", `{"v":1,"alert":"` + strings.Repeat("x", 5000) + `","action":"ack"}`, "at most 4096"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := DecodeResponderAction([]byte(c.in))
			switch {
			case c.err == "" && err != nil:
				t.Fatalf("error %v", err)
			case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err) || !errors.Is(err, ErrBadAction)):
				t.Fatalf("error %v, want one containing %q", err, c.err)
			}
		})
	}
}

func FuzzDecodeResponderAction(f *testing.F) {
	f.Add([]byte(`{"v":1,"alert":"K7M2","action":"ack"}`))
	f.Add([]byte(`{"v":1,"alert":"K7M2","action":"resolve","outcome":"false_alarm"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := DecodeResponderAction(b)
		if err == nil && (a.V != 1 || a.Alert == "" || (a.Action != "ack" && a.Action != "resolve")) {
			t.Fatalf("accepted an invalid action %+v from %q", a, b)
		}
	})
}
