package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestLoadErrors(t *testing.T) {
	cases := map[string]string{
		"unknown_key":    "config testdata/conf.unknown_key.yml: yaml: unmarshal errors:\n  line 3: field clientid not found in type config.MQTT",
		"bad_scheme":     `config: mqtt.url: scheme "http" is not tcp, mqtt, ssl, tls, mqtts, ws or wss`,
		"bad_duration":   "config testdata/conf.bad_duration.yml: yaml: unmarshal errors:\n  line 2: cannot unmarshal !!str `soon` into time.Duration",
		"small_inflight": "config: mqtt.inflight: 0 is outside 1..1000000",
		"bad_level":      `config: log.level: "loud" is not one of debug, info, warn, error`,
		"bad_influx":     `config: influx.url: parse "127.0.0.1:8086": first path segment in URL cannot contain colon`,
		"client_id_not_username": `config: mqtt.client_id: "carebed-gateway" must equal mqtt.username "gateway" (the broker ties each ` +
			`session to its username; leave client_id out to use the username, see docs/operations.md, Upgrading: the gateway's client id)`,
		"bad_proxy":             `config: http.trusted_proxies: [1]: "10.0.0" is neither an address nor a CIDR`,
		"small_reading_burst":   "config: ingest.device_limit.reading_burst: 2000 is outside 4096..100000000",
		"positions_same_bucket": `config: influx.positions_bucket: "carebed/autogen" is influx.bucket; positions need a bucket or retention policy of their own`,
		"database_scheme":       `config: database.url: scheme "mysql" is not postgres or postgresql`,
		"database_no_name":      `config: database.url: names no database (postgres://user:password@host:5432/dbname)`,
		"pair_without_database": `config: pair.enabled: needs database.url (the pair shares its alerts and its lease in PostgreSQL)`,
		"pair_short_ttl":        "config: pair.lease_ttl: 200ms is outside 1s..10m0s",
	}
	for name, want := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := Load(filepath.Join("testdata", "conf."+name+".yml"), nil)
			if err == nil {
				t.Fatal("Load succeeded, want an error")
			}
			if err.Error() != want {
				t.Errorf("error\n got: %s\nwant: %s", err, want)
			}
		})
	}
}

func TestLoadGood(t *testing.T) {
	cfg, err := Load("testdata/conf.good.yml", nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.MQTT.ClientID != "carebed-gw-bazhou" || cfg.MQTT.Inflight != 20000 {
		t.Errorf("mqtt = %+v", cfg.MQTT)
	}
	if cfg.Ingest.LateAfter != 2*time.Minute {
		t.Errorf("late_after = %s", cfg.Ingest.LateAfter)
	}
	if cfg.Ingest.DedupWindow != Default().Ingest.DedupWindow {
		t.Errorf("dedup_window default lost: %d", cfg.Ingest.DedupWindow)
	}
	if cfg.Registry.Path != "/var/lib/carebed/registry.db" {
		t.Errorf("registry.path = %q", cfg.Registry.Path)
	}
}

func TestLoadEmptyFileKeepsDefaults(t *testing.T) {
	cfg, err := Load("testdata/conf.empty.yml", nil)
	if err != nil {
		t.Fatal(err)
	}
	want := Default()
	want.fillDerived()
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("got %+v\nwant %+v", cfg, want)
	}
}

