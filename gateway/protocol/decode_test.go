package protocol

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

func TestDecodeRejects(t *testing.T) {
	const tel, ev, st = "carebed/v1/bed-0001/telemetry", "carebed/v1/bed-0001/event", "carebed/v1/bed-0001/status"
	deep := strings.Repeat("[", 10001) + strings.Repeat("]", 10001)
	tests := []struct {
		name    string
		topic   string
		payload string
		reason  Reason
		field   string
	}{
		{"syntax error after a field error", tel, `{"v":1,"seq":"x","hr":64`, ReasonBadJSON, ""},
		{"syntax error after a bad version", tel, `{"v":7,"seq":1,"hr":64,]`, ReasonBadJSON, ""},
		{"syntax error inside an unknown field", st, `{"v":1,"online":true,"x":{"a":[1,}]}}`, ReasonBadJSON, ""},
		{"control character in a string", st, "{\"v\":1,\"online\":true,\"fw\":\"1\t2\"}", ReasonBadJSON, ""},
		{"bad escape", st, `{"v":1,"online":true,"fw":"1\x"}`, ReasonBadJSON, ""},
		{"short unicode escape", st, `{"v":1,"online":true,"fw":"\u12"}`, ReasonBadJSON, ""},
		{"unterminated string", st, `{"v":1,"online":true,"fw":"1.2`, ReasonBadJSON, ""},
		{"byte order mark", st, "\xef\xbb\xbf{\"v\":1,\"online\":true}", ReasonBadJSON, ""},
		{"nested 10001 levels", tel, `{"v":1,"batch":[{"seq":1,"hr":1,"x":` + deep[3:len(deep)-3] + `}]}`, ReasonBadJSON, ""},
		{"nested 10000 levels", tel, `{"v":1,"batch":[{"seq":1,"hr":1,"x":` + deep[4:len(deep)-4] + `}]}`, ReasonUnknownField, "batch[0].x"},
		{"missing colon", tel, `{"v":1,"seq" 1}`, ReasonBadJSON, ""},
		{"bad literal", tel, `{"v":1,"seq":1,"occupied":tru}`, ReasonBadJSON, ""},
		{"minus without digits", tel, `{"v":1,"seq":1,"hr":-}`, ReasonBadJSON, ""},
		{"fraction without digits", tel, `{"v":1,"seq":1,"hr":1.}`, ReasonBadJSON, ""},
		{"plus sign", tel, `{"v":1,"seq":1,"hr":+1}`, ReasonBadJSON, ""},
		{"whitespace only", tel, " \n", ReasonBadJSON, ""},
		{"version beats unknown field", tel, `{"x":1,"v":3}`, ReasonBadVersion, "v"},
		{"missing version beats unknown field", tel, `{"x":1}`, ReasonBadVersion, "v"},
		{"duplicate v", ev, `{"v":1,"v":1,"seq":1,"type":"sos"}`, ReasonDuplicateField, "v"},
		{"duplicate batch", tel, `{"v":1,"batch":[{"seq":1,"hr":1}],"batch":[{"seq":2,"hr":1}]}`, ReasonDuplicateField, "batch"},
		{"duplicate in batch element", tel, `{"v":1,"batch":[{"seq":1,"seq":2,"hr":1}]}`, ReasonDuplicateField, "batch[0].seq"},
		{"duplicate v in batch element", tel, `{"v":1,"batch":[{"v":1,"v":1,"seq":1,"hr":1}]}`, ReasonDuplicateField, "batch[0].v"},
		{"escaped duplicate", tel, `{"v":1,"seq":1,"hr":1,"\u0068r":2}`, ReasonDuplicateField, "hr"},
		{"batch element null", tel, `{"v":1,"batch":[null]}`, ReasonBadType, "batch[0]"},
		{"batch element error names index 12", tel, `{"v":1,"batch":[` + strings.Repeat(`{"seq":1,"hr":1},`, 12) + `{"seq":1,"rr":-1}]}`, ReasonOutOfRange, "batch[12].rr"},
		{"first error in document order", tel, `{"v":1,"batch":[{"hr":1},{"seq":2,"hr":500}]}`, ReasonMissingField, "batch[0].seq"},
		{"missing beats empty", tel, `{"v":1}`, ReasonMissingField, "seq"},
		{"huge unsigned ts", tel, `{"v":1,"seq":1,"hr":1,"ts":9223372036854775808}`, ReasonOutOfRange, "ts"},
		{"negative zero seq", tel, `{"v":1,"seq":-0,"hr":1}`, ReasonOutOfRange, "seq"},
		{"confidence negative", ev, `{"v":1,"seq":1,"type":"fall","confidence":-0.1}`, ReasonOutOfRange, "confidence"},
		{"cancels not integer", ev, `{"v":1,"seq":1,"type":"sos_cancel","cancels":4.1}`, ReasonBadType, "cancels"},
		{"event type with escape", ev, `{"v":1,"seq":1,"type":"so\u0073x"}`, ReasonUnknownEventType, "type"},
		{"event type empty", ev, `{"v":1,"seq":1,"type":""}`, ReasonUnknownEventType, "type"},
		{"heartbeat zero", st, `{"v":1,"online":true,"heartbeat_s":0}`, ReasonOutOfRange, "heartbeat_s"},
		{"heartbeat too long", st, `{"v":1,"online":true,"heartbeat_s":86401}`, ReasonOutOfRange, "heartbeat_s"},
		{"fw not string", st, `{"v":1,"online":true,"fw":1.4}`, ReasonBadType, "fw"},
		{"status with reading field", st, `{"v":1,"online":true,"battery":50}`, ReasonUnknownField, "battery"},
		{"weird unknown field name", st, `{"v":1,"online":true,"a b\n":1}`, ReasonUnknownField, `"a b\n"`},
		{"empty field name", st, `{"v":1,"online":true,"":1}`, ReasonUnknownField, `""`},
		{"unknown field in a bed_exit", ev, `{"v":1,"seq":1,"type":"bed_exit","floor":2}`, ReasonUnknownField, "floor"},
		{"unknown field before a non-alarm type", ev, `{"v":1,"seq":1,"floor":2,"confidence":7,"type":"tamper"}`, ReasonUnknownField, "floor"},
		{"unknown field before an unknown type", ev, `{"v":1,"seq":1,"floor":2,"type":"SOS"}`, ReasonUnknownField, "floor"},
		{"unknown field in a cancel", ev, `{"v":1,"seq":1,"type":"sos_cancel","cancels":1,"floor":2}`, ReasonUnknownField, "floor"},
		{"alarm keeps ranges", ev, `{"v":1,"seq":1,"floor":2,"type":"sos","confidence":7}`, ReasonOutOfRange, "confidence"},
		{"alarm keeps types", ev, `{"v":1,"seq":"1","floor":2,"type":"fall"}`, ReasonBadType, "seq"},
		{"alarm keeps required fields", ev, `{"v":1,"floor":2,"type":"smoke"}`, ReasonMissingField, "seq"},
		{"alarm keeps duplicates", ev, `{"v":1,"seq":1,"type":"gas","floor":2,"seq":2}`, ReasonDuplicateField, "seq"},
		{"alarm keeps JSON syntax", ev, `{"v":1,"seq":1,"type":"gas","floor":[}`, ReasonBadJSON, ""},
		{"alarm keeps the version", ev, `{"v":2,"seq":1,"type":"sos","floor":2}`, ReasonBadVersion, "v"},
		{"alarm keeps the size", ev, `{"v":1,"seq":1,"type":"sos","floor":"` + strings.Repeat("x", MaxMessageSize) + `"}`, ReasonOversize, ""},
		{"status keeps unknown fields out", st, `{"v":1,"online":true,"floor":2}`, ReasonUnknownField, "floor"},
		{"telemetry keeps unknown fields out", tel, `{"v":1,"seq":1,"hr":60,"floor":2}`, ReasonUnknownField, "floor"},
		{"null payload", st, `null`, ReasonBadType, ""},
		{"payload number", st, `1`, ReasonBadType, ""},
		{"device publishes cmd", "carebed/v1/bed-0001/cmd", `{"v":1,"type":"ack_feedback"}`, ReasonBadTopic, ""},
		{"event oversize", ev, `{"v":1,"seq":1,"type":"sos"}` + strings.Repeat(" ", MaxMessageSize), ReasonOversize, ""},
		{"single reading oversize even if invalid", tel, strings.Repeat("x", MaxMessageSize+1), ReasonOversize, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decode(tt.topic, []byte(tt.payload))
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Decode = %v, want an *Error", err)
			}
			if e.Reason != tt.reason || e.Field != tt.field {
				t.Errorf("Decode = %v; want reason %s, field %q", err, tt.reason, tt.field)
			}
			if e.Msg == "" {
				t.Error("error has no message")
			}
			if valid := json.Valid([]byte(tt.payload)); !valid && e.Reason != ReasonBadJSON && e.Reason != ReasonOversize ||
				valid && e.Reason == ReasonBadJSON {
				t.Errorf("reason %s, but json.Valid = %v", e.Reason, valid)
			}
		})
	}
}

