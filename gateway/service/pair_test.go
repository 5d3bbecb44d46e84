package service

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"carebed/firmware-sim/fleet"
	"carebed/gateway/protocol"
	"carebed/gateway/registry"
	"carebed/internal/devsvc"
	"carebed/internal/testwait"
)

// pairEnv is an active/standby pair of gateway processes (a, then b) sharing
// Mosquitto (one client id), InfluxDB and PostgreSQL, each with its own data folder
// and its own SQLite registry holding the same ledger (the interim until the
// registry moves to PostgreSQL), a fake Twilio, and an SOS ladder of a 0 s step
// (family, village doctor, visitor) and an 8 s step (township clinic).
type pairEnv struct {
	*alertEnv
	db   string
	a, b *gatewayProc
}

// newPairEnv starts the services and prepares the two processes (not started) with
// lease_ttl ttl; devices are registered besides the SOS home.
func newPairEnv(t *testing.T, ttl time.Duration, devices []string) *pairEnv {
	t.Helper()
	pg := devsvc.StartPostgres(t)
	e := &pairEnv{alertEnv: newAlertEnv(t)}
	e.db = pg.NewDatabase(t)
	ledger := alertLedger
	for i, d := range devices {
		ledger += fmt.Sprintf("和静县,巴伦台镇,村%02d,H-%05d,老人%d,地址%d,42.3,86.4,%s,bed_sensor,探访员,13800000001,村医,13800000002,13900000%03d,13800000019\n",
			i/10, i+100, i, i, d, i%1000)
	}
	e.importLedger(ledger)
	cfgPath := filepath.Join(t.TempDir(), "gateway.yml")
	yml := fmt.Sprintf("twilio:\n  account_sid: %s\n  auth_token: %s\n  from: %q\n  base_url: %s\n  public_url: %s\n"+
		"database:\n  url: %s\npair:\n  enabled: true\n  lease_ttl: %s\nalerting:\n%s",
		twilioSID, twilioToken, twilioFrom, e.cfg.Twilio.BaseURL, e.public, e.db, ttl,
		indent(strings.ReplaceAll(testPolicy, "after: 4s", "after: 8s")))
	if err := os.WriteFile(cfgPath, []byte(yml), 0o600); err != nil {
		t.Fatal(err)
	}
	bin := buildGateway(t)
	proc := func(holder, dataDir, addr string) *gatewayProc {
		pe := *e.env
		pe.cfg.DataDir = dataDir
		p := newGatewayProcOf(t, bin, &pe, addr)
		p.args = []string{"run", "-config", cfgPath}
		p.env = append(p.env, "CAREBED_PAIR_HOLDER="+holder)
		return p
	}
	e.a = proc("gw-a", e.cfg.DataDir, e.cfg.HTTP.Addr)
	dirB := filepath.Join(t.TempDir(), "data-b")
	regB := openRegistry(t, filepath.Join(dirB, "registry.db"))
	if _, err := regB.Import(context.Background(), strings.NewReader(ledger), registry.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	e.b = proc("gw-b", dirB, testwait.FreeAddr(t))
	return e
}

// readiness is what p's /readyz says (zero when it does not answer).
func readiness(p *gatewayProc) (int, Readiness) {
	code, body := tryGet("http://" + p.addr + "/readyz")
	var r Readiness
	json.Unmarshal([]byte(body), &r) //nolint:errcheck // zero when not JSON
	return code, r
}

// waitActive waits until p says it is the active one and ready, and returns when.
func waitActive(t *testing.T, p *gatewayProc, within time.Duration) time.Time {
	t.Helper()
	waitFor(t, within, p.addr+" active", func() (bool, string) {
		code, r := readiness(p)
		return code == 200 && r.Active, fmt.Sprintf("%d %+v", code, r)
	})
	return time.Now()
}

// waitStandby waits until p answers as the standby: /readyz 503 with active false,
// carebed_active 0.
func waitStandby(t *testing.T, p *gatewayProc, within time.Duration) {
	t.Helper()
	waitFor(t, within, p.addr+" standby", func() (bool, string) {
		code, r := readiness(p)
		_, metrics := tryGet("http://" + p.addr + "/metrics")
		return code == 503 && !r.Active && strings.Contains(metrics, "\ncarebed_active 0"), fmt.Sprintf("%d %+v", code, r)
	})
}

// startPair starts a, waits for it to be active, then b as the standby.
func (e *pairEnv) startPair(t *testing.T) {
	t.Helper()
	e.a.launch()
	waitActive(t, e.a, 60*time.Second)
	e.b.launch()
	waitStandby(t, e.b, 60*time.Second)
	// The standby serves reads and refuses writes, saying why.
	for _, path := range []string{"/api/v1/alerts/1/ack", "/webhooks/twilio/sms", "/webhooks/twilio/status"} {
		code, body := call(t, "POST", "http://"+e.b.addr+path, e.admin, "")
		if code != 503 || !strings.Contains(body, "备用") {
			t.Errorf("POST %s on the standby: %d %q, want 503 saying it is the standby", path, code, body)
		}
	}
	if code, _ := call(t, "GET", "http://"+e.b.addr+"/console/", "", ""); code != 200 && code != 303 {
		t.Errorf("GET /console/ on the standby: %d, want it served", code)
	}
}

// sos raises an SOS on the pair's home and waits for the first step's three pages.
func (e *pairEnv) sos(t *testing.T) time.Time {
	t.Helper()
	dev := publishClient(t, e.mq.URL, "hj-0002-sos")
	at := time.Now()
	publish(t, dev, "carebed/v1/hj-0002-sos/event", protocol.EncodeEvent(protocol.Event{Seq: 1, TS: at.UnixMilli(), Type: protocol.EventSOS}))
	for _, phone := range []string{familyPhone, doctorPhone, visitPhone} {
		e.waitSMS(t, phone, 1, 10*time.Second)
	}
	return at
}

// pagedOnce checks, after giving a duplicate time to show, that each of the SOS
// ladder's people got one SMS, and that PostgreSQL holds one SOS alert with four
// pages.
func (e *pairEnv) pagedOnce(t *testing.T) {
	t.Helper()
	time.Sleep(3 * time.Second) // waiting for something that must not happen: no condition to poll
	for _, phone := range []string{familyPhone, doctorPhone, visitPhone, clinicPhone} {
		if got := e.smsTo(phone); len(got) != 1 {
			t.Errorf("%s got %d SMS across the takeover, want 1: %q", phone, len(got), got)
		}
	}
	c, err := pgx.Connect(context.Background(), e.db)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())
	var alerts, pages int
	if err := c.QueryRow(context.Background(), `SELECT COUNT(DISTINCT a.id), COUNT(t.id) FROM alerts a
		LEFT JOIN attempts t ON t.alert_id = a.id AND t.purpose = 'page' AND t.status = 'sent'
		WHERE a.home = 'H-0002' AND a.kind = 'sos'`).Scan(&alerts, &pages); err != nil {
		t.Fatal(err)
	}
	if alerts != 1 || pages != 4 {
		t.Errorf("PostgreSQL holds %d SOS alerts with %d pages sent, want 1 with 4", alerts, pages)
	}
}

