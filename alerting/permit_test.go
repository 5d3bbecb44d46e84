package alerting

import (
	"errors"
	"testing"
)

func TestPermit(t *testing.T) {
	may := map[Receiver]map[Action]bool{
		ReceiverFamily:         {ActionAck: true, ActionHandOver: true},
		ReceiverVillageVisitor: {ActionAck: true, ActionHandOver: true},
		ReceiverVillageDoctor:  {ActionAck: true, ActionHandOver: true, ActionResolve: true},
		ReceiverTownshipClinic: {ActionAck: true, ActionHandOver: true, ActionResolve: true},
		ReceiverCountyCentre:   {ActionAck: true, ActionHandOver: true, ActionResolve: true},
		"":                     {ActionAck: true, ActionHandOver: true},
		"person:dr-li":         {ActionAck: true, ActionHandOver: true},
	}
	for r, acts := range may {
		for _, a := range []Action{ActionAck, ActionResolve, ActionHandOver, "snooze"} {
			err := Permit(r, a)
			if (err == nil) != acts[a] || (err != nil && !errors.Is(err, ErrNotPermitted)) {
				t.Errorf("Permit(%q, %s) = %v, want allowed=%v", r, a, err, acts[a])
			}
		}
	}
}