func TestDecodeAccepts(t *testing.T) {
	tests := []struct {
		name    string
		topic   string
		payload string
		check   func(Message) bool
	}{
		{"lone surrogate becomes U+FFFD", "carebed/v1/bed-0001/status", `{"v":1,"online":true,"fw":"a\ud800b"}`,
			func(m Message) bool { return m.Status.FW == "a\uFFFDb" }},
		{"escaped slash and quote", "carebed/v1/bed-0001/status", `{"v":1,"online":true,"fw":"1\/2\"3"}`,
			func(m Message) bool { return m.Status.FW == `1/2"3` }},
		{"tiny number underflows to zero", "carebed/v1/bed-0001/telemetry", `{"v":1,"seq":1,"motion":1e-400}`,
			func(m Message) bool { return *m.Telemetry.Readings[0].Motion == 0 }},
		{"sixteen digit mantissa", "carebed/v1/bed-0001/telemetry", `{"v":1,"seq":1,"hr":1234567890123456e-14}`,
			func(m Message) bool { return *m.Telemetry.Readings[0].HR == 12.34567890123456 }},
		{"sixteen digit negative mantissa", "carebed/v1/bed-0001/telemetry", `{"v":1,"seq":1,"rssi":-1000000000000000e-13}`,
			func(m Message) bool { return *m.Telemetry.Readings[0].RSSI == -100 }},
		{"seventeen digit number", "carebed/v1/bed-0001/telemetry", `{"v":1,"seq":1,"hr":60.000000000000001}`,
			func(m Message) bool { return *m.Telemetry.Readings[0].HR == 60 }},
		{"negative zero rssi", "carebed/v1/bed-0001/telemetry", `{"v":1,"seq":1,"rssi":-0}`,
			func(m Message) bool { return *m.Telemetry.Readings[0].RSSI == 0 }},
		{"status with seq 0", "carebed/v1/bed-0001/status", `{"v":1,"online":true,"seq":0}`,
			func(m Message) bool { return m.Status == Status{Online: true} }},
		{"sos with an unknown field", "carebed/v1/bed-0001/event", `{"v":1,"seq":9,"floor":2,"type":"sos"}`,
			func(m Message) bool {
				return m.Event.Type == EventSOS && reflect.DeepEqual(m.Event.Unknown, []string{"floor"})
			}},
		{"alarms with unknown fields", "carebed/v1/bed-0001/event", `{"v":1,"seq":9,"type":"water_leak","a b":{"x":[1]},"floor":"2"}`,
			func(m Message) bool {
				return m.Event.Type == EventWaterLeak && reflect.DeepEqual(m.Event.Unknown, []string{`"a b"`, "floor"})
			}},
		{"fall_cancel without cancels", "carebed/v1/bed-0001/event", `{"v":1,"seq":9,"type":"fall_cancel"}`,
			func(m Message) bool { return m.Event.Cancels == 0 && m.Event.Type == EventFallCancel }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Decode(tt.topic, []byte(tt.payload))
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(m) {
				t.Errorf("unexpected result %+v", m)
			}
		})
	}
}

