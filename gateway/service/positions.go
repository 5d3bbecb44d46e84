package service

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	influxhttp "github.com/influxdata/influxdb-client-go/v2/api/http"
	"github.com/prometheus/client_golang/prometheus"

	"carebed/alerting/rules"
	"carebed/gateway/influxread"
	"carebed/gateway/points"
	"carebed/gateway/position"
)

// positionSaveInterval is how often the last known positions are saved to the registry.
const positionSaveInterval = 10 * time.Second

// positionsRP makes sure the retention policy positions are written to exists, with
// influx.positions_retention (InfluxDB 1.8: "db/rp"; on 2.x/3.x the operator creates
// the bucket with its retention). It is tried at start and again, at most once a
// minute, while writes find the policy missing; the gateway's InfluxDB user needs
// the right to create it, else an administrator creates it once (docs/operations.md).
type positionsRP struct {
	g    *Gateway
	mu   sync.Mutex
	last time.Time
}

// ensure creates or alters the retention policy; it logs what fails.
func (p *positionsRP) ensure(ctx context.Context) {
	p.mu.Lock()
	if now := p.g.now(); !p.last.IsZero() && now.Sub(p.last) < time.Minute {
		p.mu.Unlock()
		return
	}
	p.last = p.g.now()
	p.mu.Unlock()
	ic := p.g.cfg.Influx
	db, rp, ok := strings.Cut(ic.Positions(), "/")
	if !ok || rp == "" {
		return
	}
	dur := fmt.Sprintf("%dm", int64(ic.PositionsRetention/time.Minute))
	c := influxread.New(ic.URL, db, ic.Token)
	// No SHARD DURATION: InfluxDB picks one that fits (1 h below 2 days, 1 d to 6 months).
	q := fmt.Sprintf("CREATE RETENTION POLICY %s ON %s DURATION %s REPLICATION 1", quoteIdent(rp), quoteIdent(db), dur)
	_, err := c.Series(ctx, q)
	if err != nil && strings.Contains(err.Error(), "already exists") {
		q = fmt.Sprintf("ALTER RETENTION POLICY %s ON %s DURATION %s", quoteIdent(rp), quoteIdent(db), dur)
		_, err = c.Series(ctx, q)
	}
	if err != nil {
		p.g.log.Warn("could not create the retention policy for positions; positions are not stored in InfluxDB until it exists",
			"bucket", ic.Positions(), "err", err)
	}
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"` }

// positionsRouter is the sink's writer: positions to their own bucket, the rest to
// influx.bucket. A positions write InfluxDB refuses for good (the policy missing, no
// right to write it, a bad point) drops the positions, so they never hold up the
// readings; the last known positions stay in the registry.
func (g *Gateway) positionsRouter(main, pos points.LineWriter) *points.Router {
	dropped := prometheus.NewCounter(prometheus.CounterOpts{
		Name: "carebed_influx_positions_dropped_total",
		Help: "Position points InfluxDB refused (retention policy missing, no write right); see the log.",
	})
	g.o.Registry.MustRegister(dropped)
	rp := &positionsRP{g: g}
	g.positionsRP = rp
	return &points.Router{Main: main, Positions: pos,
		Drop: func(err error) bool {
			drop, missing := positionsRefused(err)
			if missing {
				go rp.ensure(context.Background())
			}
			return drop
		},
		Dropped: func(n int, err error) {
			dropped.Add(float64(n))
			g.log.Warn("InfluxDB refused position points; dropped", "points", n, "bucket", g.cfg.Influx.Positions(), "err", err)
		},
	}
}

// positionsRefused reports whether a failed positions write is not worth retrying
// (drop), and whether it failed because the retention policy or bucket is missing.
// InfluxDB 1.8 answers a write to a missing retention policy with 500 "retention
// policy not found", so the message decides, not only the status; other 5xx and
// network errors are retried like any write.
func positionsRefused(err error) (drop, missing bool) {
	var he *influxhttp.Error
	if !errors.As(err, &he) {
		return false, false
	}
	msg := strings.ToLower(he.Message + " " + he.Error())
	missing = strings.Contains(msg, "retention policy not found") || strings.Contains(msg, "database not found") ||
		he.StatusCode == http.StatusNotFound
	return missing || he.StatusCode >= 400 && he.StatusCode < 500, missing
}

// openPositions builds the position tracker and loads the saved positions.
func (g *Gateway) openPositions() error {
	g.positions = position.New(g.reg, g.log)
	if err := g.positions.Load(context.Background()); err != nil {
		return fmt.Errorf("registry: last known positions: %w", err)
	}
	return nil
}

// mobileThresholds gives the devices of homes the ledger marks mobile (流动/游牧) the
// offline threshold of registry.mobile_offline_heartbeats: herders move through
// valleys without coverage for hours, and a warning every time would teach the duty
// staff to ignore device-offline alerts. The larger count wins; a policy that turns
// the rule off (0) keeps it off. The rules engine remembers a device's thresholds
// until its place changes, so a home marked mobile by a later import takes the new
// threshold for devices already seen at the next start.
func mobileThresholds(base func(township, home string) rules.Thresholds, mobile func(home string) bool,
	heartbeats int) func(township, home string) rules.Thresholds {
	return func(township, home string) rules.Thresholds {
		t := base(township, home)
		if mobile(home) {
			t.Mobile = true
			if t.OfflineHeartbeats > 0 {
				t.OfflineHeartbeats = max(t.OfflineHeartbeats, heartbeats)
			}
		}
		return t
	}
}
