package report

import (
	"context"
	"slices"

	"carebed/alerting"
	"carebed/alerting/policy"
	"carebed/gateway/registry"
)

// Registry is the part of the registry a report reads; *registry.Store is one.
type Registry interface {
	Devices(ctx context.Context) ([]registry.Device, error)
	CareAll(ctx context.Context) ([]registry.Care, error)
}

// HomesFrom reads the registered homes with their devices and care groups, in home
// id order. A care group the policy does not know is left out (the ledger import
// refuses them).
func HomesFrom(ctx context.Context, reg Registry) ([]Home, error) {
	cares, err := reg.CareAll(ctx)
	if err != nil {
		return nil, err
	}
	devs, err := reg.Devices(ctx)
	if err != nil {
		return nil, err
	}
	byHome := map[string][]string{}
	for _, d := range devs {
		byHome[d.Place.Home] = append(byHome[d.Place.Home], d.ID)
	}
	out := make([]Home, 0, len(cares))
	seen := map[string]bool{}
	for _, c := range cares {
		if seen[c.Place.Home] { // one row per contact when a home has several
			continue
		}
		seen[c.Place.Home] = true
		h := Home{Place: alerting.Place(c.Place), Own: policy.Intervals{VisitDays: c.VisitDays, RoundDays: c.RoundDays}}
		for _, g := range c.Groups {
			if cg, ok := policy.ParseCareGroup(g); ok && !slices.Contains(h.Groups, cg) {
				h.Groups = append(h.Groups, cg)
			}
		}
		h.Devices = slices.Sorted(slices.Values(byHome[c.Place.Home]))
		out = append(out, h)
	}
	return out, nil
}
