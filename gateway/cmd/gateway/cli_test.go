package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"carebed/gateway/config"
	"carebed/gateway/credential"
	"carebed/internal/devsvc"
	"carebed/internal/sqlitefile"
)

const testLedger = "county,township,village,home_id,elder_name,address,lat,lon,device_id,device_kind,visitor_name,visitor_phone,doctor_name,doctor_phone,family_phone\n" +
	"和静县,巴伦台镇,巴伦台村,H-1,老人甲,地址甲,42.7,86.3,bed-0001,bed_sensor,探访员,13800000001,村医,13800000002,13900000003\n" +
	"和静县,巴伦台镇,巴伦台村,H-1,老人甲,地址甲,42.7,86.3,sos-0001,sos_pendant,探访员,13800000001,村医,13800000002,13900000003\n"

// cli runs the command line in a data folder of its own.
type cli struct {
	t   *testing.T
	env map[string]string
}

func newCLI(t *testing.T) *cli {
	dir := t.TempDir()
	c := &cli{t: t, env: map[string]string{"CAREBED_DATA_DIR": filepath.Join(dir, "data")}}
	ledger := filepath.Join(dir, "ledger.csv")
	if err := os.WriteFile(ledger, []byte(testLedger), 0o600); err != nil {
		t.Fatal(err)
	}
	c.ok("", "registry", "import", ledger)
	return c
}

func (c *cli) run(stdin string, args ...string) (code int, stdout, stderr string) {
	var out, errw bytes.Buffer
	lookup := func(k string) (string, bool) { v, ok := c.env[k]; return v, ok }
	code = run(context.Background(), args, strings.NewReader(stdin), &out, &errw, lookup)
	return code, out.String(), errw.String()
}

func (c *cli) ok(stdin string, args ...string) string {
	c.t.Helper()
	code, out, errs := c.run(stdin, args...)
	if code != 0 {
		c.t.Fatalf("gateway %s: exit %d\n%s", strings.Join(args, " "), code, errs)
	}
	return out
}

func TestProvisionRevokeExport(t *testing.T) {
	c := newCLI(t)
	dir := t.TempDir()
	creds := filepath.Join(dir, "creds.csv")
	c.ok("", "devices", "provision", "-out", creds)
	b, err := os.ReadFile(creds)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 3 || lines[0] != "kind,username,password,phone" || !strings.HasPrefix(lines[1], "device,bed-0001,") {
		t.Fatalf("credentials file:\n%s", b)
	}
	if fi, _ := os.Stat(creds); fi.Mode().Perm() != 0o600 {
		t.Errorf("credentials file mode %v, want 0600", fi.Mode().Perm())
	}
	if code, _, _ := c.run("", "devices", "provision", "-rotate", "-out", creds, "bed-0001"); code == 0 {
		t.Error("provision overwrote an existing credentials file")
	}
	if out := c.ok("", "devices", "provision"); strings.Count(out, "\n") != 1 {
		t.Errorf("second provision issued again without -rotate:\n%s", out)
	}
	if out := c.ok("", "responders", "provision"); strings.Count(out, "\n") != 4 {
		t.Errorf("responders: want header and 3 phones:\n%s", out)
	}
	c.ok("", "devices", "revoke", "sos-0001")
	if out := c.ok("", "credentials", "list"); !strings.Contains(out, "sos-0001") || strings.Contains(out, lines[1][16:]) {
		t.Errorf("credentials list (must not show passwords):\n%s", out)
	}

	if code, _, errs := c.run("", "broker", "export", "-dir", dir); code != 1 || !strings.Contains(errs, "mqtt.password") {
		t.Errorf("export without the gateway's password: exit %d: %s", code, errs)
	}
	c.env["CAREBED_MQTT_USERNAME"], c.env["CAREBED_MQTT_PASSWORD"] = "gateway", "gw-secret"
	c.ok("", "broker", "export", "-dir", dir)
	passwd, _ := os.ReadFile(filepath.Join(dir, "passwd"))
	acl, _ := os.ReadFile(filepath.Join(dir, "acl"))
	users := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(string(passwd)), "\n") {
		u, h, _ := strings.Cut(l, ":")
		users[u] = h
	}
	bedPassword := strings.Split(lines[1], ",")[2]
	if !credential.Verify(users["bed-0001"], bedPassword) || !credential.Verify(users["gateway"], "gw-secret") ||
		!credential.Verify(users["gateway-alarms"], "gw-secret") {
		t.Errorf("passwd does not verify the issued passwords:\n%s", passwd)
	}
	if _, ok := users["sos-0001"]; ok || len(users) != 6 {
		t.Errorf("passwd users %v: want bed-0001, gateway, gateway-alarms and 3 responders, not the revoked sos-0001", users)
	}
	// Devices by pattern (no device named: the revoked one is kept out by passwd).
	if !strings.Contains(string(acl), "pattern write carebed/v1/%u/telemetry\n") ||
		!strings.Contains(string(acl), "user gateway-alarms\ntopic read carebed/v1/+/event\n") ||
		strings.Contains(string(acl), "bed-0001") || strings.Contains(string(acl), "sos-0001") {
		t.Errorf("acl:\n%s", acl)
	}
}

