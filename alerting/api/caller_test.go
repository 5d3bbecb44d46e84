package api

import (
	"testing"

	"carebed/alerting"
)

func TestCallerSees(t *testing.T) {
	home := alerting.Place{County: "和静县", Township: "巴伦台镇", Village: "巴伦台村", Home: "H-1"}
	cases := []struct {
		name string
		area alerting.Place
		want bool
	}{
		{"county", alerting.Place{County: "和静县"}, true},
		{"other county", alerting.Place{County: "和硕县"}, false},
		{"township", alerting.Place{County: "和静县", Township: "巴伦台镇"}, true},
		{"other township", alerting.Place{County: "和静县", Township: "巴润哈尔莫敦镇"}, false},
		{"same township name, other county", alerting.Place{County: "和硕县", Township: "巴伦台镇"}, false},
		{"village", alerting.Place{County: "和静县", Township: "巴伦台镇", Village: "巴伦台村"}, true},
		{"other village", alerting.Place{County: "和静县", Township: "巴伦台镇", Village: "别的村"}, false},
	}
	for _, c := range cases {
		if got := (Caller{Area: c.area}).Sees(home); got != c.want {
			t.Errorf("%s: Sees = %v, want %v", c.name, got, c.want)
		}
	}
}
