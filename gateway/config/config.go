// Package config loads the gateway's YAML configuration: strict (unknown keys are
// errors with line numbers), defaults for everything, environment overrides for the
// endpoints, and validation errors that name the key.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// Config is the whole gateway configuration. The YAML keys are the field tags.
type Config struct {
	// DataDir holds the registry, the spool and the dead-letter log.
	DataDir        string         `yaml:"data_dir"`
	MQTT           MQTT           `yaml:"mqtt"`
	EmbeddedBroker EmbeddedBroker `yaml:"embedded_broker"`
	Influx         Influx         `yaml:"influx"`
	HTTP           HTTP           `yaml:"http"`
	Spool          Spool          `yaml:"spool"`
	Ingest         Ingest         `yaml:"ingest"`
	Registry       Registry       `yaml:"registry"`
	Log            Log            `yaml:"log"`
	Twilio         Twilio         `yaml:"twilio"`
	// Webhook posts notifications of ladder steps with channel "webhook" to a clinic
	// system (JSON, X-Carebed-Signature: sha256=HMAC of the body). Empty URL: off.
	Webhook Webhook `yaml:"webhook"`
	// Digest is the weekly family digest SMS (docs/family-digest.md).
	Digest Digest `yaml:"digest"`
	// Alerting is the routing and escalation policy (alerting/policy parses and
	// checks it; see deploy/alerting.example.yml). Absent: the design's defaults.
	Alerting yaml.Node `yaml:"alerting"`
	// TimeZone is where quiet hours, day and night are reckoned (Xinjiang keeps
	// Beijing time officially).
	TimeZone string `yaml:"time_zone"`

	// Database chooses the alert store: SQLite in data_dir (the default) or a
	// PostgreSQL database several gateways can share.
	Database Database `yaml:"database"`

	// Pair runs this gateway as one of an active/standby pair sharing database.url
	// (docs/scaling.md, Active/standby pair).
	Pair Pair `yaml:"pair"`
}

// Pair configures the active/standby pair: two gateways with the same configuration
// and PostgreSQL; the one holding the lease in the database is active (connects to
// the broker, pages), the other waits to take it over.
type Pair struct {
	// Enabled turns the pair mode on; it requires database.url.
	Enabled bool `yaml:"enabled"`
	// Holder names this gateway in the lease; the two of a pair must differ.
	// Default: the host name (CAREBED_PAIR_HOLDER overrides it).
	Holder string `yaml:"holder"`
	// LeaseTTL is how long the lease lasts after each renewal (every LeaseTTL/3):
	// the standby takes over at most about LeaseTTL after the active's death.
	// Default 10 s.
	LeaseTTL time.Duration `yaml:"lease_ttl"`
}

// Twilio configures SMS. Without an account SID and token, SMS go to the outbox file
// in the data folder and to the log, so a site (or the demo) works without Twilio.
type Twilio struct {
	AccountSID string `yaml:"account_sid"`
	AuthToken  string `yaml:"auth_token"`
	From       string `yaml:"from"`
	// BaseURL sends the API calls to a Twilio-compatible endpoint or a test double.
	BaseURL string `yaml:"base_url"`
	// PublicURL is the gateway's address as configured in Twilio for webhooks, e.g.
	// https://carebed.example.cn: inbound SMS go to PublicURL/webhooks/twilio/sms and
	// delivery receipts to PublicURL/webhooks/twilio/status. Signatures are checked
	// against it.
	PublicURL string `yaml:"public_url"`
}

// Database is where the alert store, the registry, users, sessions and visits live
// (docs/scaling.md).
type Database struct {
	// URL of a PostgreSQL database, postgres://user:password@host:port/dbname?sslmode=...
	// (CAREBED_DATABASE_URL overrides it). Empty (the default): SQLite,
	// data_dir/alerts.db, registry.path and data_dir/visits.db.
	URL string `yaml:"url"`
}

// Postgres reports whether the gateway's stores are on PostgreSQL.
func (d Database) Postgres() bool { return d.URL != "" }

// Webhook configures the clinic-system webhook notifier.
type Webhook struct {
	URL    string `yaml:"url"`
	Secret string `yaml:"secret"`
}

// Digest configures the weekly family digest SMS.
type Digest struct {
	// Enabled turns the digest and the answers to 订阅/退订 on. Nothing is sent to a
	// phone that has not subscribed.
	Enabled bool `yaml:"enabled"`
	// Weekday is the day it goes out: sunday … saturday (or 周日 … 周六, 星期日 …).
	Weekday string `yaml:"weekday"`
	// At is the time of day it goes out, HH:MM in time_zone.
	At string `yaml:"at"`
	// Signature starts each digest: 【…】, as carriers require.
	Signature string `yaml:"signature"`
}

