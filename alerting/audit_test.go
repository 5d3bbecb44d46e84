package alerting

import "testing"

func TestOutageJoins(t *testing.T) {
	for _, c := range []struct {
		detail string
		n      int
		ok     bool
	}{
		{OutageJoinsDetail(312, "seq 0"), 312, true},
		{OutageJoinsDetail(2, ""), 2, true},
		{"seq 12", 0, false},
		{"seq 12, arrived 5m0s late", 0, false},
		{"x" + OutageJoinsDetail(3, "seq 0"), 0, false},
	} {
		if n, ok := OutageJoins(c.detail); n != c.n || ok != c.ok {
			t.Errorf("OutageJoins(%q) = %d, %v; want %d, %v", c.detail, n, ok, c.n, c.ok)
		}
	}
}