func TestParseFloat(t *testing.T) {
	tests := []struct {
		name string
		tok  string
	}{
		{"zero", "0"}, {"negative zero", "-0"}, {"small integer", "87"}, {"negative integer", "-71"},
		{"fifteen digits", "999999999999999"}, {"sixteen digits", "9999999999999999"},
		{"seventeen digits", "12345678901234567"}, {"fraction", "22.5"}, {"exponent", "1e-7"},
		{"overflow", "1e400"}, {"negative fifteen digits", "-123456789012345"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, gerr := parseFloat([]byte(tt.tok))
			want, werr := strconv.ParseFloat(tt.tok, 64)
			if got != want || math.Signbit(got) != math.Signbit(want) || (gerr == nil) != (werr == nil) {
				t.Errorf("parseFloat(%s) = %v, %v; want %v, %v", tt.tok, got, gerr, want, werr)
			}
		})
	}
}

func TestDecodeReturnsTopicWithPayloadError(t *testing.T) {
	m, err := Decode("carebed/v1/bed-0001/event", []byte(`{}`))
	if err == nil || m.Topic != (Topic{"bed-0001", KindEvent}) {
		t.Fatalf("Decode = %+v, %v; want the topic and an error", m, err)
	}
}

func TestReasonOf(t *testing.T) {
	e := &Error{Reason: ReasonOutOfRange, Field: "hr", Msg: "412 is outside 0..300 beats/min"}
	tests := []struct {
		name string
		err  error
		want Reason
	}{
		{"nil", nil, ""},
		{"plain error", errors.New("boom"), ""},
		{"protocol error", e, ReasonOutOfRange},
		{"wrapped", fmt.Errorf("device bed-0001: %w", e), ReasonOutOfRange},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ReasonOf(tt.err); got != tt.want {
				t.Errorf("ReasonOf = %q, want %q", got, tt.want)
			}
		})
	}
	if got, want := e.Error(), "out_of_range: hr: 412 is outside 0..300 beats/min"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestAllReasonsDistinct(t *testing.T) {
	seen := map[Reason]bool{}
	for _, r := range AllReasons() {
		if seen[r] || r == "" {
			t.Errorf("reason %q is empty or listed twice", r)
		}
		seen[r] = true
	}
	if len(seen) != 11 {
		t.Errorf("AllReasons has %d reasons, want 11 (update this test and docs/protocol.md together)", len(seen))
	}
}

