package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"

	"carebed/gateway/config"
	"carebed/gateway/protocol"
	"carebed/gateway/registry"
	"carebed/internal/devsvc"
	"carebed/internal/pgschema"
)

// TestSOSWithPostgresAlertStore: with database.url set, the ledger and the users go
// into PostgreSQL (the registry the gateway and `gateway registry import` open there),
// an SOS is raised, paged by SMS to the ledger's people, acknowledged by an SMS reply
// and recorded in InfluxDB through the PostgreSQL store's change feed; the alert is in
// PostgreSQL and no SQLite store (alerts, registry, visits) is made.
func TestSOSWithPostgresAlertStore(t *testing.T) {
	pg := devsvc.StartPostgres(t)
	e := newAlertEnvOn(t, pg.NewDatabase(t))
	e.start()
	dev := publishClient(t, e.mq.URL, "hj-0002-sos")
	publish(t, dev, "carebed/v1/hj-0002-sos/event", protocol.EncodeEvent(protocol.Event{Seq: 1, TS: time.Now().UnixMilli(), Type: protocol.EventSOS}))

	page := e.waitSMS(t, doctorPhone, 1, 10*time.Second)[0]
	if !strings.Contains(page, "紧急呼叫") {
		t.Errorf("page %q is not an SOS page", page)
	}
	if err := e.twilio.SendSMS(context.Background(), e.public+"/webhooks/twilio/sms", doctorPhone, twilioFrom, "1"); err != nil {
		t.Fatal(err)
	}
	e.waitSMS(t, familyPhone, 2, 10*time.Second) // the page, then 'taken by'

	c, err := pgx.Connect(context.Background(), e.cfg.Database.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())
	var state, ackChannel string
	var pages int
	if err := c.QueryRow(context.Background(), `SELECT a.state, a.ack_channel,
		(SELECT COUNT(*) FROM attempts t WHERE t.alert_id = a.id AND t.purpose = 'page')
		FROM alerts a WHERE a.home = 'H-0002' AND a.kind = 'sos'`).Scan(&state, &ackChannel, &pages); err != nil {
		t.Fatalf("the alert in PostgreSQL: %v", err)
	}
	if state != "acknowledged" || ackChannel != "sms" || pages != 3 {
		t.Errorf("in PostgreSQL: state %q, ack channel %q, %d pages; want acknowledged by sms, 3 pages", state, ackChannel, pages)
	}
	if _, err := os.Stat(filepath.Join(e.cfg.DataDir, "alerts.db")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("an SQLite alert store was made beside PostgreSQL: %v", err)
	}
	for _, f := range []string{e.cfg.Registry.Path, filepath.Join(e.cfg.DataDir, "visits.db")} {
		if _, err := os.Stat(f); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("an SQLite store %s was made beside PostgreSQL: %v", filepath.Base(f), err)
		}
	}
	var devices, users int
	if err := c.QueryRow(context.Background(), `SELECT (SELECT count(*) FROM devices),
		(SELECT count(*) FROM users)`).Scan(&devices, &users); err != nil || devices != 2 || users != 1 {
		t.Errorf("the registry in PostgreSQL: %d devices, %d users, %v; want the ledger's 2 and the administrator", devices, users, err)
	}
	waitFor(t, 20*time.Second, "alert changes in InfluxDB", func() (bool, string) {
		rows := e.influx.Query(t, `SELECT change FROM alert WHERE kind = 'sos' AND home = 'H-0002'`)
		changes := ""
		for _, r := range rows {
			changes += fmt.Sprint(r[1]) + " "
		}
		return strings.Contains(changes, "raised") && strings.Contains(changes, "acknowledged"), changes
	})
}

// TestStartRefusesNewerRegistrySchema: a gateway whose PostgreSQL registry was
// migrated by a newer gateway does not start, says why and names the key, and leaves
// the schema as it was.
func TestStartRefusesNewerRegistrySchema(t *testing.T) {
	ctx := context.Background()
	url := devsvc.StartPostgres(t).NewDatabase(t)
	reg, err := registry.OpenPostgres(ctx, url) // the schema as this gateway makes it
	if err != nil {
		t.Fatal(err)
	}
	reg.Close()
	c, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	if _, err := c.Exec(ctx, `UPDATE schema_versions SET version = 99 WHERE component = 'registry'`); err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.DataDir = filepath.Join(t.TempDir(), "data")
	cfg.Registry.Path = filepath.Join(cfg.DataDir, "registry.db")
	cfg.MQTT.URL = "tcp://127.0.0.1:1" // never dialled: New does not connect
	cfg.HTTP.Addr = "127.0.0.1:0"
	cfg.Database.URL = url
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	g, err := New(cfg, Options{Logger: slog.New(slog.NewTextHandler(testWriter{t}, nil)), Registry: prometheus.NewRegistry()})
	if err == nil {
		g.Close()
		t.Fatal("the gateway started on a newer registry schema")
	}
	if !errors.Is(err, pgschema.ErrNewerSchema) || !strings.Contains(err.Error(), "database.url") ||
		!strings.Contains(err.Error(), "registry schema version 99") {
		t.Errorf("error %q, want the newer registry schema under database.url", err)
	}
	if strings.Contains(err.Error(), "carebed:carebed") {
		t.Errorf("the error shows the database password: %q", err)
	}
	if v, err := pgschema.Version(ctx, c, "registry"); err != nil || v != 99 {
		t.Errorf("registry schema version after the refusal %d, %v; want 99", v, err)
	}
}
