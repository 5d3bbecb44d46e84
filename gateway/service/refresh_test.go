package service

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"carebed/gateway/config"
	"carebed/gateway/registry"
	"carebed/internal/testledger"
)

// BenchmarkRefresh measures the registry load the gateway makes every
// registry.refresh (30 s by default) when nothing in the registry changed, as at
// almost every refresh of a site: a county of 10,000 and of 33,334 homes, three
// devices and three contacts each, Mosquitto's configuration (no connections to
// recheck).
func BenchmarkRefresh(b *testing.B) {
	for _, homes := range []int{10000, 33334} {
		b.Run(fmt.Sprintf("devices=%d", homes*3), func(b *testing.B) {
			cfg := offlineConfig(b)
			importCounty(b, cfg.Registry.Path, homes)
			g := offlineGateway(b, cfg)
			for b.Loop() {
				if err := g.refreshDevices(context.Background()); err != nil {
					b.Fatal(err)
				}
			}
			if n := g.devicesLoaded(); n != homes*3 {
				b.Fatalf("%d devices loaded, want %d", n, homes*3)
			}
		})
	}
}

// offlineConfig is a gateway's configuration in a fresh folder whose broker and
// InfluxDB are never reached: for what New does and the gateway's periodic work,
// called directly.
func offlineConfig(tb testing.TB) config.Config {
	cfg := config.Default()
	cfg.DataDir = tb.TempDir()
	cfg.Registry.Path = filepath.Join(cfg.DataDir, "registry.db")
	cfg.HTTP.Addr = "127.0.0.1:0"
	cfg.MQTT.URL = "tcp://127.0.0.1:1" // never connected: New does not, Run would
	cfg.Influx.URL, cfg.Influx.Bucket = "http://127.0.0.1:1", "carebed"
	if err := cfg.Validate(); err != nil {
		tb.Fatal(err)
	}
	return cfg
}

// offlineGateway is New(cfg), not run, closed when the test ends.
func offlineGateway(tb testing.TB, cfg config.Config) *Gateway {
	g, err := New(cfg, Options{Logger: slog.New(slog.DiscardHandler), Registry: prometheus.NewRegistry()})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { g.Close() })
	return g
}

// importCounty imports testledger.County(homes) into the SQLite registry at path.
func importCounty(b testing.TB, path string, homes int) {
	reg, err := registry.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer reg.Close()
	if rep, err := reg.Import(context.Background(), strings.NewReader(testledger.County(homes)), registry.ImportOptions{}); err != nil || rep.Imported+rep.Updated+rep.Unchanged != homes*3 {
		b.Fatalf("import: %+v %v", rep, err)
	}
}

// TestRefreshLoadsWhatChanged: a refresh after a change to the registry, made on
// another connection as `gateway registry import` and `gateway devices revoke` make
// them, loads it; a refresh with nothing changed, or with only positions saved, keeps
// the devices loaded before without reading them again.
func TestRefreshLoadsWhatChanged(t *testing.T) {
	ctx := context.Background()
	g, cfg, other := refreshSite(t)
	for _, step := range []struct {
		name    string
		change  func() error
		reloads bool
		devices int
	}{
		{"nothing changed", func() error { return nil }, false, 6},
		{"a position saved", func() error {
			return other.SavePositions(ctx, map[string]registry.Position{"hj-00000-0": {Lat: 42.5, Lon: 86.1, At: time.Now(), Received: time.Now()}})
		}, false, 6},
		{"a home imported", func() error { importCounty(t, cfg.Registry.Path, 3); return nil }, true, 9},
		{"a credential revoked", func() error {
			if err := other.SetCredential(ctx, registry.Credential{Principal: "hj-00002-1", Kind: registry.PrincipalDevice, Hash: "h", Issued: time.Now()}); err != nil {
				return err
			}
			return other.RevokeCredential(ctx, "hj-00002-1", time.Now())
		}, true, 9},
		{"nothing changed again", func() error { return nil }, false, 9},
	} {
		if err := step.change(); err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		if reloaded := refresh(t, g); reloaded != step.reloads {
			t.Errorf("%s: registry read again %v, want %v", step.name, reloaded, step.reloads)
		}
		if n := g.devicesLoaded(); n != step.devices {
			t.Errorf("%s: %d devices loaded, want %d", step.name, n, step.devices)
		}
	}
}

// TestRefreshLoadsAgainAfterAFailedPart: when a part of the load fails (here the
// contacts, for the responders' places), the next refresh loads again although the
// registry did not change since, so a revocation or a new doctor is never left
// waiting for another change.
func TestRefreshLoadsAgainAfterAFailedPart(t *testing.T) {
	ctx := context.Background()
	g, cfg, other := refreshSite(t)
	db, err := sql.Open("sqlite", cfg.Registry.Path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	exec := func(q string) {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	exec(`ALTER TABLE contacts RENAME TO contacts_away`)
	if err := other.SetCredential(ctx, registry.Credential{Principal: "hj-00000-0", Kind: registry.PrincipalDevice, Hash: "h", Issued: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if !refresh(t, g) {
		t.Fatal("a changed registry was not loaded")
	}
	exec(`ALTER TABLE contacts_away RENAME TO contacts`)
	stale := g.places.Load() // the places of the load in New
	if !refresh(t, g) {
		t.Error("the refresh after a load whose contacts could not be read did not load again")
	}
	if g.places.Load() == stale {
		t.Error("the responders' places were not taken again once the contacts came back")
	}
	if refresh(t, g) {
		t.Error("loaded again with nothing changed and nothing failed")
	}
}

// refreshSite is an offline gateway over a registry of two homes (six devices), its
// configuration, and the registry opened on a connection of its own, as the
// gateway's commands open it.
func refreshSite(t *testing.T) (*Gateway, config.Config, *registry.Store) {
	cfg := offlineConfig(t)
	importCounty(t, cfg.Registry.Path, 2)
	return offlineGateway(t, cfg), cfg, openRegistry(t, cfg.Registry.Path)
}

// refresh runs one registry refresh and reports whether it read the devices again.
func refresh(t *testing.T, g *Gateway) (reloaded bool) {
	t.Helper()
	before := fmt.Sprintf("%p", g.loaded.homes) // a new map at each load
	if err := g.refreshDevices(context.Background()); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%p", g.loaded.homes) != before
}
