package bench

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"carebed/firmware-sim/population"
	"carebed/firmware-sim/swarm"
	"carebed/gateway/tlsfiles"
	"carebed/internal/devcerts"
	"carebed/internal/devsvc"
)

// A site is a stand for the township-scale benchmarks (BenchmarkStorm,
// BenchmarkConnections): a generated ledger (firmware-sim/population) with every
// device provisioned, the gateway as its own process, real InfluxDB, a fake Twilio
// behind the real twilio-go client, and either a real Mosquitto with the exported
// passwd and acl files or the gateway's embedded broker.
type site struct {
	*stand
	embedded   bool
	brokerAddr string // host:port the devices connect to
	// front is HAProxy ending the devices' TLS in front of Mosquitto (broker
	// "haproxy"), nil otherwise.
	front *devsvc.HAProxy
	// deviceTLS is how the devices speak TLS to the broker (nil: plain TCP);
	// CAREBED_BENCH_TLS=1 sets it.
	deviceTLS *tls.Config
	caFile    string            // the CA deviceTLS trusts
	passwords map[string]string // device id -> provisioned password
	rows      []ledgerRow
	sms       *twilioProcess // the fake Twilio, in a process of its own
	ready     time.Duration  // the gateway's first start: exec to /readyz 200
	// brokerReady is Mosquitto's start with the exported passwd and acl files, to its
	// listening; zero with the embedded broker.
	brokerReady time.Duration
}

// ledgerRow is what the benchmarks need of a ledger row.
type ledgerRow struct{ device, kind, family string }

// gatewayBrokerPassword is the gateway's own password at Mosquitto.
const gatewayBrokerPassword = "bench-gateway-secret"

// The brokers a site can run: the gateway's embedded broker, Mosquitto, or Mosquitto
// behind HAProxy (deploy/haproxy), which ends the devices' TLS.
const (
	brokerEmbedded  = "embedded"
	brokerMosquitto = "mosquitto"
	brokerHAProxy   = "haproxy"
)

