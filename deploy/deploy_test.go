// Package deploy holds what a county IT office installs; its tests check, without
// Docker (not available where CI runs), that the compose file and the Dockerfile
// parse as Docker would parse them and refer only to files that exist, and that the
// configuration files are valid for the programs that read them.
package deploy

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"go.yaml.in/yaml/v3"

	"carebed/gateway/config"
)

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// loadCompose parses compose.yml as docker compose does, with .env.example as .env.
func loadCompose(t *testing.T) *types.Project {
	t.Helper()
	opts, err := cli.NewProjectOptions([]string{"compose/compose.yml"},
		cli.WithWorkingDirectory("compose"), cli.WithEnvFiles("compose/.env.example"), cli.WithDotEnv)
	if err != nil {
		t.Fatal(err)
	}
	p, err := opts.LoadProject(context.Background())
	if err != nil {
		t.Fatalf("compose.yml does not load: %v", err)
	}
	return p
}

func TestComposeFileParsesAndRefersToExistingFiles(t *testing.T) {
	p := loadCompose(t)
	want := []string{"gateway", "grafana", "influxdb", "mosquitto", "prometheus"}
	if got := p.ServiceNames(); !slices.Equal(sortedCopy(got), want) {
		t.Errorf("services %v, want %v", got, want)
	}
	for name, s := range p.Services {
		for _, v := range s.Volumes {
			if v.Type != types.VolumeTypeBind {
				if _, ok := p.Volumes[v.Source]; !ok {
					t.Errorf("%s: named volume %q is not declared", name, v.Source)
				}
				continue
			}
			if _, err := os.Stat(v.Source); err != nil {
				t.Errorf("%s: mounts %s, which does not exist", name, v.Source)
			}
		}
		if s.Build != nil {
			df := filepath.Join(s.Build.Context, s.Build.Dockerfile)
			if _, err := os.Stat(df); err != nil {
				t.Errorf("%s: builds with %s, which does not exist", name, df)
			}
		} else if s.Image == "" {
			t.Errorf("%s: neither image nor build", name)
		}
		if host, _, ok := strings.Cut(s.Image, "/"); ok && strings.ContainsAny(host, ".:") {
			t.Errorf("%s: image %q names a registry host; use the default registry's name", name, s.Image)
		}
	}
	env := p.Services["influxdb"].Environment
	for _, k := range []string{"DOCKER_INFLUXDB_INIT_MODE", "DOCKER_INFLUXDB_INIT_ORG", "DOCKER_INFLUXDB_INIT_BUCKET",
		"DOCKER_INFLUXDB_INIT_ADMIN_TOKEN"} {
		if v := env[k]; v == nil || *v == "" {
			t.Errorf("influxdb: %s is not set", k)
		}
	}
}

func TestComposeGatewayConfigMatchesCompose(t *testing.T) {
	b, err := os.ReadFile("compose/gateway.yml")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Decode(b)
	if err != nil {
		t.Fatalf("compose/gateway.yml: %v", err)
	}
	org, bucket := loadCompose(t).Services["influxdb"].Environment["DOCKER_INFLUXDB_INIT_ORG"],
		loadCompose(t).Services["influxdb"].Environment["DOCKER_INFLUXDB_INIT_BUCKET"]
	if cfg.Influx.Org != *org || cfg.Influx.Bucket != *bucket {
		t.Errorf("gateway writes to org %q bucket %q; InfluxDB is set up with %q / %q", cfg.Influx.Org, cfg.Influx.Bucket, *org, *bucket)
	}
	if !strings.HasPrefix(cfg.MQTT.URL, "mqtts://mosquitto:") || cfg.MQTT.TLS.CAFile == "" {
		t.Errorf("the gateway must reach Mosquitto over TLS: %q, ca %q", cfg.MQTT.URL, cfg.MQTT.TLS.CAFile)
	}
}

func TestServerGatewayConfigIsValid(t *testing.T) {
	if _, err := config.Load("gateway.server.yml", nil); err != nil {
		t.Fatal(err)
	}
}