// TestPairPausedActivePagesNobodyAfterTakeover pauses the active gateway (SIGSTOP)
// past its lease after an SOS's first step: the standby takes over and sends the next
// step; the old active, resumed (SIGCONT) before that step is due, steps down to
// standby and pages nobody: each person gets each page once.
func TestPairPausedActivePagesNobodyAfterTakeover(t *testing.T) {
	const ttl = 3 * time.Second
	e := newPairEnv(t, ttl, nil)
	e.startPair(t)
	opened := e.sos(t)
	if err := e.a.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	paused := time.Now()
	took := waitActive(t, e.b, 15*time.Second)
	t.Logf("takeover %s after the pause (lease_ttl %s)", took.Sub(paused).Round(10*time.Millisecond), ttl)
	if err := e.a.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	waitStandby(t, e.a, 10*time.Second)
	e.waitSMS(t, clinicPhone, 1, 15*time.Second)
	if since := time.Since(opened); since < 8*time.Second {
		t.Errorf("the clinic step came %s after the SOS, before its 8 s", since)
	}
	e.pagedOnce(t)
	if code, r := readiness(e.b); code != 200 || !r.Active {
		t.Errorf("the new active is no longer ready and active after the old one resumed: %d %+v", code, r)
	}
	// The old active did not reconnect with the shared client id and throw the new
	// one off the broker.
	if _, m := tryGet("http://" + e.b.addr + "/metrics"); !strings.Contains(m, "\ncarebed_mqtt_connection_lost_total 0\n") {
		t.Errorf("the new active lost its broker connection after the old one resumed")
	}
}

// TestPairKill9ActiveLosesNothing: under 1,000 msg/s of telemetry, the active gateway
// is killed (kill -9) and its data folder deleted after an SOS's first step and
// before its second; the standby takes over within 15 s (the default lease), sends
// the second step once, and every reading the broker acknowledged is in InfluxDB
// once.
func TestPairKill9ActiveLosesNothing(t *testing.T) {
	devices := deviceIDs("pair", 100)
	e := newPairEnv(t, 10*time.Second, devices)
	e.startPair(t)
	f := fleet.New(fleet.Options{Broker: e.mq.URL, Devices: devices, Conns: 4, Rate: 1000,
		Duration: 30 * time.Second, Record: true, ClientPrefix: "pair-pub"})
	done := make(chan fleet.Report, 1)
	go func() { rep, err := f.Run(context.Background()); checkRun(t, err); done <- rep }()
	waitFor(t, 20*time.Second, "traffic flowing", func() (bool, string) { return f.Sent() > 3000, fmt.Sprint(f.Sent()) })
	opened := e.sos(t)
	e.a.kill9()
	killed := time.Now()
	if err := os.RemoveAll(e.cfg.DataDir); err != nil {
		t.Fatal(err)
	}
	took := waitActive(t, e.b, 20*time.Second)
	takeover := took.Sub(killed)
	t.Logf("takeover %s after kill -9 (lease_ttl 10s), %d messages sent by then", takeover.Round(10*time.Millisecond), f.Sent())
	if takeover > 15*time.Second {
		t.Errorf("takeover took %s, more than 15 s", takeover)
	}
	e.waitSMS(t, clinicPhone, 1, 20*time.Second)
	due := opened.Add(8 * time.Second)
	if late := time.Since(due); late > takeover+2*time.Second {
		t.Errorf("the clinic step came %s after it was due, more than the takeover (%s)", late, takeover)
	}
	e.pagedOnce(t)
	rep := <-done
	if rep.Errors != 0 {
		t.Fatalf("publisher errors: %d (last %v)", rep.Errors, rep.LastError)
	}
	acked := f.Acked()
	waitFor(t, 60*time.Second, "every acknowledged reading stored", func() (bool, string) {
		n := e.influx.Count(t, "SELECT COUNT(seq) FROM telemetry")
		return n >= int64(total(acked)), fmt.Sprintf("%d of %d", n, total(acked))
	})
	exactlyOnce(t, seqsIn(t, e.influx, "telemetry"), acked)
	t.Logf("%d readings acknowledged by the broker, all in InfluxDB once across the kill -9", total(acked))
}
