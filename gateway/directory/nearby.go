package directory

import (
	"context"
	"strings"
	"sync"

	"carebed/alerting"
	"carebed/gateway/position"
)

// NearbyFunc lists the responders near a device far from its home (farther than
// beyond metres), nearest first: position.Tracker.Nearby over the registry.
type NearbyFunc func(ctx context.Context, device string, beyond float64) ([]position.Near, error)

// Nearby is escalation's Nearby: the directory's people near an SOS or fall device
// far from home. The list Nearest found for an alert is kept for the texts of its
// pages (From): each page names the distances the first step found.
type Nearby struct {
	Dir  *Directory
	Near NearbyFunc

	mu    sync.Mutex
	found map[int64][]position.Near // by alert id: the first step's list, the last keptLists alerts
}

// keptLists bounds the lists kept: enough for the far-away alerts of a busy hour.
const keptLists = 64

// Nearest returns up to n people near a's device, none of its home's.
func (nb *Nearby) Nearest(ctx context.Context, a alerting.Alert, beyondKM float64, n int) ([]alerting.Person, error) {
	near, err := nb.Near(ctx, a.Device, beyondKM*1000)
	if err != nil {
		return nil, err
	}
	if len(near) > 0 {
		nb.mu.Lock()
		if nb.found == nil || len(nb.found) >= keptLists {
			nb.found = map[int64][]position.Near{} // far-away alerts are rare: start over
		}
		nb.found[a.ID] = near
		nb.mu.Unlock()
	}
	var out []alerting.Person
	for _, x := range near {
		if len(out) == n {
			break
		}
		if x.Contact.Home != a.Place.Home {
			out = append(out, contactPerson(x.Contact))
		}
	}
	return nb.Dir.withResponders(ctx, out)
}

// From says how far and which way a's device is from p, a person of another home:
// from the list Nearest found for a, else (a page resent after a restart) read again.
func (nb *Nearby) From(ctx context.Context, a alerting.Alert, p alerting.Person) (string, bool) {
	home, ok := homeOf(p.ID)
	if !ok || home == a.Place.Home {
		return "", false
	}
	nb.mu.Lock()
	near, kept := nb.found[a.ID]
	nb.mu.Unlock()
	if !kept {
		var err error
		if near, err = nb.Near(ctx, a.Device, 0); err != nil {
			return "", false
		}
	}
	for _, x := range near {
		if x.Contact.Phone == p.Phone {
			return x.Way, true
		}
	}
	return "", false
}

// homeOf is the home of a home contact's person id (home/<home>/<pos>).
func homeOf(id string) (string, bool) {
	parts := strings.Split(id, "/")
	if len(parts) != 3 || parts[0] != "home" {
		return "", false
	}
	return parts[1], true
}