func TestDockerfileParsesAndCopiesExistingFiles(t *testing.T) {
	root := repoRoot(t)
	f, err := os.Open("docker/Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	res, err := parser.Parse(f)
	if err != nil {
		t.Fatalf("Dockerfile: %v", err)
	}
	stages, _, err := instructions.Parse(res.AST, nil)
	if err != nil {
		t.Fatalf("Dockerfile: %v", err)
	}
	if len(stages) < 2 {
		t.Fatalf("%d stages: want a multi-stage build", len(stages))
	}
	seen := map[string]bool{}
	for _, st := range stages {
		if host, _, ok := strings.Cut(st.BaseName, "/"); ok && strings.ContainsAny(host, ".:") {
			t.Errorf("stage %s: base image %q names a registry host", st.Name, st.BaseName)
		}
		for _, cmd := range st.Commands {
			checkCommand(t, root, cmd, seen)
		}
		seen[st.Name] = true
	}
	final := stages[len(stages)-1]
	user := ""
	for _, cmd := range final.Commands {
		if u, ok := cmd.(*instructions.UserCommand); ok {
			user = u.User
		}
	}
	if user == "" || strings.HasPrefix(user, "0") || strings.HasPrefix(user, "root") {
		t.Errorf("the final image runs as %q; want a non-root user", user)
	}
	ignore, err := os.ReadFile(filepath.Join(root, ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	for _, keep := range []string{"go.mod", "go.sum", "gateway", "firmware-sim"} {
		if slices.Contains(strings.Fields(string(ignore)), keep) {
			t.Errorf(".dockerignore drops %s, which the build needs", keep)
		}
	}
}

// goPackage finds the ./... package paths a RUN line builds.
var goPackage = regexp.MustCompile(`\./[A-Za-z0-9_/-]+/cmd/[A-Za-z0-9_-]+`)

func checkCommand(t *testing.T, root string, cmd instructions.Command, stages map[string]bool) {
	t.Helper()
	switch c := cmd.(type) {
	case *instructions.CopyCommand:
		if c.From != "" {
			if !stages[c.From] {
				t.Errorf("COPY --from=%s: no such earlier stage", c.From)
			}
			return
		}
		for _, src := range c.SourcePaths {
			if _, err := os.Stat(filepath.Join(root, src)); err != nil {
				t.Errorf("COPY %s: not in the build context (the repository root)", src)
			}
		}
	case *instructions.RunCommand:
		for _, pkg := range goPackage.FindAllString(strings.Join(c.CmdLine, " "), -1) {
			if _, err := os.Stat(filepath.Join(root, pkg)); err != nil {
				t.Errorf("RUN builds %s, which does not exist", pkg)
			}
		}
	}
}

func TestGrafanaDatasourcesOfComposeMatchTheBoards(t *testing.T) {
	uids := func(path string) []string {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var f struct {
			Datasources []struct{ UID string } `yaml:"datasources"`
		}
		if err := yaml.Unmarshal(b, &f); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		var out []string
		for _, d := range f.Datasources {
			out = append(out, d.UID)
		}
		return sortedCopy(out)
	}
	dev, _ := filepath.Glob(filepath.Join(repoRoot(t), "dashboards/provisioning/datasources/*.yml"))
	if len(dev) != 1 {
		t.Fatalf("want one datasource file under dashboards/provisioning/datasources, found %v", dev)
	}
	if got, want := uids("compose/grafana-datasources.yml"), uids(dev[0]); !slices.Equal(got, want) {
		t.Errorf("compose datasources %v, the boards' %v", got, want)
	}
}

func TestPrometheusConfig(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("promtool (Debian package prometheus) is missing; deploy/dev/install installs it")
		}
		t.Skip("promtool not installed: run deploy/dev/install")
	}
	if out, err := exec.Command(promtool, "check", "config", "prometheus/prometheus.yml").CombinedOutput(); err != nil {
		t.Fatalf("promtool: %v\n%s", err, out)
	}
	// The alert rules fire on the series that should raise them, and not before.
	test := exec.Command(promtool, "test", "rules", "carebed-rules.test.yml")
	test.Dir = "prometheus"
	if out, err := test.CombinedOutput(); err != nil {
		t.Fatalf("promtool test rules: %v\n%s", err, out)
	}
}

func TestSystemdUnits(t *testing.T) {
	units, _ := filepath.Glob("systemd/*")
	if len(units) < 4 {
		t.Fatalf("units: %v", units)
	}
	for _, path := range units {
		sections := parseUnit(t, path)
		if strings.HasSuffix(path, ".timer") {
			svc := strings.TrimSuffix(path, ".timer") + ".service"
			if _, err := os.Stat(svc); err != nil || sections["Timer"]["OnCalendar"] == "" {
				t.Errorf("%s: no OnCalendar, or no %s", path, svc)
			}
			continue
		}
		s := sections["Service"]
		if exec := strings.Fields(s["ExecStart"]); len(exec) == 0 || !filepath.IsAbs(exec[0]) {
			t.Errorf("%s: ExecStart %q must start with an absolute path", path, s["ExecStart"])
		}
		if s["User"] == "" || s["User"] == "root" {
			t.Errorf("%s: runs as %q; want a service user", path, s["User"])
		}
		if s["NoNewPrivileges"] != "true" {
			t.Errorf("%s: NoNewPrivileges is not set", path)
		}
	}
}

// parseUnit reads a systemd unit file into sections of key=value, failing on any
// line that is neither.
func parseUnit(t *testing.T, path string) map[string]map[string]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]string{}
	section := ""
	for i, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";"):
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			section = strings.Trim(line, "[]")
			out[section] = map[string]string{}
		case section != "" && strings.Contains(line, "="):
			k, v, _ := strings.Cut(line, "=")
			out[section][strings.TrimSpace(k)] = strings.TrimSpace(v)
		default:
			t.Errorf("%s:%d: not a unit file line: %q", path, i+1, line)
		}
	}
	return out
}

