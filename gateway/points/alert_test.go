package points

import (
	"testing"
	"time"
)

func TestAppendAlert(t *testing.T) {
	at := time.UnixMilli(1_764_400_010_000)
	opened := time.UnixMilli(1_764_400_000_000)
	base := AlertPoint{County: "和静县", Township: "巴伦台镇", Village: "村", Home: "H-0001", Device: "p-1",
		Kind: "sos", Severity: "critical", ID: 7, Code: "K7M2", At: at}
	acked := base
	acked.State, acked.Change, acked.AckSeconds, acked.OpenedAt, acked.AckRole = "acknowledged", "acknowledged", 10, opened, "village_doctor"
	raised := base
	raised.State, raised.Change, raised.OpenedAt = "open", "raised", opened
	for _, c := range []struct {
		name  string
		point AlertPoint
		want  string
	}{
		{"raised: nobody has it yet", raised,
			`alert,county=和静县,device=p-1,home=H-0001,kind=sos,township=巴伦台镇,village=村,severity=critical id=7i,code="K7M2",state="open",change="raised",opened_ms=1764400000000i,ack_role="" 1764400010000000007` + "\n"},
		{"acknowledged: who has it", acked,
			`alert,county=和静县,device=p-1,home=H-0001,kind=sos,township=巴伦台镇,village=村,severity=critical id=7i,code="K7M2",state="acknowledged",change="acknowledged",ack_seconds=10.0,opened_ms=1764400000000i,ack_role="village_doctor" 1764400010000000007` + "\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := string(AppendAlert(nil, c.point)); got != c.want {
				t.Errorf("got\n%s\nwant\n%s", got, c.want)
			}
		})
	}
}