// weekdays are the names Digest.Weekday takes.
var weekdays = func() map[string]time.Weekday {
	m := map[string]time.Weekday{}
	for d, names := range [][]string{{"sunday", "周日", "星期日", "星期天", "周天"}, {"monday", "周一", "星期一"},
		{"tuesday", "周二", "星期二"}, {"wednesday", "周三", "星期三"}, {"thursday", "周四", "星期四"},
		{"friday", "周五", "星期五"}, {"saturday", "周六", "星期六"}} {
		for _, n := range names {
			m[n] = time.Weekday(d)
		}
	}
	return m
}()

// Day returns the weekday Weekday names.
func (d Digest) Day() (time.Weekday, error) {
	wd, ok := weekdays[strings.ToLower(strings.TrimSpace(d.Weekday))]
	if !ok {
		return 0, fmt.Errorf("%q is not a day of the week; use sunday … saturday or 周日 … 周六", d.Weekday)
	}
	return wd, nil
}

// Time returns At as the time since midnight.
func (d Digest) Time() (time.Duration, error) {
	t, err := time.Parse("15:04", strings.TrimSpace(d.At))
	if err != nil {
		return 0, fmt.Errorf("%q is not a time of day HH:MM", d.At)
	}
	return time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute, nil
}

// signatureErr checks the signature: 【name】, the name 2 to 16 characters.
func (d Digest) signatureErr() error {
	name, ok := strings.CutPrefix(d.Signature, "【")
	if name, ok2 := strings.CutSuffix(name, "】"); ok && ok2 {
		if n := utf8.RuneCountInString(name); n >= 2 && n <= 16 && !strings.ContainsAny(name, "【】") {
			return nil
		}
	}
	return fmt.Errorf("%q must be 【name】 with a name of 2 to 16 characters", d.Signature)
}

// SMSEnabled reports whether Twilio credentials are configured.
func (t Twilio) SMSEnabled() bool { return t.AccountSID != "" && t.AuthToken != "" }

// MQTT configures the gateway's client of an external broker.
type MQTT struct {
	// URL of the broker, e.g. tcp://127.0.0.1:1883. Ignored when the embedded broker is on.
	URL string `yaml:"url"`
	// ClientID is the gateway's MQTT client id, the key of its persistent session.
	// It must equal Username: Mosquitto runs with use_username_as_clientid, so every
	// user's session is its username and nobody else's credential can take it over.
	// Empty (the default): Username, or DefaultClientID when there is no Username
	// (an anonymous development broker). Use SessionClientID, not this field.
	ClientID string `yaml:"client_id"`
	Username string `yaml:"username"`
	Password string `yaml:"password"`
	// AlarmSession (default true) connects a second session, as user
	// "<username>-alarms" (written by `gateway broker export`), that reads devices'
	// events only, so that an SOS never waits at the broker behind a backlog of
	// readings. Without that user in the broker's files it cannot connect and events
	// still come through the main session, as before; false stops trying.
	AlarmSession bool `yaml:"alarm_session"`
	// Inflight bounds the messages received and not yet acknowledged.
	Inflight int `yaml:"inflight"`
	// Linger paces the session's reads and writes and the ingest's hand-offs: under
	// steady traffic at most one of each per Linger (a message after a quiet spell
	// goes at once). Longer costs less CPU per message at real rates and adds up to
	// Linger to a message's acknowledgement (docs/performance.md).
	Linger         time.Duration `yaml:"linger"`
	KeepAlive      time.Duration `yaml:"keep_alive"`
	ConnectTimeout time.Duration `yaml:"connect_timeout"`
	// TLS is used when the URL's scheme is ssl, tls or mqtts.
	TLS ClientTLS `yaml:"tls"`
}

// DefaultClientID is the gateway's client id on a broker without users.
const DefaultClientID = "carebed-gateway"

// SessionClientID is the client id the gateway connects with: ClientID, else
// Username, else DefaultClientID.
func (m MQTT) SessionClientID() string {
	switch {
	case m.ClientID != "":
		return m.ClientID
	case m.Username != "":
		return m.Username
	}
	return DefaultClientID
}

// ClientTLS is how the gateway verifies a TLS server and proves itself to it.
type ClientTLS struct {
	// CAFile holds the CA certificates the server's certificate must chain to; empty:
	// the system's roots.
	CAFile string `yaml:"ca_file"`
	// CertFile and KeyFile are a client certificate, for brokers that require one.
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// ServerName is the name the server's certificate must carry, when it is not the
	// host of the URL.
	ServerName string `yaml:"server_name"`
}

// ServerTLS is a TLS listener's certificate and, optionally, the CA its clients'
// certificates must chain to.
type ServerTLS struct {
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// ClientCAFile, when set, makes client certificates signed by these CAs required.
	ClientCAFile string `yaml:"client_ca_file"`
}