func sortedCopy(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return out
}

// minOpenFiles is the least open-file limit for the processes that hold device
// connections: one descriptor each, for 100,000 devices (issue 20) twice over.
const minOpenFiles = 200_000

// TestOpenFileLimits: every device connection is an open file in the broker.
// Debian's mosquitto.service sets no limit, so Mosquitto ran with systemd's default
// soft limit of 1,024 and refused every connection past about 1,014; the gateway's
// unit allowed 65,536, too few for its embedded broker at 100,000 devices.
func TestOpenFileLimits(t *testing.T) {
	p := loadCompose(t)
	for _, tc := range []struct {
		where   string
		n       int
		perConn int // open files a device takes
	}{
		{"mosquitto/limits.conf (drop-in for Debian's mosquitto.service)", unitFileLimit(t, "mosquitto/limits.conf"), 1},
		// HAProxy in front of Mosquitto: the device's link and Mosquitto's.
		{"haproxy/limits.conf (drop-in for Debian's haproxy.service)", unitFileLimit(t, "haproxy/limits.conf"), 2},
		{"systemd/carebed-gateway.service", unitFileLimit(t, "systemd/carebed-gateway.service"), 1},
		{"compose: mosquitto", composeNofile(p.Services["mosquitto"]), 1},
		{"compose: gateway", composeNofile(p.Services["gateway"]), 1},
	} {
		if want := tc.perConn * minOpenFiles; tc.n < want {
			t.Errorf("%s: open-file limit %d, want at least %d", tc.where, tc.n, want)
		}
	}
}

// unitFileLimit is the soft LimitNOFILE of a systemd unit or drop-in (0 when unset).
func unitFileLimit(t *testing.T, path string) int {
	n, err := strconv.Atoi(strings.Split(parseUnit(t, path)["Service"]["LimitNOFILE"], ":")[0])
	if err != nil {
		return 0
	}
	return n
}

