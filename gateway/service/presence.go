package service

import (
	"context"
	"time"

	"carebed/gateway/presence"
)

// presenceTick is how often the presence tracker looks for silent devices.
const presenceTick = 5 * time.Second

// buildPresence makes the tracker that stores when each device goes online and
// offline (measurement presence, for the monthly report's time online), with the
// policy's offline heartbeats per township.
func (g *Gateway) buildPresence() error {
	pol, err := g.policy()
	if err != nil {
		return err
	}
	g.presence = presence.New(presence.Options{Spool: g.spool, Logger: g.log, Now: g.now,
		Heartbeats: func(township string) int { return pol.RulesFor(township, "").OfflineHeartbeats }})
	return nil
}

// runPresence looks for silent devices until ctx ends.
func (g *Gateway) runPresence(ctx context.Context) { g.presence.Run(ctx, presenceTick) }