// newSite generates a ledger of at least devices devices (three per home), imports
// and provisions it, and starts the services with broker (brokerEmbedded,
// brokerMosquitto or brokerHAProxy); extraYAML is added to the gateway's
// configuration. oneTownship puts every home in the first township of the
// generated ledger (population spreads homes over five).
func newSite(b *testing.B, broker string, devices int, oneTownship bool, extraYAML string) *site {
	b.Helper()
	if broker != brokerEmbedded && broker != brokerMosquitto && broker != brokerHAProxy {
		b.Fatalf("broker %q: want %s, %s or %s", broker, brokerEmbedded, brokerMosquitto, brokerHAProxy)
	}
	embedded := broker == brokerEmbedded
	if broker == brokerHAProxy { // HAProxy inherits the limit, and needs two files a device: its link and Mosquitto's
		raiseFileLimit(b, 2*uint64(devices)+256)
	}
	s := &site{stand: &stand{influx: devsvc.StartInflux(b)}, embedded: embedded}
	dir := b.TempDir()
	s.bin = buildGateway(b, dir)
	ledger := filepath.Join(dir, "ledger.csv")
	s.rows = writePopulation(b, ledger, (devices+2)/3, oneTownship)
	s.sms = startTwilio(b)
	addr := freeAddr(b)
	s.httpURL = "http://" + addr
	s.dir = dir
	s.env = append(os.Environ(), "CAREBED_INFLUX_URL="+s.influx.URL, "CAREBED_INFLUX_BUCKET="+s.influx.Bucket,
		"CAREBED_HTTP_ADDR="+addr, "CAREBED_DATA_DIR="+filepath.Join(dir, "data"),
		"CAREBED_MQTT_USERNAME=gateway", "CAREBED_MQTT_PASSWORD="+gatewayBrokerPassword)
	s.env = append(s.env, strings.Fields(os.Getenv("CAREBED_BENCH_GATEWAY_ENV"))...)
	yaml := "http:\n  pprof: true\n" + fmt.Sprintf("twilio:\n  account_sid: %s\n  auth_token: %s\n  from: \"+15005550006\"\n  base_url: %s\n",
		fakeTwilioSID, fakeTwilioToken, s.sms.url)
	// CAREBED_BENCH_GATEWAY_YAML adds to the gateway's configuration, as on the stand.
	extraYAML += "\n" + os.Getenv("CAREBED_BENCH_GATEWAY_YAML") + "\n"
	var certs devcerts.Files
	if os.Getenv("CAREBED_BENCH_TLS") != "" || broker == brokerHAProxy {
		certs, s.deviceTLS = deviceTLS(b, dir)
		s.caFile = certs.CA
	}
	if embedded {
		s.brokerAddr = freeAddr(b)
		s.env = append(s.env, "CAREBED_EMBEDDED_BROKER_ADDR="+s.brokerAddr)
		if s.deviceTLS != nil {
			extraYAML = withKeys(extraYAML, "embedded_broker",
				fmt.Sprintf("  tls:\n    cert_file: %s\n    key_file: %s\n", certs.Server, certs.ServerKey))
		}
	} else {
		s.env = append(s.env, "CAREBED_EMBEDDED_BROKER_ADDR=")
		yaml += "mqtt:\n  client_id: gateway\n"
		if s.deviceTLS != nil && broker == brokerMosquitto { // behind HAProxy the gateway reads Mosquitto's plain listener
			yaml += fmt.Sprintf("  tls:\n    ca_file: %s\n", certs.CA)
		}
	}
	s.cfgPath = filepath.Join(dir, "gateway.yml")
	if err := os.WriteFile(s.cfgPath, []byte(yaml+extraYAML), 0o600); err != nil {
		b.Fatal(err)
	}
	s.gatewayCmd(b, "registry", "import", ledger)
	creds := filepath.Join(dir, "devices.csv")
	s.gatewayCmd(b, "devices", "provision", "-out", creds)
	s.passwords = readPasswords(b, creds)
	if !embedded {
		s.gatewayCmd(b, "broker", "export", "-dir", dir)
		began := time.Now()
		opts := devsvc.MosquittoOptions{PasswordFile: filepath.Join(dir, "passwd"), ACLFile: filepath.Join(dir, "acl")}
		if broker == brokerMosquitto {
			opts.CertFile, opts.KeyFile = certs.Server, certs.ServerKey
		}
		s.mq = devsvc.StartMosquittoWith(b, opts)
		s.brokerReady = time.Since(began)
		s.brokerAddr = s.mq.Addr
		s.env = append(s.env, "CAREBED_MQTT_URL="+s.mq.URL)
		if broker == brokerHAProxy {
			s.front = devsvc.StartHAProxy(b, s.mq.Addr, certs.Server, certs.ServerKey)
			s.brokerAddr = s.front.Addr
		}
	}
	began := time.Now()
	s.startGateway(b)
	s.ready = time.Since(began)
	b.Cleanup(func() { s.stopGateway() })
	return s
}

// deviceTLS makes the broker's certificate under dir and the devices' TLS.
func deviceTLS(b *testing.B, dir string) (devcerts.Files, *tls.Config) {
	b.Helper()
	certs, err := devcerts.Generate(filepath.Join(dir, "certs"))
	if err != nil {
		b.Fatal(err)
	}
	cfg, err := deviceTLSTrusting(certs.CA)
	if err != nil {
		b.Fatal(err)
	}
	return certs, cfg
}

// deviceTLSTrusting is the devices' TLS: they trust the CA in the file ca and offer
// X25519 alone, as device firmware (mbedTLS) does, not Go's post-quantum key share,
// whose 1.4 KB ClientHello the server's buffers keep.
func deviceTLSTrusting(ca string) (*tls.Config, error) {
	cfg, err := tlsfiles.Client(ca, "", "", "127.0.0.1")
	if err != nil {
		return nil, err
	}
	cfg.CurvePreferences = []tls.CurveID{tls.X25519}
	return cfg, nil
}

// withKeys adds lines (indented YAML) under section of yaml, making the section
// if yaml has none.
func withKeys(yaml, section, lines string) string {
	head := section + ":\n"
	if strings.HasPrefix(yaml, head) || strings.Contains(yaml, "\n"+head) {
		i := strings.Index("\n"+yaml, "\n"+head)
		return yaml[:i+len(head)] + lines + yaml[i+len(head):]
	}
	return yaml + "\n" + head + lines
}

