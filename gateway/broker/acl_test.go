package broker

import "testing"

func TestAllowed(t *testing.T) {
	cases := []struct {
		name, device, topic string
		write, want         bool
	}{
		{"own telemetry", "bed-0001", "carebed/v1/bed-0001/telemetry", true, true},
		{"own event", "bed-0001", "carebed/v1/bed-0001/event", true, true},
		{"own status", "bed-0001", "carebed/v1/bed-0001/status", true, true},
		{"write own cmd", "bed-0001", "carebed/v1/bed-0001/cmd", true, false},
		{"read own cmd", "bed-0001", "carebed/v1/bed-0001/cmd", false, true},
		{"read own telemetry", "bed-0001", "carebed/v1/bed-0001/telemetry", false, false},
		{"other device", "bed-0001", "carebed/v1/bed-0002/event", true, false},
		{"prefix of another id", "bed-0001", "carebed/v1/bed-00011/event", true, false},
		{"wildcard read", "bed-0001", "carebed/v1/+/cmd", false, false},
		{"deeper topic", "bed-0001", "carebed/v1/bed-0001/event/x", true, false},
		{"responder topic", "bed-0001", "carebed/v1/responders/r1/ack", true, false},
		{"no username", "", "carebed/v1//event", true, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := allowed(c.device, c.topic, c.write); got != c.want {
				t.Errorf("allowed(%q, %q, write=%v) = %v, want %v", c.device, c.topic, c.write, got, c.want)
			}
		})
	}
}