func TestEnvOverrides(t *testing.T) {
	env := map[string]string{
		"CAREBED_MQTT_URL":             "tcp://10.0.0.1:1883",
		"CAREBED_MQTT_USERNAME":        "gw",
		"CAREBED_MQTT_PASSWORD":        "gw-secret",
		"CAREBED_EMBEDDED_BROKER_ADDR": "127.0.0.1:18830",
		"CAREBED_INFLUX_URL":           "http://127.0.0.1:9999",
		"CAREBED_INFLUX_TOKEN":         "user:pass",
		"CAREBED_INFLUX_BUCKET":        "care/autogen",
		"CAREBED_HTTP_ADDR":            "127.0.0.1:0",
		"CAREBED_DATA_DIR":             t.TempDir(),
		"CAREBED_TWILIO_ACCOUNT_SID":   "AC0123",
		"CAREBED_TWILIO_AUTH_TOKEN":    "secret",
		"CAREBED_TWILIO_FROM":          "+15005550006",
		"CAREBED_TWILIO_BASE_URL":      "http://127.0.0.1:9",
		"CAREBED_HTTP_PUBLIC_URL":      "https://cb.example.cn",
		"CAREBED_DATABASE_URL":         "postgres://carebed:pw@127.0.0.1:5432/carebed",
		"CAREBED_PAIR_HOLDER":          "gw-kashgar-b",
	}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	cfg, err := Load("testdata/conf.good.yml", lookup)
	if err != nil {
		t.Fatal(err)
	}
	got := []string{cfg.MQTT.URL, cfg.MQTT.Username, cfg.MQTT.Password, cfg.EmbeddedBroker.Addr, cfg.Influx.URL, cfg.Influx.Token,
		cfg.Influx.Bucket, cfg.HTTP.Addr, cfg.DataDir, cfg.Twilio.AccountSID, cfg.Twilio.AuthToken,
		cfg.Twilio.From, cfg.Twilio.BaseURL, cfg.HTTP.PublicURL, cfg.Database.URL, cfg.Pair.Holder}
	for i, name := range Env {
		if got[i] != env[name] {
			t.Errorf("%s: got %q", name, got[i])
		}
	}
	if !strings.HasPrefix(cfg.Registry.Path, env["CAREBED_DATA_DIR"]) {
		t.Errorf("registry.path %q does not follow CAREBED_DATA_DIR", cfg.Registry.Path)
	}
}

func TestEnvEmptyTurnsBrokerOff(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.yml")
	if err := os.WriteFile(path, []byte("embedded_broker:\n  addr: 127.0.0.1:1883\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	lookup := func(k string) (string, bool) { return "", k == "CAREBED_EMBEDDED_BROKER_ADDR" }
	cfg, err := Load(path, lookup)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.EmbeddedBroker.Addr != "" {
		t.Errorf("embedded_broker.addr = %q, want off", cfg.EmbeddedBroker.Addr)
	}
}

// TestExampleIsTheDefaults keeps deploy/gateway.example.yml, the documentation of
// every key, equal to Default().
func TestPositionsBucket(t *testing.T) {
	for _, c := range []struct{ bucket, positions, want string }{
		{"carebed/autogen", "", "carebed/positions"},
		{"carebed", "", "carebed_positions"},
		{"carebed/autogen", "carebed/where", "carebed/where"},
	} {
		if got := (Influx{Bucket: c.bucket, PositionsBucket: c.positions}).Positions(); got != c.want {
			t.Errorf("Positions() of %q, %q = %q, want %q", c.bucket, c.positions, got, c.want)
		}
	}
}

func TestExampleIsTheDefaults(t *testing.T) {
	cfg, err := Load("../../deploy/gateway.example.yml", nil)
	if err != nil {
		t.Fatal(err)
	}
	want := Default()
	want.fillDerived()
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("deploy/gateway.example.yml differs from Default():\n got %+v\nwant %+v", cfg, want)
	}
}

func TestSessionClientIDIsTheUsername(t *testing.T) {
	for _, c := range []struct {
		name           string
		clientID, user string
		want           string
		wantErr        bool
	}{
		{"nothing set: anonymous development broker", "", "", DefaultClientID, false},
		{"username only", "", "carebed-gateway", "carebed-gateway", false},
		{"both, equal", "gw-bazhou", "gw-bazhou", "gw-bazhou", false},
		{"client id only (anonymous broker)", "gw-bazhou", "", "gw-bazhou", false},
		{"both, different", "carebed-gateway", "gateway", "carebed-gateway", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := Default()
			cfg.fillDerived()
			cfg.MQTT.ClientID, cfg.MQTT.Username = c.clientID, c.user
			if got := cfg.MQTT.SessionClientID(); got != c.want {
				t.Errorf("SessionClientID() = %q, want %q", got, c.want)
			}
			err := cfg.Validate()
			if (err != nil) != c.wantErr {
				t.Fatalf("Validate() = %v, want an error: %v", err, c.wantErr)
			}
			if err != nil && !strings.HasPrefix(err.Error(), "config: mqtt.client_id: ") {
				t.Errorf("error %q does not name mqtt.client_id", err)
			}
		})
	}
}

