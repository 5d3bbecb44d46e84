package service

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"carebed/gateway/protocol"
	"carebed/internal/devsvc"
)

// TestSOSWithPostgresAlertStore: with database.url set, an SOS is raised, paged by
// SMS, acknowledged by an SMS reply and recorded in InfluxDB through the PostgreSQL
// store's change feed; the alert is in PostgreSQL and no SQLite alert store is made.
func TestSOSWithPostgresAlertStore(t *testing.T) {
	pg := devsvc.StartPostgres(t)
	e := newAlertEnv(t)
	e.cfg.Database.URL = pg.NewDatabase(t)
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
	waitFor(t, 20*time.Second, "alert changes in InfluxDB", func() (bool, string) {
		rows := e.influx.Query(t, `SELECT change FROM alert WHERE kind = 'sos' AND home = 'H-0002'`)
		changes := ""
		for _, r := range rows {
			changes += fmt.Sprint(r[1]) + " "
		}
		return strings.Contains(changes, "raised") && strings.Contains(changes, "acknowledged"), changes
	})
}