func TestDecodeCmd(t *testing.T) {
	tests := []struct {
		name    string
		payload string
		want    Cmd
		reason  Reason
	}{
		{"ack feedback", `{"v":1,"type":"ack_feedback","alert":"A7K3","by":"village_doctor"}`,
			Cmd{V: 1, Type: CmdAckFeedback, Alert: "A7K3", By: "village_doctor"}, ""},
		{"with text", `{"v":1,"type":"ack_feedback","alert":"A7K3","by":"family","text":"女儿马上到"}`,
			Cmd{V: 1, Type: CmdAckFeedback, Alert: "A7K3", By: "family", Text: "女儿马上到"}, ""},
		{"future type accepted", `{"v":1,"type":"reboot"}`, Cmd{V: 1, Type: "reboot"}, ""},
		{"missing type", `{"v":1,"alert":"A7K3"}`, Cmd{}, ReasonMissingField},
		{"empty type", `{"v":1,"type":""}`, Cmd{}, ReasonMissingField},
		{"wrong version", `{"v":2,"type":"ack_feedback"}`, Cmd{}, ReasonBadVersion},
		{"unknown field", `{"v":1,"type":"ack_feedback","volume":3}`, Cmd{}, ReasonUnknownField},
		{"alert not string", `{"v":1,"type":"ack_feedback","alert":7}`, Cmd{}, ReasonBadType},
		{"not JSON", `ack`, Cmd{}, ReasonBadJSON},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeCmd([]byte(tt.payload))
			if ReasonOf(err) != tt.reason || got != tt.want {
				t.Fatalf("DecodeCmd = %+v, %v; want %+v, reason %q", got, err, tt.want, tt.reason)
			}
		})
	}
}

func TestEventTypes(t *testing.T) {
	types := EventTypes()
	if len(types) != 12 {
		t.Fatalf("EventTypes has %d types, want 12", len(types))
	}
	types[0] = "changed"
	if !reflect.DeepEqual(EventTypes()[0], EventSOS) {
		t.Error("EventTypes returned the package's own slice")
	}
	for _, et := range types[1:] {
		want := et == EventSOSCancel || et == EventFallCancel
		if et.IsCancel() != want {
			t.Errorf("%s.IsCancel() = %v", et, !want)
		}
	}
}