// TestShippedConfigsTieClientIDToUsername: the gateway configurations in deploy/
// connect with their username as client id.
func TestShippedConfigsTieClientIDToUsername(t *testing.T) {
	for _, path := range []string{"../../deploy/gateway.example.yml", "../../deploy/gateway.server.yml", "../../deploy/compose/gateway.yml"} {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := Decode(b)
		if err != nil {
			t.Fatal(err)
		}
		if err := cfg.mqttClientID(); err != nil {
			t.Errorf("%s: %v", path, err)
		}
		if cfg.MQTT.Username != "" && cfg.MQTT.SessionClientID() != cfg.MQTT.Username {
			t.Errorf("%s: client id %q, username %q", path, cfg.MQTT.SessionClientID(), cfg.MQTT.Username)
		}
	}
}

func TestEmbeddedBrokerLimitsValidated(t *testing.T) {
	for _, c := range []struct {
		key string
		set func(*EmbeddedBroker)
	}{
		{"embedded_broker.max_connecting", func(e *EmbeddedBroker) { e.MaxConnecting = 0 }},
		{"embedded_broker.max_connecting_per_address", func(e *EmbeddedBroker) { e.MaxConnectingPerAddress = e.MaxConnecting + 1 }},
		{"embedded_broker.max_connections_per_address", func(e *EmbeddedBroker) { e.MaxConnectionsPerAddress = e.MaxConnectingPerAddress - 1 }},
		{"embedded_broker.connect_timeout", func(e *EmbeddedBroker) { e.ConnectTimeout = 0 }},
		{"embedded_broker.max_waiting", func(e *EmbeddedBroker) { e.MaxWaiting = 0 }},
		{"embedded_broker.max_waiting", func(e *EmbeddedBroker) { e.MaxWaiting = 65_537 }},
	} {
		t.Run(c.key, func(t *testing.T) {
			cfg := Default()
			cfg.fillDerived()
			c.set(&cfg.EmbeddedBroker)
			err := cfg.Validate()
			if err == nil || !strings.HasPrefix(err.Error(), "config: "+c.key+": ") {
				t.Fatalf("Validate() = %v, want an error naming %s", err, c.key)
			}
		})
	}
}

// TestDigestValidated names the digest's key in each error and reads its day and time.
func TestDigestValidated(t *testing.T) {
	for _, c := range []struct {
		key string
		set func(*Digest)
	}{
		{"digest.weekday", func(d *Digest) { d.Weekday = "someday" }},
		{"digest.weekday", func(d *Digest) { d.Weekday = "" }},
		{"digest.at", func(d *Digest) { d.At = "25:00" }},
		{"digest.at", func(d *Digest) { d.At = "7pm" }},
		{"digest.signature", func(d *Digest) { d.Signature = "巴州家庭养老床位" }},
		{"digest.signature", func(d *Digest) { d.Signature = "【】" }},
	} {
		t.Run(c.key, func(t *testing.T) {
			cfg := Default()
			cfg.fillDerived()
			c.set(&cfg.Digest)
			err := cfg.Validate()
			if err == nil || !strings.HasPrefix(err.Error(), "config: "+c.key+": ") {
				t.Fatalf("Validate() = %v, want an error naming %s", err, c.key)
			}
		})
	}
	d := Digest{Weekday: "周三", At: "07:30"}
	if wd, err := d.Day(); err != nil || wd != time.Wednesday {
		t.Errorf("Day() = %v %v", wd, err)
	}
	if at, err := d.Time(); err != nil || at != 7*time.Hour+30*time.Minute {
		t.Errorf("Time() = %v %v", at, err)
	}
}

// TestPairDefaults: a pair's holder is the host name and its lease lasts 10 s unless
// set.
func TestPairDefaults(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pair.yml")
	yml := "database:\n  url: postgres://carebed@127.0.0.1:5432/carebed\npair:\n  enabled: true\n"
	if err := os.WriteFile(path, []byte(yml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	host, _ := os.Hostname()
	if cfg.Pair.Holder != host || cfg.Pair.LeaseTTL != 10*time.Second {
		t.Errorf("pair = %+v, want holder %q and lease_ttl 10s", cfg.Pair, host)
	}
}
