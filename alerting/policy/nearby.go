package policy

import "fmt"

// Nearby is when an SOS or fall of a device far from home (a herder on a summer
// pasture) also pages the responders nearest to it: village doctors and visitors of
// the county other than the home's own, placed at their villages. They get the first
// step's page, with how far and which way the person is from them (template
// nearby); the ladder goes on as before.
type Nearby struct {
	// BeyondKM: the device's last fix is farther than this from home (default 5).
	BeyondKM float64
	// Count is how many of the nearest are paged (default 2); 0 pages none.
	Count int
}

// Nearby returns the nearest-responder settings.
func (p Policy) Nearby() Nearby { return p.nearby }

// nearbyConfig is the nearby key of the alerting section.
type nearbyConfig struct {
	BeyondKM *float64 `yaml:"beyond_km"`
	Count    *int     `yaml:"count"`
}

// maxNearbyCount bounds how many strangers one alert may page.
const maxNearbyCount = 10

// buildNearby checks the nearby block over the defaults.
func buildNearby(c nearbyConfig) (Nearby, error) {
	n := Nearby{BeyondKM: 5, Count: 2}
	set(&n.BeyondKM, c.BeyondKM)
	set(&n.Count, c.Count)
	switch {
	case !(n.BeyondKM >= 0.5 && n.BeyondKM <= 500):
		return Nearby{}, fmt.Errorf("alerting.nearby.beyond_km: %v is not 0.5 to 500 km", n.BeyondKM)
	case n.Count < 0 || n.Count > maxNearbyCount:
		return Nearby{}, fmt.Errorf("alerting.nearby.count: %d is not 0 (none) to %d", n.Count, maxNearbyCount)
	}
	return n, nil
}
