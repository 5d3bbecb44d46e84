package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestUsage(t *testing.T) {
	var out, errs bytes.Buffer
	if code := run(context.Background(), []string{"fly"}, &out, &errs); code != 2 || !strings.Contains(errs.String(), "usage") {
		t.Errorf("unknown command: exit %d, stderr %q", code, errs.String())
	}
}

func TestArgumentErrors(t *testing.T) {
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"run without a scenario", []string{"run", "-ledger", "../../../deploy/demo/ledger.csv"}, "run needs -scenario"},
		{"bad scenario", []string{"run", "-ledger", "x.csv", "-scenario", "testdata/none.yml"}, "no such file"},
		{"load with QoS 2", []string{"load", "-qos", "2"}, "-qos is 0 or 1"},
		{"demo without a ledger", []string{"demo"}, "open"},
		{"negative herders", []string{"ledger", "-herders", "-1"}, "cannot be negative"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var out, errs bytes.Buffer
			if code := run(context.Background(), c.args, &out, &errs); code != 1 || !strings.Contains(errs.String(), c.want) {
				t.Errorf("exit %d, stderr %q; want 1 and %q", code, errs.String(), c.want)
			}
		})
	}
}

func TestLedgerWithHerders(t *testing.T) {
	var out, errs bytes.Buffer
	if code := run(context.Background(), []string{"ledger", "-homes", "2", "-herders", "1"}, &out, &errs); code != 0 {
		t.Fatalf("exit %d: %s", code, errs.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 1+2*3+2 || !strings.HasSuffix(lines[0], ",流动,设备电话") ||
		!strings.Contains(lines[len(lines)-1], ",h00003-phone,sms_phone,") || !strings.HasSuffix(lines[len(lines)-1], ",是,13840000003") {
		t.Errorf("ledger:\n%s", out.String())
	}
}
