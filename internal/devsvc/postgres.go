package devsvc

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

const (
	postgresName  = "postgres"
	postgresReady = 60 * time.Second // deadline for a start (initdb included)
	postgresGrace = 30 * time.Second // SIGINT (fast shutdown) to SIGKILL
	// postgresRole is the role and database run-postgres makes for carebed, and its
	// password (development and tests only).
	postgresRole     = "carebed"
	postgresPassword = "carebed"
	// socketPathMax is the longest unix socket path Linux takes (sun_path less its NUL).
	socketPathMax = 107
)

// Postgres is a running private PostgreSQL cluster started by deploy/dev/run-postgres:
// TCP on loopback, a database and login role "carebed" (password "carebed") that may
// create databases, fsync on.
type Postgres struct {
	// URL connects to database carebed as carebed:
	// "postgres://carebed:carebed@127.0.0.1:<port>/carebed?sslmode=disable".
	URL string
	// Port is the TCP port on 127.0.0.1.
	Port int
	// Dir holds the cluster (data/), its settings, its unix socket (sock/) and the log.
	Dir string
	// LogFile is Dir/postgres.log.
	LogFile string

	proc *proc
	dbs  atomic.Int64 // databases NewDatabase made
}

// StartPostgres starts a PostgreSQL cluster on a free loopback port in a new folder
// under t.TempDir() (the first start runs initdb: about 2 s), waits until it takes
// connections (deadline 60 s), and stops it when the test ends (fast shutdown, by its
// pid). It skips or fails the test as Require does when PostgreSQL is not installed
// (in CI, CI=true, it fails), and fails the test when it does not start.
//
// Run as root, the cluster runs as user postgres (PostgreSQL refuses root), so the
// folders t.TempDir() made above it are opened to others for traversal (not listing).
func StartPostgres(t testing.TB) *Postgres {
	t.Helper()
	Require(t, postgresName)
	dir, err := postgresDir(t)
	if err != nil {
		t.Fatal(err)
	}
	p := &Postgres{Dir: dir, LogFile: filepath.Join(dir, "postgres.log")}
	cleanup(t, postgresGrace, func() *proc { return p.proc })
	startService(t, postgresName, p)
	return p
}

// postgresDir returns the cluster's folder: t.TempDir()/pg, or a shorter folder of
// its own when that path is too long for the unix socket in it.
func postgresDir(t testing.TB) (string, error) {
	base := t.TempDir()
	if len(base)+len("/pg/sock/.s.PGSQL.65535") > socketPathMax {
		short, err := os.MkdirTemp("", "pg")
		if err != nil {
			return "", fmt.Errorf("devsvc: %w", err)
		}
		t.Cleanup(func() { os.RemoveAll(short) })
		base = short
	}
	if os.Geteuid() == 0 {
		if err := openForTraversal(base); err != nil {
			return "", err
		}
	}
	return filepath.Join(base, "pg"), nil
}

// openForTraversal adds the others' search bit to dir and to the folders above it up
// to the system's temporary folder, all of which the test made with mode 0700.
func openForTraversal(dir string) error {
	top := filepath.Clean(os.TempDir())
	for d := filepath.Clean(dir); strings.HasPrefix(d, top+string(filepath.Separator)); d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil {
			return fmt.Errorf("devsvc: %w", err)
		}
		if err := os.Chmod(d, fi.Mode().Perm()|0o001); err != nil {
			return fmt.Errorf("devsvc: %w", err)
		}
	}
	return nil
}

func (p *Postgres) ports() int { return 1 }

func (p *Postgres) where() string { return "127.0.0.1:" + strconv.Itoa(p.Port) }

func (p *Postgres) setPorts(ports []int) {
	p.Port = ports[0]
	p.URL = p.databaseURL(postgresRole)
}

// databaseURL is the URL of database name on this cluster, as role carebed.
func (p *Postgres) databaseURL(name string) string {
	u := url.URL{Scheme: "postgres", User: url.UserPassword(postgresRole, postgresPassword),
		Host: p.where(), Path: "/" + name, RawQuery: "sslmode=disable"}
	return u.String()
}