// Enabled reports whether a certificate is configured.
func (t ServerTLS) Enabled() bool { return t.CertFile != "" }

// EmbeddedBroker configures the MQTT broker built into the gateway (package broker).
type EmbeddedBroker struct {
	// Addr to listen on, e.g. 127.0.0.1:1883; empty turns the embedded broker off.
	Addr string `yaml:"addr"`
	// TLS serves MQTT over TLS on Addr when a certificate is set.
	TLS ServerTLS `yaml:"tls"`
	// AllowNoPassword lets a registered device that has not been provisioned with a
	// password connect by its id alone: for development and the demo only. A device
	// that has a credential must always present it.
	AllowNoPassword bool `yaml:"allow_no_password"`
	// MaxConnecting bounds the connections that have not authenticated yet (TLS
	// handshake, CONNECT, password check); MaxConnectingPerAddress bounds them per
	// remote IP address, so a flood from one address leaves room for the devices.
	MaxConnecting           int `yaml:"max_connecting"`
	MaxConnectingPerAddress int `yaml:"max_connecting_per_address"`
	// MaxConnectionsPerAddress bounds all open connections of one IP address,
	// waiting ones included (devices behind one NAT share one).
	MaxConnectionsPerAddress int `yaml:"max_connections_per_address"`
	// ConnectTimeout is how long a new connection has to send its CONNECT, counted
	// from its accept.
	ConnectTimeout time.Duration `yaml:"connect_timeout"`
	// MaxWaiting bounds the connections that wait, unread, for a connecting slot
	// when max_connecting or max_connecting_per_address binds (half of them from one
	// address); more are closed at accept.
	MaxWaiting int `yaml:"max_waiting"`
}

// Influx configures the InfluxDB writer.
type Influx struct {
	URL   string `yaml:"url"`
	Token string `yaml:"token"`
	Org   string `yaml:"org"`
	// Bucket is "db/rp" on InfluxDB 1.8, a bucket name on 2.x and 3.x.
	Bucket      string `yaml:"bucket"`
	BatchPoints int    `yaml:"batch_points"`
	// FlushInterval is how long records may wait in the spool for a fuller write
	// while fewer than BatchPoints wait and more keep coming (0: write whatever is
	// there at once).
	FlushInterval time.Duration `yaml:"flush_interval"`
	Timeout       time.Duration `yaml:"timeout"`
	RetryMin      time.Duration `yaml:"retry_min"`
	RetryMax      time.Duration `yaml:"retry_max"`
	// PositionsBucket is where device positions (measurement position) go: "db/rp"
	// on InfluxDB 1.8, a bucket name on 2.x and 3.x. Empty: the retention policy
	// "positions" of Bucket's database ("carebed/positions"), or Bucket + "_positions"
	// when Bucket names no retention policy. A person's whereabouts are personal
	// data: they are kept for less time than the readings.
	PositionsBucket string `yaml:"positions_bucket"`
	// PositionsRetention is how long InfluxDB keeps positions (default 30 days); on
	// 1.8 the gateway creates the retention policy with it at start when it may.
	PositionsRetention time.Duration `yaml:"positions_retention"`
}

// Positions returns the bucket ("db/rp" on 1.8) positions are written to.
func (i Influx) Positions() string {
	if i.PositionsBucket != "" {
		return i.PositionsBucket
	}
	if db, _, ok := strings.Cut(i.Bucket, "/"); ok {
		return db + "/positions"
	}
	return i.Bucket + "_positions"
}

func (i Influx) positionsErr() error {
	if i.Positions() == i.Bucket {
		return fmt.Errorf("%q is influx.bucket; positions need a bucket or retention policy of their own", i.Positions())
	}
	return nil
}

// HTTP configures the operations and API listener.
type HTTP struct {
	Addr string `yaml:"addr"`
	// Pprof serves /debug/pprof/ for profiling; keep the listener on loopback then.
	Pprof bool `yaml:"pprof"`
	// SessionTTL is how long a sign-in to the API lasts (a duty shift).
	SessionTTL time.Duration `yaml:"session_ttl"`
	// PublicURL is the gateway's address as people's phones reach it, e.g.
	// https://carebed.example.cn; when set, SMS pages carry a one-tap acknowledgement
	// link PublicURL/a/TOKEN, valid for LinkTTL.
	PublicURL string        `yaml:"public_url"`
	LinkTTL   time.Duration `yaml:"link_ttl"`
	// TLS serves the API, the console and the webhooks over HTTPS when a certificate
	// is set (otherwise keep addr on loopback behind the county's HTTPS proxy).
	TLS ServerTLS `yaml:"tls"`
	// TrustedProxies are the reverse proxies (addresses or CIDRs, e.g. 127.0.0.1/32)
	// whose X-Forwarded-For is believed: a request from one of them counts, for the
	// sign-in limits and the logs, as coming from the right-most address in that
	// header that is not itself a trusted proxy. Empty: the peer's address.
	TrustedProxies []string `yaml:"trusted_proxies"`
}