func TestUsersAndTokens(t *testing.T) {
	c := newCLI(t)
	out := c.ok("", "users", "add", "-role", "township_duty", "-display", "巴伦台镇卫生院值班", "-county", "和静县",
		"-township", "巴伦台镇", "-phone", "138 0000 0009", "duty-1")
	if name, pw, ok := strings.Cut(strings.TrimSpace(out), "\t"); !ok || name != "duty-1" || len(pw) < 20 {
		t.Errorf("generated password line: %q", out)
	}
	c.ok("a long enough password\n", "users", "passwd", "-password-stdin", "duty-1")
	if code, _, errs := c.run("short\n", "users", "passwd", "-password-stdin", "duty-1"); code == 0 {
		t.Errorf("short password accepted: %s", errs)
	}
	if code, _, errs := c.run("", "users", "add", "-role", "boss", "-display", "x", "-county", "和静县", "u2"); code != 2 ||
		!strings.Contains(errs, "role") {
		t.Errorf("bad role: exit %d %s", code, errs)
	}
	if tok := c.ok("", "tokens", "create", "-label", "clinic-his", "duty-1"); !strings.HasPrefix(tok, "cbt_") {
		t.Errorf("token %q", tok)
	}
	c.ok("", "users", "disable", "duty-1")
	if out := c.ok("", "users", "list"); !strings.Contains(out, "duty-1") || !strings.Contains(out, "disabled") ||
		strings.Contains(out, "argon2") {
		t.Errorf("users list:\n%s", out)
	}
}

func TestBackupRestore(t *testing.T) {
	c := newCLI(t)
	dir := filepath.Join(t.TempDir(), "b1")
	c.ok("", "backup", dir)
	c.ok("", "users", "add", "-role", "county_admin", "-display", "管理员", "-county", "和静县", "late")
	c.ok("", "restore", dir)
	if out := c.ok("", "users", "list"); strings.Contains(out, "late") {
		t.Errorf("restore kept a user added after the backup:\n%s", out)
	}
	if out := c.ok("", "registry", "list"); !strings.Contains(out, "bed-0001") {
		t.Errorf("restored registry lacks the devices:\n%s", out)
	}
}

// TestBackupSaysPostgresIsNotInIt: with database.url set, backup and restore say
// that the alert store, the registry, users, sessions, visits, the digest and the
// draws are not in the backup (pg_dump is), and take nothing of what an earlier
// SQLite setup left in the data folder (registry.db, inspect.db).
func TestBackupSaysPostgresIsNotInIt(t *testing.T) {
	c := newCLI(t) // imports into data/registry.db, as a site did before PostgreSQL
	sqliteBackup := filepath.Join(t.TempDir(), "sqlite")
	c.ok("", "backup", sqliteBackup)
	c.env["CAREBED_DATABASE_URL"] = "postgres://carebed:pw@127.0.0.1:9/carebed"
	dir, withDraws := filepath.Join(t.TempDir(), "b1"), filepath.Join(t.TempDir(), "b2")
	tests := []struct {
		args      []string
		said, not string
		draws     bool // an inspect.db in the data folder
	}{
		{args: []string{"backup", dir}, said: "backed up nothing", not: "registry.db"},
		{args: []string{"restore", dir}, said: "restored nothing", not: "registry.db"},
		{args: []string{"restore", sqliteBackup}, said: "left out registry.db", not: "restored registry.db"},
		{args: []string{"backup", withDraws}, said: "backed up nothing", not: "inspect.db", draws: true},
	}
	for _, tt := range tests {
		if tt.draws {
			db, err := sqlitefile.Open("inspect", filepath.Join(c.env["CAREBED_DATA_DIR"], "inspect.db"), nil)
			if err != nil {
				t.Fatal(err)
			}
			db.Close()
		}
		code, _, errs := c.run("", tt.args...)
		if code != 0 || !strings.Contains(errs, "the family digest and the inspection draws are in PostgreSQL") ||
			!strings.Contains(errs, "not in this backup") || !strings.Contains(errs, "pg_dump") {
			t.Errorf("gateway %s: exit %d, said %q; want a word that the registry and alerts are not in it", tt.args, code, errs)
		}
		if !strings.Contains(errs, tt.said) || strings.Contains(errs, tt.not) {
			t.Errorf("gateway %s said %q; want %q and not %q", tt.args, errs, tt.said, tt.not)
		}
		if strings.Contains(errs, "carebed:pw") {
			t.Errorf("gateway %s printed the database password: %q", tt.args, errs)
		}
	}
}

