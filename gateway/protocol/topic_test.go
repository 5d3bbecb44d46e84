package protocol

import (
	"strings"
	"testing"
)

func TestValidDeviceID(t *testing.T) {
	tests := []struct {
		name string
		id   string
		want bool
	}{
		{"typical", "bed-0001", true},
		{"shortest", "a01", true},
		{"digits only", "123", true},
		{"longest 64", strings.Repeat("a", 64), true},
		{"too long 65", strings.Repeat("a", 65), false},
		{"too short", "ab", false},
		{"empty", "", false},
		{"leading hyphen", "-bed1", false},
		{"trailing hyphen allowed", "bed-", true},
		{"double hyphen allowed", "bed--1", true},
		{"upper case", "Bed-0001", false},
		{"underscore", "bed_0001", false},
		{"slash", "bed/0001", false},
		{"plus wildcard", "bed+", false},
		{"hash wildcard", "bed#", false},
		{"space", "bed 1", false},
		{"non-ASCII", "床位-01", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ValidDeviceID(tt.id); got != tt.want {
				t.Errorf("ValidDeviceID(%q) = %v, want %v", tt.id, got, tt.want)
			}
		})
	}
}

func TestParseTopic(t *testing.T) {
	tests := []struct {
		name    string
		topic   string
		want    Topic
		wantErr bool
	}{
		{"telemetry", "carebed/v1/bed-0001/telemetry", Topic{"bed-0001", KindTelemetry}, false},
		{"event", "carebed/v1/pendant-7/event", Topic{"pendant-7", KindEvent}, false},
		{"status", "carebed/v1/bed-0001/status", Topic{"bed-0001", KindStatus}, false},
		{"cmd", "carebed/v1/bed-0001/cmd", Topic{"bed-0001", KindCmd}, false},
		{"empty", "", Topic{}, true},
		{"prefix only", "carebed/v1/", Topic{}, true},
		{"no kind", "carebed/v1/bed-0001", Topic{}, true},
		{"empty kind", "carebed/v1/bed-0001/", Topic{}, true},
		{"unknown kind", "carebed/v1/bed-0001/alarm", Topic{}, true},
		{"upper-case kind", "carebed/v1/bed-0001/Telemetry", Topic{}, true},
		{"extra level", "carebed/v1/bed-0001/telemetry/x", Topic{}, true},
		{"other version", "carebed/v2/bed-0001/telemetry", Topic{}, true},
		{"leading slash", "/carebed/v1/bed-0001/telemetry", Topic{}, true},
		{"bad device", "carebed/v1/BED/telemetry", Topic{}, true},
		{"empty device", "carebed/v1//telemetry", Topic{}, true},
		{"wildcard device", "carebed/v1/+/telemetry", Topic{}, true},
		{"responder topic", "carebed/v1/responders/r-1/ack", Topic{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseTopic(tt.topic)
			if tt.wantErr {
				if ReasonOf(err) != ReasonBadTopic {
					t.Fatalf("ParseTopic(%q) = %v, %v; want a bad_topic error", tt.topic, got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseTopic(%q) = %v, %v; want %v", tt.topic, got, err, tt.want)
			}
			if got.String() != tt.topic || DeviceTopic(got.Device, got.Kind) != tt.topic {
				t.Errorf("String() = %q, want %q", got.String(), tt.topic)
			}
		})
	}
}