// start runs the script and waits until the log says the server listens on our port
// and is ready, and a connection to database carebed works.
func (p *Postgres) start() error {
	pr, err := startProcEnv(postgresName, filepath.Dir(p.Dir), p.LogFile, []string{"CAREBED_PDEATHSIG=KILL"},
		strconv.Itoa(p.Port), p.Dir)
	if err != nil {
		return err
	}
	pr.term = syscall.SIGINT
	p.proc = pr
	listening := fmt.Sprintf(`listening on IPv4 address "127.0.0.1", port %d`, p.Port)
	ready := func() error {
		log := readFrom(pr.log, pr.logStart)
		if !strings.Contains(log, listening) || !strings.Contains(log, "database system is ready to accept connections") {
			return errors.New("not listening and ready in its log yet")
		}
		return p.ping()
	}
	if err := poll(postgresReady, ready, pr.exited); err != nil {
		pr.kill()
		return err
	}
	return nil
}

func (p *Postgres) ping() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, p.URL)
	if err != nil {
		return err
	}
	defer c.Close(ctx)
	return c.Ping(ctx)
}

// NewDatabase creates a new empty database on the cluster, owned by carebed, and
// returns its URL: one cluster serves many stores, each in a database of its own.
func (p *Postgres) NewDatabase(t testing.TB) string {
	t.Helper()
	name := "t" + strconv.FormatInt(p.dbs.Add(1), 10)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, p.URL)
	if err != nil {
		t.Fatalf("devsvc: postgres: %v", err)
	}
	defer c.Close(ctx)
	if _, err := c.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("devsvc: postgres: creating database %s: %v", name, err)
	}
	return p.databaseURL(name)
}

// Pid returns the postmaster's process id (0 before the first start).
func (p *Postgres) Pid() int { return p.proc.pid() }

// Running reports whether the server is alive.
func (p *Postgres) Running() bool { return p.proc.running() }

// Stop stops the server with a fast shutdown (SIGINT: clients are disconnected, the
// committed data is checkpointed). It fails the test if that takes more than 30 s.
func (p *Postgres) Stop(t testing.TB) {
	t.Helper()
	if err := p.proc.stop(postgresGrace); err != nil {
		t.Fatal(err)
	}
}

// Kill stops the server with SIGKILL, as a crash would: the next start recovers from
// the write-ahead log.
func (p *Postgres) Kill(t testing.TB) {
	t.Helper()
	p.proc.kill()
}

// Start starts a stopped server again on the same port and folder.
func (p *Postgres) Start(t testing.TB) {
	t.Helper()
	if p.Running() {
		t.Fatalf("devsvc: postgres (pid %d) is already running", p.Pid())
	}
	if err := p.start(); err != nil {
		t.Fatalf("devsvc: starting postgres again on %s: %v", p.where(), err)
	}
}

// postgresBinDir mirrors the lookup in deploy/dev/run-postgres: the folder holding
// initdb and postgres.
func postgresBinDir() (string, error) {
	if d := os.Getenv("CAREBED_POSTGRES_BIN"); d != "" {
		return d, nil
	}
	if dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin"); len(dirs) > 0 {
		sort.Slice(dirs, func(i, j int) bool { return versionOf(dirs[i]) < versionOf(dirs[j]) })
		return dirs[len(dirs)-1], nil
	}
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		return strings.TrimSpace(string(out)), nil
	}
	if bin, err := exec.LookPath(postgresName); err == nil {
		return filepath.Dir(bin), nil
	}
	return "", errors.New("postgresql is not installed (no /usr/lib/postgresql/*/bin, no pg_config or postgres on PATH, CAREBED_POSTGRES_BIN unset)")
}

// versionOf is the major version in /usr/lib/postgresql/<version>/bin (0 if none).
func versionOf(bindir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(bindir)))
	return v
}

// postgresBinary is the postgres server in postgresBinDir; initdb must be beside it.
func postgresBinary() (string, error) {
	d, err := postgresBinDir()
	if err != nil {
		return "", err
	}
	if err := executable(filepath.Join(d, "initdb")); err != nil {
		return "", fmt.Errorf("postgresql: %w", err)
	}
	return filepath.Join(d, postgresName), nil
}