// TestRegistryCommandsOnPostgres: with database.url set, the registry and user
// commands work on PostgreSQL, and nothing of the registry is written to the data
// folder.
func TestRegistryCommandsOnPostgres(t *testing.T) {
	url := devsvc.StartPostgres(t).NewDatabase(t)
	dir := t.TempDir()
	c := &cli{t: t, env: map[string]string{"CAREBED_DATA_DIR": filepath.Join(dir, "data"), "CAREBED_DATABASE_URL": url}}
	ledger := filepath.Join(dir, "ledger.csv")
	if err := os.WriteFile(ledger, []byte(testLedger), 0o600); err != nil {
		t.Fatal(err)
	}
	if out := c.ok("", "registry", "import", ledger); !strings.Contains(out, "2 imported") {
		t.Errorf("import said %q", out)
	}
	c.ok("", "users", "add", "-role", "county_admin", "-display", "管理员", "-county", "和静县", "admin")
	if _, err := os.Stat(filepath.Join(dir, "data", "registry.db")); !os.IsNotExist(err) {
		t.Errorf("data/registry.db made with database.url set: %v", err)
	}
	c.env["CAREBED_DATA_DIR"] = filepath.Join(dir, "other") // another gateway, same database
	if out := c.ok("", "registry", "list"); !strings.Contains(out, "bed-0001") || !strings.Contains(out, "sos-0001") {
		t.Errorf("registry list on the shared database:\n%s", out)
	}
	if out := c.ok("", "users", "list"); !strings.Contains(out, "admin") {
		t.Errorf("users list on the shared database:\n%s", out)
	}
}

// TestFirstCommandOnPostgresCopiesTheSQLiteRegistry: a site that kept its registry in
// SQLite and sets database.url finds its devices and users there at the first
// command, which says it copied them; the next command copies nothing.
func TestFirstCommandOnPostgresCopiesTheSQLiteRegistry(t *testing.T) {
	c := newCLI(t) // the ledger in data/registry.db
	c.ok("", "users", "add", "-role", "county_admin", "-display", "管理员", "-county", "和静县", "admin")
	c.env["CAREBED_DATABASE_URL"] = devsvc.StartPostgres(t).NewDatabase(t)
	code, out, errs := c.run("", "registry", "list")
	if code != 0 || !strings.Contains(out, "bed-0001") || !strings.Contains(errs, "copied the registry") {
		t.Fatalf("first command on PostgreSQL: exit %d, out %q, said %q", code, out, errs)
	}
	code, out, errs = c.run("", "users", "list")
	if code != 0 || !strings.Contains(out, "admin") || strings.Contains(errs, "copied") {
		t.Errorf("second command: exit %d, out %q, said %q; want the user, nothing copied", code, out, errs)
	}
}

// The embedded broker's heap grows with its connections: it runs the collector at
// 2x the live heap; with an external broker the heap is small and 4x saves CPU.
func TestGCPercent(t *testing.T) {
	for _, c := range []struct {
		embedded string
		want     int
	}{{"", 400}, {"127.0.0.1:1883", 100}} {
		cfg := config.Default()
		cfg.EmbeddedBroker.Addr = c.embedded
		if got := gcPercent(cfg); got != c.want {
			t.Errorf("embedded_broker.addr %q: GC percent %d, want %d", c.embedded, got, c.want)
		}
	}
}
