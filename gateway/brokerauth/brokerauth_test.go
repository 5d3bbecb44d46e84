package brokerauth

import (
	"strings"
	"testing"

	"carebed/gateway/credential"
)

func TestAllowed(t *testing.T) {
	dev := Principal{Kind: Device, ID: "bed-0001"}
	resp := Principal{Kind: Responder, ID: "r-00aa"}
	gw := Principal{Kind: Gateway, ID: "gateway"}
	alarms := Principal{Kind: GatewayAlarms, ID: AlarmUser("gateway")}
	cases := []struct {
		name  string
		p     Principal
		topic string
		write bool
		want  bool
	}{
		{"own telemetry", dev, "carebed/v1/bed-0001/telemetry", true, true},
		{"own event", dev, "carebed/v1/bed-0001/event", true, true},
		{"own status", dev, "carebed/v1/bed-0001/status", true, true},
		{"write own cmd", dev, "carebed/v1/bed-0001/cmd", true, false},
		{"read own cmd", dev, "carebed/v1/bed-0001/cmd", false, true},
		{"read own telemetry", dev, "carebed/v1/bed-0001/telemetry", false, false},
		{"other device", dev, "carebed/v1/bed-0002/event", true, false},
		{"prefix of another id", dev, "carebed/v1/bed-00011/event", true, false},
		{"wildcard read", dev, "carebed/v1/+/cmd", false, false},
		{"hash read", dev, "carebed/v1/bed-0001/#", false, false},
		{"deeper topic", dev, "carebed/v1/bed-0001/event/x", true, false},
		{"responder topic", dev, "carebed/v1/responders/r1/ack", true, false},
		{"no username", Principal{Kind: Device}, "carebed/v1//event", true, false},
		{"responder ack", resp, "carebed/v1/responders/r-00aa/ack", true, true},
		{"responder reads alerts", resp, "carebed/v1/responders/r-00aa/alerts", false, true},
		{"responder writes alerts", resp, "carebed/v1/responders/r-00aa/alerts", true, false},
		{"other responder", resp, "carebed/v1/responders/r-00bb/ack", true, false},
		{"responder as device", resp, "carebed/v1/r-00aa/event", true, false},
		{"gateway reads all", gw, "carebed/v1/+/telemetry", false, true},
		{"gateway reads responders", gw, "carebed/v1/responders/+/ack", false, true},
		{"gateway writes cmd", gw, "carebed/v1/bed-0001/cmd", true, true},
		{"gateway writes alerts", gw, "carebed/v1/responders/r-00aa/alerts", true, true},
		{"gateway forges telemetry", gw, "carebed/v1/bed-0001/telemetry", true, false},
		{"gateway outside prefix", gw, "other/topic", false, false},
		{"alarm session reads events", alarms, "carebed/v1/+/event", false, true},
		{"alarm session reads no telemetry", alarms, "carebed/v1/+/telemetry", false, false},
		{"alarm session reads no cmd", alarms, "carebed/v1/+/cmd", false, false},
		{"alarm session reads not all", alarms, "carebed/v1/#", false, false},
		{"alarm session writes nothing", alarms, "carebed/v1/bed-0001/cmd", true, false},
		{"unknown kind", Principal{Kind: "x", ID: "a"}, "carebed/v1/a/event", true, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := Allowed(c.p, c.topic, c.write); got != c.want {
				t.Errorf("Allowed(%+v, %q, write=%v) = %v, want %v", c.p, c.topic, c.write, got, c.want)
			}
		})
	}
}

func TestCovers(t *testing.T) {
	cases := []struct {
		f, sub string
		want   bool
	}{
		{"a/b", "a/b", true},
		{"a/b", "a/c", false},
		{"a/+", "a/b", true},
		{"a/+", "a/+", true},
		{"a/+", "a/#", false},
		{"a/+", "a/b/c", false},
		{"a/#", "a/b/c", true},
		{"a/#", "a", true}, // "#" also matches the parent level (MQTT 3.1.1, 4.7.1.2)
		{"#", "x/y", true},
		{"a/b/c", "a/b", false},
	}
	for _, c := range cases {
		if got := Covers(c.f, c.sub); got != c.want {
			t.Errorf("Covers(%q, %q) = %v, want %v", c.f, c.sub, got, c.want)
		}
	}
}

func TestExport(t *testing.T) {
	h := credential.Hash("pw")
	ps := []Principal{{Kind: Responder, ID: "r-1", Hash: h}, {Kind: Device, ID: "bed-1", Hash: h},
		{Kind: Gateway, ID: "gateway", Hash: h}}
	var pw, acl strings.Builder
	if err := WritePasswd(&pw, ps); err != nil {
		t.Fatal(err)
	}
	if want := "bed-1:" + h + "\ngateway:" + h + "\nr-1:" + h + "\n"; pw.String() != want {
		t.Errorf("passwd:\n%s\nwant:\n%s", pw.String(), want)
	}
	if err := WriteACL(&acl, ps); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"pattern write carebed/v1/%u/telemetry\npattern write carebed/v1/%u/event\n" +
			"pattern write carebed/v1/%u/status\npattern read carebed/v1/%u/cmd\n",
		"user gateway\ntopic write carebed/v1/+/cmd\ntopic write carebed/v1/responders/+/alerts\ntopic read carebed/v1/#\n",
		"user r-1\ntopic write carebed/v1/responders/r-1/ack\ntopic read carebed/v1/responders/r-1/alerts\n",
	} {
		if !strings.Contains(acl.String(), want) {
			t.Errorf("ACL lacks\n%s\ngot:\n%s", want, acl.String())
		}
	}
	if strings.Contains(acl.String(), "bed-1") {
		t.Error("the ACL names a device: every device's rules are its patterns")
	}
	var noDevices strings.Builder
	if err := WriteACL(&noDevices, ps[:1]); err != nil || strings.Contains(noDevices.String(), "pattern") {
		t.Errorf("an export without devices grants by pattern (%v):\n%s", err, noDevices.String())
	}
	if !strings.Contains(acl.String(), "use_username_as_clientid true") {
		t.Error("the ACL's header does not say that Mosquitto must tie client ids to usernames")
	}
}

func TestExportRefuses(t *testing.T) {
	h := credential.Hash("pw")
	cases := map[string][]Principal{
		"twice":      {{Kind: Device, ID: "a", Hash: h}, {Kind: Responder, ID: "a", Hash: h}},
		"colon":      {{Kind: Device, ID: "a:b", Hash: h}},
		"space":      {{Kind: Device, ID: "a b", Hash: h}},
		"empty":      {{Kind: Device, ID: "", Hash: h}},
		"bad hash":   {{Kind: Device, ID: "a", Hash: "plain"}},
		"wildcard":   {{Kind: Device, ID: "a+", Hash: h}},
		"empty hash": {{Kind: Device, ID: "a"}},
	}
	for name, ps := range cases {
		if err := WritePasswd(&strings.Builder{}, ps); err == nil {
			t.Errorf("%s: WritePasswd accepted %+v", name, ps)
		}
	}
}
