package devsvc

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// errAddrInUse means the service could not bind its port: another process took the
// free port between freePorts and the service's bind.
var errAddrInUse = errors.New("address already in use")

// proc is one run of a deploy/dev/run-* script. The script execs the server, so the
// child's pid is the server's pid and signals reach the server directly.
type proc struct {
	name     string // "mosquitto" or "influxd"
	log      string // the server's log file
	out      string // the script's own output (errors before it execs the server)
	logStart int64  // size of log and out when this run started
	outStart int64
	cmd      *exec.Cmd
	done     chan struct{} // closed once the process has exited and been reaped
	waitErr  error         // valid after done is closed
	stopped  bool          // stop or kill was called: an exit is expected
	// term is the signal of a graceful stop: SIGTERM when zero. PostgreSQL's is
	// SIGINT (fast shutdown); its SIGTERM waits for every client to disconnect.
	term syscall.Signal
}

// startProc runs deploy/dev/run-<name> with args, in dir.
func startProc(name, dir, log string, args ...string) (*proc, error) {
	return startProcEnv(name, dir, log, nil, args...)
}

// startProcEnv is startProc with env (KEY=value) added to this process's environment.
func startProcEnv(name, dir, log string, env []string, args ...string) (*proc, error) {
	p := &proc{name: name, log: log, out: filepath.Join(dir, "run-"+name+".out"), done: make(chan struct{})}
	p.logStart, p.outStart = fileSize(p.log), fileSize(p.out)
	out, err := os.OpenFile(p.out, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("devsvc: %w", err)
	}
	defer out.Close()
	p.cmd = exec.Command("bash", append([]string{script(name)}, args...)...)
	p.cmd.Dir = dir
	if env != nil {
		p.cmd.Env = append(os.Environ(), env...)
	}
	p.cmd.Stdout, p.cmd.Stderr = out, out
	p.cmd.SysProcAttr = sysProcAttr()
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("devsvc: starting %s: %w", name, err)
	}
	go func() {
		p.waitErr = p.cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

func fileSize(path string) int64 {
	if fi, err := os.Stat(path); err == nil {
		return fi.Size()
	}
	return 0
}

// pid is the server's process id; 0 for no run (nil) yet.
func (p *proc) pid() int {
	if p == nil {
		return 0
	}
	return p.cmd.Process.Pid
}

// running reports whether the process has not exited yet; false for no run (nil).
func (p *proc) running() bool {
	if p == nil {
		return false
	}
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// exited returns nil while the process runs, else why it stopped; errAddrInUse when
// its output says it could not bind its port.
func (p *proc) exited() error {
	if p.running() {
		return nil
	}
	output := p.since()
	if strings.Contains(strings.ToLower(output), "address already in use") {
		return fmt.Errorf("%s (pid %d) exited: %w", p.name, p.pid(), errAddrInUse)
	}
	return fmt.Errorf("%s (pid %d) exited (%v); its output:\n%s", p.name, p.pid(), p.waitErr, lastLines(output, 30))
}

// since returns what this run wrote to the script output and to the server log.
func (p *proc) since() string {
	return readFrom(p.out, p.outStart) + readFrom(p.log, p.logStart)
}

func readFrom(path string, offset int64) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return ""
	}
	b, _ := io.ReadAll(f)
	return string(b)
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// stop sends SIGTERM (or p.term) and waits for the exit; after grace it sends SIGKILL
// and reports that the graceful stop failed.
func (p *proc) stop(grace time.Duration) error {
	if !p.running() {
		return nil
	}
	p.stopped = true
	sig := p.term
	if sig == 0 {
		sig = syscall.SIGTERM
	}
	if err := p.cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("devsvc: %v to %s (pid %d): %w", sig, p.name, p.pid(), err)
	}
	timer := time.NewTimer(grace)
	defer timer.Stop()
	select {
	case <-p.done:
		return nil
	case <-timer.C:
		p.kill()
		return fmt.Errorf("devsvc: %s (pid %d) did not stop within %v of %v; killed", p.name, p.pid(), grace, sig)
	}
}

// kill sends SIGKILL and waits until the process is gone.
func (p *proc) kill() {
	p.stopped = true
	if p.running() {
		_ = p.cmd.Process.Kill() // os.Process signals this very process (pidfd), never a reused pid
	}
	<-p.done
}

// cleanup registers the end of a service with t: stop it (by pid, SIGKILL after
// grace) and, when the test failed, log the tail of its log. current returns the
// service's latest run, which a restart replaces.
func cleanup(t testing.TB, grace time.Duration, current func() *proc) {
	t.Cleanup(func() {
		p := current()
		if p == nil {
			return
		}
		if !p.running() && !p.stopped {
			t.Logf("devsvc: %s (pid %d) had exited by itself (%v); see %s", p.name, p.pid(), p.waitErr, p.log)
		}
		if err := p.stop(grace); err != nil {
			t.Errorf("%v", err)
		}
		if t.Failed() {
			t.Logf("devsvc: tail of %s:\n%s", p.log, tail(p.log, 60))
			if out := strings.TrimSpace(readFrom(p.out, 0)); out != "" {
				t.Logf("devsvc: output of run-%s:\n%s", p.name, lastLines(out, 20))
			}
		}
	})
}
