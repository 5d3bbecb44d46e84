package report

import (
	"testing"

	"carebed/alerting"
)

func TestDetailZH(t *testing.T) {
	for _, c := range []struct{ what, detail, want string }{
		{"repeat", alerting.OutageJoinsDetail(312, "seq 0"), "1 秒内共 312 台设备断线"},
		{"repeat", "seq 7", "seq 7"},
		{"resolved", string(alerting.OutcomeAutoResolved), outcomeZH[alerting.OutcomeAutoResolved]},
	} {
		if got := detailZH(c.what, c.detail); got != c.want {
			t.Errorf("detailZH(%q, %q) = %q, want %q", c.what, c.detail, got, c.want)
		}
	}
}