// buildGateway builds the gateway binary into dir.
func buildGateway(b *testing.B, dir string) string {
	b.Helper()
	bin := filepath.Join(dir, "gateway")
	build := exec.Command("go", "build", "-o", bin, "./gateway/cmd/gateway")
	build.Dir = devsvc.RepoRoot()
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// gatewayCmd runs a gateway command with the site's configuration.
func (s *site) gatewayCmd(b *testing.B, args ...string) {
	b.Helper()
	began := time.Now()
	cmd := exec.Command(s.bin, append(args, "-config", s.cfgPath)...)
	if args[0] == "registry" { // import takes the ledger after its flags
		cmd = exec.Command(s.bin, args[0], args[1], "-config", s.cfgPath, args[2])
	}
	cmd.Env = s.env
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("gateway %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	b.Logf("gateway %s %s: %v", args[0], args[1], time.Since(began).Round(time.Millisecond))
}

// writePopulation writes a ledger of homes homes (in one township: the first
// home's) and returns its device rows.
func writePopulation(b *testing.B, path string, homes int, oneTownship bool) []ledgerRow {
	b.Helper()
	var buf strings.Builder
	if err := population.Write(&buf, homes, 1); err != nil {
		b.Fatal(err)
	}
	recs, err := csv.NewReader(strings.NewReader(buf.String())).ReadAll()
	if err != nil {
		b.Fatal(err)
	}
	if oneTownship {
		for _, r := range recs[2:] {
			r[0], r[1], r[15] = recs[1][0], recs[1][1], recs[1][15] // county, township, its clinic's phone
		}
	}
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w := csv.NewWriter(f)
	w.WriteAll(recs) //nolint:errcheck // w.Error says
	if err := errors.Join(w.Error(), f.Close()); err != nil {
		b.Fatal(err)
	}
	rows := make([]ledgerRow, 0, len(recs)-1)
	for _, r := range recs[1:] {
		rows = append(rows, ledgerRow{device: r[8], kind: r[9], family: r[14]})
	}
	return rows
}

// readPasswords reads `gateway devices provision`'s CSV (kind,username,password,phone).
func readPasswords(b *testing.B, path string) map[string]string {
	b.Helper()
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		b.Fatal(err)
	}
	out := make(map[string]string, len(recs))
	for _, r := range recs[1:] {
		out[r[1]] = r[2]
	}
	return out
}

// frontCPU is HAProxy's CPU time so far; zero without it.
func (s *site) frontCPU(b *testing.B) time.Duration {
	if s.front == nil {
		return 0
	}
	return procCPU(b, s.front.Pid())
}

// frontNote says what HAProxy used since cpu0 (its frontCPU then) and its peak RSS,
// for the benchmarks' logs; "" without it.
func (s *site) frontNote(b *testing.B, cpu0 time.Duration) string {
	if s.front == nil {
		return ""
	}
	return fmt.Sprintf("; HAProxy in front: CPU %v, peak RSS %.0f MiB", (s.frontCPU(b) - cpu0).Round(10*time.Millisecond),
		mib(procStatusKB(s.front.Pid(), "VmHWM")))
}

// brokerPid is the process holding the devices' connections (Mosquitto's behind
// HAProxy).
func (s *site) brokerPid() int {
	if s.embedded {
		return s.gw.Process.Pid
	}
	return s.mq.Pid()
}

// procStatusKB reads a "Vm...:  N kB" field of /proc/PID/status, in KiB (0 if absent).
func procStatusKB(pid int, field string) int64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

// reconnector brings back, as firmware does (back-off, then its online status and
// what it kept), a device in byID whose connection the broker closed, once armed;
// it counts those losses. Install it as swarm.Options.OnLost.
type reconnector struct {
	ctx   context.Context
	d     *swarm.Dialer
	byID  map[string]*swarm.Device
	armed atomic.Bool
	lost  atomic.Int64
}

func (r *reconnector) onLost(c *swarm.Conn, _ error) {
	dv := r.byID[c.Device()]
	if !r.armed.Load() || dv == nil || dv.Conn() != c {
		return
	}
	r.lost.Add(1)
	dv.Model.Core().Down()
	for r.ctx.Err() == nil {
		if _, err := dv.Up(r.ctx, r.d, time.Now()); err == nil {
			return
		}
	}
}

// refusals lists the embedded broker's refusals by reason since before, e.g.
// "too_many_from_address 385" ("none" when there were none).
func refusals(before, after map[string]float64) string {
	const prefix = `carebed_broker_refused_total{reason="`
	var out []string
	for k, v := range after {
		if r, ok := strings.CutPrefix(k, prefix); ok && v > before[k] {
			out = append(out, fmt.Sprintf("%s %.0f", strings.TrimSuffix(r, `"}`), v-before[k]))
		}
	}
	if len(out) == 0 {
		return "none"
	}
	slices.Sort(out)
	return strings.Join(out, ", ")
}

// fileLimit is the soft open-file limit of process pid, as /proc/PID/limits says it.
func fileLimit(pid int) string {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/limits", pid))
	if err != nil {
		return "?"
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if f := strings.Fields(strings.TrimPrefix(line, "Max open files")); strings.HasPrefix(line, "Max open files") && len(f) > 0 {
			return f[0]
		}
	}
	return "?"
}

// mib turns KiB into MiB.
func mib(kb int64) float64 { return float64(kb) / 1024 }

// raiseFileLimit raises this process's open-file limit (inherited by the brokers
// and the gateway it starts) to at least want, and fails the benchmark, saying how
// to raise it, when the hard limit is lower.
func raiseFileLimit(b *testing.B, want uint64) {
	b.Helper()
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		b.Fatal(err)
	}
	if lim.Max < want {
		raised := syscall.Rlimit{Cur: want, Max: want}
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &raised); err == nil {
			return
		}
		b.Fatalf("open-file limit: hard %d, this run needs %d (a connection is a descriptor at both ends). "+
			"Raise it (ulimit -Hn %d as root, LimitNOFILE in systemd, docker --ulimit nofile=%d) or run fewer devices",
			lim.Max, want, want, want)
	}
	lim.Cur = lim.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		b.Fatal(err)
	}
}