// TestHAProxyHasLocalPortsForItsDevices: each device's link from HAProxy to Mosquitto
// takes a local port, and one source address has only the kernel's ephemeral range
// (32768-60999 by default) towards Mosquitto's one address and port. With one
// source, devices past about 28,000 finished their handshake and were then closed,
// and retried. The shipped backend needs source addresses for every device its
// open-file limit admits (two files a device).
func TestHAProxyHasLocalPortsForItsDevices(t *testing.T) {
	cfg, err := os.ReadFile(filepath.Join("haproxy", "carebed-mqtt-tls.cfg"))
	if err != nil {
		t.Fatal(err)
	}
	sources := map[string]bool{}
	for _, line := range strings.Split(string(cfg), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || f[0] != "server" {
			continue
		}
		if len(f) != 5 || f[2] != "127.0.0.1:1883" || f[3] != "source" || !strings.HasPrefix(f[4], "127.") || sources[f[4]] {
			t.Errorf("%q: want server NAME 127.0.0.1:1883 source 127.x.y.z, each source once", strings.TrimSpace(line))
			continue
		}
		sources[f[4]] = true
	}
	const ephemeralPorts = 60999 - 32768 + 1
	if devices := unitFileLimit(t, "haproxy/limits.conf") / 2; len(sources)*ephemeralPorts < devices {
		t.Errorf("%d source addresses have ports for %d devices; the open-file limit admits %d",
			len(sources), len(sources)*ephemeralPorts, devices)
	}
}

// composeNofile is a compose service's soft nofile ulimit (0 when unset).
func composeNofile(s types.ServiceConfig) int {
	u := s.Ulimits["nofile"]
	switch {
	case u == nil:
		return 0
	case u.Single > 0:
		return u.Single
	}
	return u.Soft
}

// loadComposePair parses compose.yml with the pair's override, as docker compose -f
// compose.yml -f compose.pair.yml does.
func loadComposePair(t *testing.T) *types.Project {
	t.Helper()
	opts, err := cli.NewProjectOptions([]string{"compose/compose.yml", "compose/compose.pair.yml"},
		cli.WithWorkingDirectory("compose"), cli.WithEnvFiles("compose/.env.example"), cli.WithDotEnv)
	if err != nil {
		t.Fatal(err)
	}
	p, err := opts.LoadProject(context.Background())
	if err != nil {
		t.Fatalf("compose.yml with compose.pair.yml does not load: %v", err)
	}
	return p
}

// TestComposePair: the pair's two gateways run the pair configuration against the
// same PostgreSQL under different holder names, each with its own data volume.
func TestComposePair(t *testing.T) {
	p := loadComposePair(t)
	holders, data := map[string]bool{}, map[string]bool{}
	for _, name := range []string{"gateway", "gateway-b"} {
		s, ok := p.Services[name]
		if !ok {
			t.Fatalf("no service %s", name)
		}
		env := s.Environment
		if v := env["CAREBED_DATABASE_URL"]; v == nil || !strings.Contains(*v, "@postgres:5432/") {
			t.Errorf("%s: CAREBED_DATABASE_URL %v does not name the postgres service", name, v)
		}
		if v := env["CAREBED_PAIR_HOLDER"]; v != nil {
			holders[*v] = true
		}
		for _, v := range s.Volumes {
			switch v.Target {
			case "/etc/carebed/gateway.yml":
				if filepath.Base(v.Source) != "gateway.pair.yml" {
					t.Errorf("%s: runs %s, not gateway.pair.yml", name, v.Source)
				}
			case "/var/lib/carebed":
				data[v.Source] = true
			}
		}
	}
	if len(holders) != 2 || len(data) != 2 {
		t.Errorf("holders %v and data volumes %v: want two of each", holders, data)
	}
	b, err := os.ReadFile("compose/gateway.pair.yml")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Decode(b)
	if err != nil {
		t.Fatalf("compose/gateway.pair.yml: %v", err)
	}
	if !cfg.Pair.Enabled {
		t.Error("compose/gateway.pair.yml does not enable the pair")
	}
}

// TestPairGatewayConfigIsValid: the two-node example is a valid pair configuration.
func TestPairGatewayConfigIsValid(t *testing.T) {
	cfg, err := config.Load("gateway.pair.yml", nil)
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.Pair.Enabled || cfg.Database.URL == "" {
		t.Errorf("gateway.pair.yml: pair %+v, database %q", cfg.Pair, cfg.Database.URL)
	}
}
