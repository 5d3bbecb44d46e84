package devsvc

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// TestPostgresCommitsSurviveKill starts the cluster, commits a row, kills the server
// with SIGKILL (a crash) and finds the row after a restart; the server never runs as
// root, runs with fsync on, and NewDatabase gives a database of its own.
func TestPostgresCommitsSurviveKill(t *testing.T) {
	t.Parallel()
	p := StartPostgres(t)
	ctx := context.Background()
	if want := fmt.Sprintf("postgres://carebed:carebed@127.0.0.1:%d/carebed?sslmode=disable", p.Port); p.URL != want {
		t.Fatalf("URL %q, want %q", p.URL, want)
	}
	if uid := procUID(t, p.Pid()); uid == "0" {
		t.Fatalf("postgres (pid %d) runs as root", p.Pid())
	}
	c := pgConnect(t, p.URL)
	var fsync string
	if err := c.QueryRow(ctx, "SHOW fsync").Scan(&fsync); err != nil || fsync != "on" {
		t.Fatalf("fsync = %q, %v; want on", fsync, err)
	}
	if _, err := c.Exec(ctx, "CREATE TABLE t (v text); INSERT INTO t VALUES ('committed')"); err != nil {
		t.Fatal(err)
	}
	c.Close(ctx)

	p.Kill(t)
	if p.Running() {
		t.Fatal("running after Kill")
	}
	p.Start(t)
	var v string
	if err := pgConnect(t, p.URL).QueryRow(ctx, "SELECT v FROM t").Scan(&v); err != nil || v != "committed" {
		t.Fatalf("after kill and restart: %q, %v", v, err)
	}

	u1, u2 := p.NewDatabase(t), p.NewDatabase(t)
	if u1 == u2 || u1 == p.URL {
		t.Fatalf("NewDatabase gave %q and %q (cluster %q)", u1, u2, p.URL)
	}
	if _, err := pgConnect(t, u1).Exec(ctx, "CREATE TABLE t (v text)"); err != nil {
		t.Fatalf("in a new database: %v", err)
	}
}

// TestPostgresDiesWithTheTestBinary: as TestServersDieWithTheTestBinary, for
// PostgreSQL, whose run script drops from root to user postgres (the kernel forgets a
// parent-death signal across that change; the script sets it again).
func TestPostgresDiesWithTheTestBinary(t *testing.T) {
	if os.Getenv("DEVSVC_PG_ORPHAN_HELPER") != "" {
		p := StartPostgres(t)
		fmt.Printf("DEVSVC pid=%d dir=%s\n", p.Pid(), filepath.Dir(filepath.Dir(p.Dir)))
		os.Exit(0)
	}
	Require(t, postgresName)
	t.Parallel()
	cmd := exec.Command(os.Args[0], "-test.run=^TestPostgresDiesWithTheTestBinary$", "-test.count=1")
	cmd.Env = append(os.Environ(), "DEVSVC_PG_ORPHAN_HELPER=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("helper: %v\n%s", err, out)
	}
	var pid int
	var dir string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if _, err := fmt.Sscanf(sc.Text(), "DEVSVC pid=%d dir=%s", &pid, &dir); err == nil {
			break
		}
	}
	if pid == 0 || !strings.HasPrefix(dir, os.TempDir()) {
		t.Fatalf("helper printed no pid and folder:\n%s", out)
	}
	t.Cleanup(func() { os.RemoveAll(dir) }) // the helper exited before removing it
	err = poll(10*time.Second, func() error {
		if alive(pid) {
			return fmt.Errorf("pid %d is still alive", pid)
		}
		return nil
	}, func() error { return nil })
	if err != nil {
		t.Fatalf("postgres outlived its test binary: %v", err)
	}
}

// TestPostgresStartReportsPortInUse: a start on a taken port is recognised, which is
// what makes StartPostgres retry on another.
func TestPostgresStartReportsPortInUse(t *testing.T) {
	t.Parallel()
	Require(t, postgresName)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	dir, err := postgresDir(t)
	if err != nil {
		t.Fatal(err)
	}
	p := &Postgres{Dir: dir, LogFile: filepath.Join(dir, "postgres.log")}
	p.setPorts([]int{l.Addr().(*net.TCPAddr).Port})
	t.Cleanup(func() {
		if p.proc != nil {
			p.proc.kill()
		}
	})
	if err := p.start(); !errors.Is(err, errAddrInUse) {
		t.Fatalf("start on a taken port: got %v, want %v", err, errAddrInUse)
	}
}

func pgConnect(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

// procUID is the real user id of pid, from /proc.
func procUID(t *testing.T, pid int) string {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) > 1 && f[0] == "Uid:" {
			return f[1]
		}
	}
	t.Fatalf("no Uid line in /proc/%d/status", pid)
	return ""
}