// sources are the loopback source addresses for n connections, one per 10,000
// unless CAREBED_BENCH_SOURCES says how many: an address has about 28,000 ephemeral
// ports towards one broker port, and a storm's dropped connections keep theirs in
// TIME_WAIT for a minute; the embedded broker admits 20,000 connections per address
// by default, and 64 authenticating at once per address (more sources: fewer
// connections turned away at accept, as devices on many carrier addresses; fewer:
// a township behind one carrier NAT).
func sources(n int) []string {
	k := max(1, (n+9_999)/10_000)
	if v := int(envRates("CAREBED_BENCH_SOURCES", []float64{0})[0]); v > 0 {
		k = min(v, 250)
	}
	out := make([]string, k)
	for i := range out {
		out[i] = fmt.Sprintf("127.0.0.%d", i+2)
	}
	return out
}

// influxCount runs an InfluxQL count and returns the counts by the group's tag
// value ("" without GROUP BY).
func (s *site) influxCount(b *testing.B, q string) map[string]int64 {
	b.Helper()
	resp, err := http.Get(s.influx.URL + "/query?db=" + url.QueryEscape(s.influx.DB) + "&q=" + url.QueryEscape(q))
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Results []struct {
			Series []struct {
				Tags   map[string]string `json:"tags"`
				Values [][]any           `json:"values"`
			} `json:"series"`
			Error string `json:"error"`
		} `json:"results"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		b.Fatal(err)
	}
	counts := map[string]int64{}
	for _, r := range out.Results {
		if r.Error != "" {
			b.Fatalf("influx %q: %s", q, r.Error)
		}
		for _, sr := range r.Series {
			key := ""
			for _, v := range sr.Tags {
				key = v
			}
			for _, v := range sr.Values {
				if n, ok := v[1].(float64); ok {
					counts[key] += int64(n)
				}
			}
		}
	}
	return counts
}
