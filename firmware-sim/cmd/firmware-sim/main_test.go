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
