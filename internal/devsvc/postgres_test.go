package devsvc

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
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
	diesWithTheTestBinary(t, "TestPostgresDiesWithTheTestBinary", postgresName, func(t *testing.T) (int, string) {
		p := StartPostgres(t)
		return p.Pid(), p.Dir
	})
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