// Proxies returns http.trusted_proxies as prefixes; an address alone is a /32 (or
// /128). The error names the entry.
func (h HTTP) Proxies() ([]netip.Prefix, error) {
	var out []netip.Prefix
	for i, s := range h.TrustedProxies {
		p, err := netip.ParsePrefix(strings.TrimSpace(s))
		if err != nil {
			a, aerr := netip.ParseAddr(strings.TrimSpace(s))
			if aerr != nil {
				return nil, fmt.Errorf("[%d]: %q is neither an address nor a CIDR", i, s)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// Spool configures the durable telemetry spool.
type Spool struct {
	MaxBytes         int64 `yaml:"max_bytes"`
	SegmentBytes     int64 `yaml:"segment_bytes"`
	KeepShippedBytes int64 `yaml:"keep_shipped_bytes"`
	// SyncInterval is the least time between two group commits (write and fsync) of
	// the spool: under steady traffic the messages of one interval share one fsync,
	// and their PUBACK waits up to this long. A message after a quiet spell is written
	// at once (docs/performance.md).
	SyncInterval time.Duration `yaml:"sync_interval"`
}

// Ingest configures message processing.
type Ingest struct {
	// LateAfter flags a message whose ts is older than this on arrival.
	LateAfter time.Duration `yaml:"late_after"`
	// DedupWindow is how many recent seqs per device are remembered.
	DedupWindow int `yaml:"dedup_window"`
	// DeadLetterMaxBytes rotates the dead-letter log at this size.
	DeadLetterMaxBytes int64 `yaml:"dead_letter_max_bytes"`
	// DeviceLimit bounds what one device may send; alarm events, their cancels and
	// status messages never count.
	DeviceLimit DeviceLimit `yaml:"device_limit"`
}

// DeviceLimit is a token bucket per device for messages and one for telemetry
// readings: a rate per minute and a burst on top. A message over either is rejected
// (reason rate_limited, in the dead-letter log). A rate of 0 turns its limit off.
type DeviceLimit struct {
	MessagesPerMinute int `yaml:"messages_per_minute"`
	MessageBurst      int `yaml:"message_burst"`
	ReadingsPerMinute int `yaml:"readings_per_minute"`
	// ReadingBurst must hold a full batch (4096 readings fit in 64 KiB) and should
	// hold what a device stores during an outage, so its replay passes at once.
	ReadingBurst int `yaml:"reading_burst"`
}

// Registry configures the device registry.
type Registry struct {
	// Path of the SQLite file; default data_dir/registry.db. Unused when database.url
	// is set: the registry, users and sessions are then in PostgreSQL.
	Path string `yaml:"path"`
	// Refresh is how often the registry is checked for changes, and the in-memory
	// device table reloaded when it changed.
	Refresh time.Duration `yaml:"refresh"`
	// MobileOfflineHeartbeats: devices of homes the ledger marks mobile (column 流动
	// or 游牧: herders on the move, with long gaps in coverage) are offline after this
	// many heartbeat intervals of silence instead of the policy's offline_heartbeats
	// (the larger of the two counts; a policy that turns the rule off keeps it off).
	MobileOfflineHeartbeats int `yaml:"mobile_offline_heartbeats"`
}

// Log configures log/slog output.
type Log struct {
	Level  string `yaml:"level"`
	Format string `yaml:"format"`
}

// defaultDeviceLimit lets a device send 100 messages and 200 readings a second
// (above the benchmarks' 50 a second per device), and replay a day of one-a-second
// readings (86 400) at once after an outage.
var defaultDeviceLimit = DeviceLimit{MessagesPerMinute: 6000, MessageBurst: 6000, ReadingsPerMinute: 12_000, ReadingBurst: 100_000}

// Default returns the configuration used for keys the file does not set.
func Default() Config {
	return Config{
		DataDir: "data",
		MQTT: MQTT{URL: "tcp://127.0.0.1:1883", AlarmSession: true, Inflight: 10000, Linger: 10 * time.Millisecond,
			KeepAlive: 30 * time.Second, ConnectTimeout: 10 * time.Second},
		EmbeddedBroker: EmbeddedBroker{MaxConnecting: 256, MaxConnectingPerAddress: 64, MaxConnectionsPerAddress: 20_000,
			ConnectTimeout: 10 * time.Second, MaxWaiting: 4096},
		Influx: Influx{URL: "http://127.0.0.1:8086", Bucket: "carebed/autogen", BatchPoints: 5000, FlushInterval: time.Second,
			Timeout: 10 * time.Second, RetryMin: 200 * time.Millisecond, RetryMax: 10 * time.Second,
			PositionsRetention: 30 * 24 * time.Hour,
		},
		HTTP:     HTTP{Addr: "127.0.0.1:8080", SessionTTL: 12 * time.Hour, LinkTTL: 12 * time.Hour},
		Spool:    Spool{MaxBytes: 1 << 30, SegmentBytes: 16 << 20, KeepShippedBytes: 64 << 20, SyncInterval: 50 * time.Millisecond},
		Ingest:   Ingest{LateAfter: 60 * time.Second, DedupWindow: 1024, DeadLetterMaxBytes: 64 << 20, DeviceLimit: defaultDeviceLimit},
		Registry: Registry{Refresh: 30 * time.Second, MobileOfflineHeartbeats: 48},
		Pair:     Pair{LeaseTTL: 10 * time.Second},
		Log:      Log{Level: "info", Format: "text"},
		Twilio:   Twilio{BaseURL: "https://api.twilio.com"},
		Digest:   Digest{Enabled: true, Weekday: "sunday", At: "19:00", Signature: "【巴州家庭养老床位】"},
		TimeZone: "Asia/Shanghai",
	}
}

// Load reads the file at path (empty path: defaults only), applies the environment
// overrides found by lookupEnv (os.LookupEnv, or a map in tests; nil for none) and
// validates the result.
func Load(path string, lookupEnv func(string) (string, bool)) (Config, error) {
	cfg := Default()
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return Config{}, fmt.Errorf("config: %w", err)
		}
		if err := decode(b, &cfg); err != nil {
			return Config{}, fmt.Errorf("config %s: %w", path, err)
		}
	}
	applyEnv(&cfg, lookupEnv)
	cfg.fillDerived()
	if err := cfg.Validate(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// Decode reads a configuration strictly over the defaults, without environment
// overrides or validation: for checking a file written for another machine (e.g. a
// container, where the files it names exist only inside).
func Decode(b []byte) (Config, error) {
	cfg := Default()
	if err := decode(b, &cfg); err != nil {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	cfg.fillDerived()
	return cfg, nil
}

// decode parses YAML strictly into cfg, keeping the defaults for absent keys.
func decode(b []byte, cfg *Config) error {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(cfg); err != nil && !errors.Is(err, io.EOF) { // empty file: no keys set
		return err
	}
	return nil
}

// Env names the environment overrides.
var Env = []string{"CAREBED_MQTT_URL", "CAREBED_MQTT_USERNAME", "CAREBED_MQTT_PASSWORD", "CAREBED_EMBEDDED_BROKER_ADDR", "CAREBED_INFLUX_URL",
	"CAREBED_INFLUX_TOKEN", "CAREBED_INFLUX_BUCKET", "CAREBED_HTTP_ADDR", "CAREBED_DATA_DIR",
	"CAREBED_TWILIO_ACCOUNT_SID", "CAREBED_TWILIO_AUTH_TOKEN", "CAREBED_TWILIO_FROM", "CAREBED_TWILIO_BASE_URL",
	"CAREBED_HTTP_PUBLIC_URL", "CAREBED_DATABASE_URL", "CAREBED_PAIR_HOLDER"}

// applyEnv overrides endpoint keys from the environment. A variable that is set, even
// to an empty string, overrides: CAREBED_EMBEDDED_BROKER_ADDR= turns the broker off.
func applyEnv(cfg *Config, lookupEnv func(string) (string, bool)) {
	if lookupEnv == nil {
		return
	}
	targets := map[string]*string{
		"CAREBED_MQTT_URL": &cfg.MQTT.URL, "CAREBED_MQTT_USERNAME": &cfg.MQTT.Username,
		"CAREBED_MQTT_PASSWORD": &cfg.MQTT.Password, "CAREBED_EMBEDDED_BROKER_ADDR": &cfg.EmbeddedBroker.Addr,
		"CAREBED_INFLUX_URL": &cfg.Influx.URL, "CAREBED_INFLUX_TOKEN": &cfg.Influx.Token,
		"CAREBED_INFLUX_BUCKET": &cfg.Influx.Bucket, "CAREBED_HTTP_ADDR": &cfg.HTTP.Addr,
		"CAREBED_DATA_DIR": &cfg.DataDir, "CAREBED_TWILIO_ACCOUNT_SID": &cfg.Twilio.AccountSID,
		"CAREBED_TWILIO_AUTH_TOKEN": &cfg.Twilio.AuthToken, "CAREBED_TWILIO_FROM": &cfg.Twilio.From,
		"CAREBED_TWILIO_BASE_URL": &cfg.Twilio.BaseURL, "CAREBED_HTTP_PUBLIC_URL": &cfg.HTTP.PublicURL,
		"CAREBED_DATABASE_URL": &cfg.Database.URL, "CAREBED_PAIR_HOLDER": &cfg.Pair.Holder,
	}
	for _, name := range Env {
		if v, ok := lookupEnv(name); ok {
			*targets[name] = strings.TrimSpace(v)
		}
	}
}

// fillDerived sets keys whose default depends on others.
func (c *Config) fillDerived() {
	if c.Pair.Enabled && c.Pair.Holder == "" {
		c.Pair.Holder, _ = os.Hostname()
	}
	if c.Registry.Path == "" && c.DataDir != "" {
		c.Registry.Path = filepath.Join(c.DataDir, "registry.db")
	}
}

// AlertsPath is the alert store.
func (c Config) AlertsPath() string { return filepath.Join(c.DataDir, "alerts.db") }

// OutboxPath is where SMS go when Twilio is not configured.
func (c Config) OutboxPath() string { return filepath.Join(c.DataDir, "sms-outbox.jsonl") }

// SpoolDir is where the telemetry spool lives.
func (c Config) SpoolDir() string { return filepath.Join(c.DataDir, "spool") }

// DeadLetterPath is the dead-letter log file.
func (c Config) DeadLetterPath() string { return filepath.Join(c.DataDir, "deadletter.jsonl") }

// Validate checks every key and returns the first problem, naming the key.
func (c Config) Validate() error {
	checks := []struct {
		key string
		err error
	}{
		{"data_dir", nonEmpty(c.DataDir)},
		{"mqtt.url", c.mqttURL()},
		{"mqtt.client_id", c.mqttClientID()},
		{"mqtt.inflight", between(c.MQTT.Inflight, 1, 1_000_000)},
		{"mqtt.linger", within(c.MQTT.Linger, 0, 100*time.Millisecond)},
		{"mqtt.keep_alive", atLeast(c.MQTT.KeepAlive, time.Second)},
		{"mqtt.connect_timeout", atLeast(c.MQTT.ConnectTimeout, time.Second)},
		{"mqtt.tls", c.MQTT.TLS.check()},
		{"embedded_broker.addr", optionalAddr(c.EmbeddedBroker.Addr)},
		{"embedded_broker.tls", c.EmbeddedBroker.TLS.check()},
		{"embedded_broker.max_connecting", between(c.EmbeddedBroker.MaxConnecting, 1, 100_000)},
		{"embedded_broker.max_connecting_per_address", between(c.EmbeddedBroker.MaxConnectingPerAddress, 1, c.EmbeddedBroker.MaxConnecting)},
		{"embedded_broker.max_connections_per_address", between(c.EmbeddedBroker.MaxConnectionsPerAddress,
			c.EmbeddedBroker.MaxConnectingPerAddress, 1_000_000)},
		{"embedded_broker.connect_timeout", within(c.EmbeddedBroker.ConnectTimeout, 100*time.Millisecond, 5*time.Minute)},
		{"embedded_broker.max_waiting", between(c.EmbeddedBroker.MaxWaiting, 1, 65_536)},
		{"influx.url", httpURL(c.Influx.URL)},
		{"influx.bucket", nonEmpty(c.Influx.Bucket)},
		{"influx.batch_points", between(c.Influx.BatchPoints, 1, 100_000)},
		{"influx.timeout", atLeast(c.Influx.Timeout, 100*time.Millisecond)},
		{"influx.flush_interval", within(c.Influx.FlushInterval, 0, time.Minute)},
		{"influx.retry_min", atLeast(c.Influx.RetryMin, time.Millisecond)},
		{"influx.retry_max", atLeast(c.Influx.RetryMax, c.Influx.RetryMin)},
		{"influx.positions_bucket", c.Influx.positionsErr()},
		{"influx.positions_retention", within(c.Influx.PositionsRetention, time.Hour, 10*366*24*time.Hour)},
		{"http.addr", optionalAddr(c.HTTP.Addr)},
		{"http.session_ttl", atLeast(c.HTTP.SessionTTL, time.Minute)},
		{"http.public_url", optionalHTTPURL(c.HTTP.PublicURL)},
		{"http.link_ttl", atLeast(c.HTTP.LinkTTL, time.Minute)},
		{"http.tls", c.HTTP.TLS.check()},
		{"http.trusted_proxies", c.HTTP.proxiesErr()},
		{"spool.max_bytes", atLeast64(c.Spool.MaxBytes, 1<<20)},
		{"spool.segment_bytes", atLeast64(c.Spool.SegmentBytes, 64<<10)},
		{"spool.keep_shipped_bytes", atLeast64(c.Spool.KeepShippedBytes, 0)},
		{"spool.sync_interval", within(c.Spool.SyncInterval, 0, 200*time.Millisecond)},
		{"ingest.late_after", atLeast(c.Ingest.LateAfter, time.Second)},
		{"ingest.dedup_window", between(c.Ingest.DedupWindow, 64, 1<<16)},
		{"ingest.dead_letter_max_bytes", atLeast64(c.Ingest.DeadLetterMaxBytes, 1<<20)},
		{"ingest.device_limit.messages_per_minute", between(c.Ingest.DeviceLimit.MessagesPerMinute, 0, 1_000_000)},
		{"ingest.device_limit.message_burst", between(c.Ingest.DeviceLimit.MessageBurst, 1, 1_000_000)},
		{"ingest.device_limit.readings_per_minute", between(c.Ingest.DeviceLimit.ReadingsPerMinute, 0, 100_000_000)},
		{"ingest.device_limit.reading_burst", between(c.Ingest.DeviceLimit.ReadingBurst, 4096, 100_000_000)},
		{"registry.path", nonEmpty(c.Registry.Path)},
		{"registry.refresh", atLeast(c.Registry.Refresh, time.Second)},
		{"database.url", postgresURL(c.Database.URL)},
		{"pair.enabled", c.pairNeedsPostgres()},
		{"pair.holder", c.pairHolder()},
		{"pair.lease_ttl", within(c.Pair.LeaseTTL, time.Second, 10*time.Minute)},
		{"registry.mobile_offline_heartbeats", between(c.Registry.MobileOfflineHeartbeats, 1, 10_000)},
		{"log.level", oneOf(c.Log.Level, "debug", "info", "warn", "error")},
		{"log.format", oneOf(c.Log.Format, "text", "json")},
		{"twilio.base_url", httpURL(c.Twilio.BaseURL)},
		{"twilio.from", c.twilioFrom()},
		{"twilio.public_url", optionalHTTPURL(c.Twilio.PublicURL)},
		{"webhook.url", optionalHTTPURL(c.Webhook.URL)},
		{"webhook.secret", c.webhookSecret()},
		{"time_zone", zone(c.TimeZone)},
		{"digest.weekday", errOf(c.Digest.Day())},
		{"digest.at", errOf(c.Digest.Time())},
		{"digest.signature", c.Digest.signatureErr()},
	}
	for _, ch := range checks {
		if ch.err != nil {
			return fmt.Errorf("config: %s: %w", ch.key, ch.err)
		}
	}
	return nil
}

func (c Config) mqttURL() error {
	if c.EmbeddedBroker.Addr != "" && c.MQTT.URL == "" {
		return nil
	}
	u, err := url.Parse(c.MQTT.URL)
	if err != nil {
		return err
	}
	switch u.Scheme {
	case "tcp", "mqtt", "ssl", "tls", "mqtts", "ws", "wss":
	default:
		return fmt.Errorf("scheme %q is not tcp, mqtt, ssl, tls, mqtts, ws or wss", u.Scheme)
	}
	if u.Host == "" {
		return fmt.Errorf("%q has no host:port", c.MQTT.URL)
	}
	return nil
}

// mqttClientID: a client id set beside a username must be the username, or Mosquitto
// (use_username_as_clientid) would file the gateway's session under another name
// than the one the gateway thinks it resumes. The embedded broker ignores mqtt.
func (c Config) mqttClientID() error {
	m := c.MQTT
	if c.EmbeddedBroker.Addr != "" {
		return nil
	}
	if m.ClientID != "" && strings.TrimSpace(m.ClientID) != m.ClientID {
		return fmt.Errorf("%q has leading or trailing white space", m.ClientID)
	}
	if m.ClientID != "" && m.Username != "" && m.ClientID != m.Username {
		return fmt.Errorf("%q must equal mqtt.username %q (the broker ties each session to its username; "+
			"leave client_id out to use the username, see docs/operations.md, Upgrading: the gateway's client id)",
			m.ClientID, m.Username)
	}
	return nil
}

func (t ClientTLS) check() error {
	if (t.CertFile == "") != (t.KeyFile == "") {
		return errors.New("cert_file and key_file go together")
	}
	return files(map[string]string{"ca_file": t.CAFile, "cert_file": t.CertFile, "key_file": t.KeyFile})
}

func (t ServerTLS) check() error {
	if (t.CertFile == "") != (t.KeyFile == "") {
		return errors.New("cert_file and key_file go together")
	}
	if t.ClientCAFile != "" && t.CertFile == "" {
		return errors.New("client_ca_file needs cert_file and key_file")
	}
	return files(map[string]string{"cert_file": t.CertFile, "key_file": t.KeyFile, "client_ca_file": t.ClientCAFile})
}

// files checks that the named files, where given, can be read.
func files(named map[string]string) error {
	for _, key := range []string{"ca_file", "cert_file", "key_file", "client_ca_file"} {
		if p := named[key]; p != "" {
			f, err := os.Open(p)
			if err != nil {
				return fmt.Errorf("%s: %w", key, err)
			}
			f.Close()
		}
	}
	return nil
}

func (h HTTP) proxiesErr() error {
	_, err := h.Proxies()
	return err
}

func nonEmpty(s string) error {
	if strings.TrimSpace(s) == "" {
		return errors.New("must not be empty")
	}
	return nil
}

func between(v, lo, hi int) error {
	if v < lo || v > hi {
		return fmt.Errorf("%d is outside %d..%d", v, lo, hi)
	}
	return nil
}

func atLeast(d, lo time.Duration) error {
	if d < lo {
		return fmt.Errorf("%s is less than %s", d, lo)
	}
	return nil
}

func within(d, lo, hi time.Duration) error {
	if d < lo || d > hi {
		return fmt.Errorf("%s is outside %s..%s", d, lo, hi)
	}
	return nil
}

func atLeast64(v, lo int64) error {
	if v < lo {
		return fmt.Errorf("%d is less than %d", v, lo)
	}
	return nil
}

func oneOf(v string, allowed ...string) error {
	for _, a := range allowed {
		if v == a {
			return nil
		}
	}
	return fmt.Errorf("%q is not one of %s", v, strings.Join(allowed, ", "))
}

func httpURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return err
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return fmt.Errorf("%q is not an http(s)://host:port URL", s)
	}
	return nil
}

func optionalAddr(s string) error {
	if s == "" {
		return nil
	}
	_, port, err := net.SplitHostPort(s)
	if err != nil {
		return err
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("%q has no valid port", s)
	}
	return nil
}

func (c Config) twilioFrom() error {
	if c.Twilio.SMSEnabled() && c.Twilio.From == "" {
		return errors.New("must be set when twilio.account_sid and auth_token are")
	}
	return nil
}

func (c Config) webhookSecret() error {
	if c.Webhook.URL != "" && len(c.Webhook.Secret) < 16 {
		return errors.New("must be at least 16 bytes when webhook.url is set")
	}
	return nil
}

// postgresURL checks an optional PostgreSQL URL: scheme postgres or postgresql, a
// host and a database name. Its text is never quoted back: it may hold a password.
// pairNeedsPostgres: the pair shares its alerts and its lease in PostgreSQL.
func (c Config) pairNeedsPostgres() error {
	switch {
	case !c.Pair.Enabled:
		return nil
	case c.Database.URL == "":
		return errors.New("needs database.url (the pair shares its alerts and its lease in PostgreSQL)")
	case c.EmbeddedBroker.Addr != "":
		return errors.New("needs an external broker (mqtt.url), not the embedded one: devices must reach whichever gateway is active")
	case strings.HasPrefix(c.MQTT.URL, "ws://") || strings.HasPrefix(c.MQTT.URL, "wss://"):
		// The session's guard against reconnecting without the lease sits in the
		// tcp and tls dialer.
		return errors.New("needs a tcp, mqtt, ssl, tls or mqtts mqtt.url, not a websocket one")
	}
	return nil
}

// pairHolder: the lease needs a name for this gateway.
func (c Config) pairHolder() error {
	if c.Pair.Enabled && strings.TrimSpace(c.Pair.Holder) == "" {
		return errors.New("is empty and the host name is unknown; name this gateway (each of the pair differently)")
	}
	return nil
}

func postgresURL(s string) error {
	if s == "" {
		return nil
	}
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return errors.New("is not a URL (postgres://user:password@host:5432/dbname)")
	case u.Scheme != "postgres" && u.Scheme != "postgresql":
		return fmt.Errorf("scheme %q is not postgres or postgresql", u.Scheme)
	case u.Host == "":
		return errors.New("names no host (postgres://user:password@host:5432/dbname)")
	case strings.Trim(u.Path, "/") == "":
		return errors.New("names no database (postgres://user:password@host:5432/dbname)")
	}
	return nil
}

func optionalHTTPURL(s string) error {
	if s == "" {
		return nil
	}
	return httpURL(s)
}

// errOf is the error of a two-valued call.
func errOf[T any](_ T, err error) error { return err }

func zone(name string) error {
	_, err := Location(name)
	return err
}

// Location loads the named time zone, falling back to a fixed UTC+8 for
// Asia/Shanghai when the system has no zone database.
func Location(name string) (*time.Location, error) {
	loc, err := time.LoadLocation(name)
	if err != nil && name == "Asia/Shanghai" {
		return time.FixedZone("CST", 8*3600), nil
	}
	return loc, err
}
