package service

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"carebed/firmware-sim/fleet"
	"carebed/gateway/protocol"
	"carebed/internal/devsvc"
	"carebed/internal/testwait"
)

// buildGateway compiles cmd/gateway into a temporary folder.
func buildGateway(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "gateway")
	cmd := exec.Command("go", "build", "-o", bin, "./gateway/cmd/gateway")
	cmd.Dir = devsvc.RepoRoot()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// proc is the gateway as a separate process.
type gatewayProc struct {
	t    *testing.T
	bin  string
	args []string // default: run
	env  []string
	addr string
	log  *os.File
	cmd  *exec.Cmd
}

// newGatewayProc prepares the gateway binary to run as a process against e's
// services and data folder, its HTTP on addr; the test's end kills it and, if the
// test failed, shows the end of its log.
func newGatewayProc(t *testing.T, e *env, addr string) *gatewayProc {
	t.Helper()
	return newGatewayProcOf(t, buildGateway(t), e, addr)
}

// newGatewayProcOf is newGatewayProc with a binary already built.
func newGatewayProcOf(t *testing.T, bin string, e *env, addr string) *gatewayProc {
	t.Helper()
	p := &gatewayProc{t: t, bin: bin, addr: addr}
	p.env = append(os.Environ(), "CAREBED_MQTT_URL="+e.mq.URL, "CAREBED_INFLUX_URL="+e.influx.URL,
		"CAREBED_INFLUX_BUCKET="+e.influx.Bucket, "CAREBED_HTTP_ADDR="+addr,
		"CAREBED_DATA_DIR="+e.cfg.DataDir, "CAREBED_EMBEDDED_BROKER_ADDR=")
	logPath := filepath.Join(t.TempDir(), "gateway.log")
	var err error
	if p.log, err = os.Create(logPath); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if p.cmd != nil && p.cmd.ProcessState == nil {
			p.kill9()
		}
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			t.Logf("gateway log:\n%s", lastLines(string(b), 60))
		}
	})
	return p
}

func (p *gatewayProc) start() {
	p.t.Helper()
	p.launch()
	waitFor(p.t, 30*time.Second, "gateway process ready", func() (bool, string) {
		code, body := tryGet("http://" + p.addr + "/readyz")
		return code == 200, body
	})
}

// launch starts the process without waiting for it.
func (p *gatewayProc) launch() {
	p.t.Helper()
	args := p.args
	if len(args) == 0 {
		args = []string{"run"}
	}
	p.cmd = exec.Command(p.bin, args...)
	p.cmd.Env = p.env
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	if err := p.cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
}

func (p *gatewayProc) kill9() {
	p.t.Helper()
	if err := p.cmd.Process.Kill(); err != nil {
		p.t.Fatal(err)
	}
	p.cmd.Wait() //nolint:errcheck // killed on purpose
}

func tryGet(url string) (int, string) {
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestKill9WhilePublishingLosesNothing(t *testing.T) {
	e := newEnv(t, false)
	devices := deviceIDs("bed", 20)
	e.register(devices)
	p := newGatewayProc(t, e, testwait.FreeAddr(t))
	p.start()
	f := fleet.New(fleet.Options{Broker: e.mq.URL, Devices: devices, Conns: 4, Rate: 400,
		Duration: 20 * time.Second, Payload: mixedClock, Record: true, ClientPrefix: "kill-pub"})
	done := make(chan fleet.Report, 1)
	go func() { rep, err := f.Run(context.Background()); checkRun(t, err); done <- rep }()
	for round := 1; round <= 2; round++ {
		sent := f.Sent()
		waitFor(t, 20*time.Second, "traffic flowing", func() (bool, string) {
			return f.Sent() > sent+1000, fmt.Sprint(f.Sent())
		})
		p.kill9()
		t.Logf("kill -9 #%d after %d messages sent", round, f.Sent())
		p.start()
	}
	rep := <-done
	if rep.Errors != 0 {
		t.Fatalf("publisher errors: %d (last %v)", rep.Errors, rep.LastError)
	}
	acked := f.Acked()
	waitFor(t, 60*time.Second, "every acknowledged message stored", func() (bool, string) {
		n := e.influx.Count(t, "SELECT COUNT(seq) FROM telemetry")
		return n >= int64(total(acked)), fmt.Sprintf("%d of %d", n, total(acked))
	})
	exactlyOnce(t, seqsIn(t, e.influx, "telemetry"), acked)
	t.Logf("%d messages acknowledged, all stored once across two kill -9", total(acked))
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// TestKill9BetweenLadderStepsNoDuplicateSMS kills the gateway process during the
// first step of an SOS ladder, while Twilio, slow to answer, has accepted the three
// pages and not yet said so: the gateway had recorded them as in flight and never
// learnt their result. The restarted gateway asks Twilio's message list before
// sending them again, finds them, and sends the next step on time: nobody gets a
// page twice.
func TestKill9BetweenLadderStepsNoDuplicateSMS(t *testing.T) {
	e := newAlertEnv(t)
	p := newGatewayProc(t, e.env, e.cfg.HTTP.Addr)
	cfgPath := filepath.Join(t.TempDir(), "gateway.yml")
	yml := fmt.Sprintf("twilio:\n  account_sid: %s\n  auth_token: %s\n  from: %q\n  base_url: %s\n  public_url: %s\nalerting:\n%s",
		twilioSID, twilioToken, twilioFrom, e.cfg.Twilio.BaseURL, e.public, indent(strings.ReplaceAll(testPolicy, "after: 4s", "after: 8s")))
	if err := os.WriteFile(cfgPath, []byte(yml), 0o600); err != nil {
		t.Fatal(err)
	}
	p.args = []string{"run", "-config", cfgPath}
	p.start()
	release := e.twilio.HoldAnswers() // Twilio takes the pages in and is slow to answer
	defer release()
	dev := publishClient(t, e.mq.URL, "hj-0002-sos")
	opened := time.Now()
	publish(t, dev, "carebed/v1/hj-0002-sos/event", protocol.EncodeEvent(protocol.Event{Seq: 1, TS: opened.UnixMilli(), Type: protocol.EventSOS}))
	for _, phone := range []string{familyPhone, doctorPhone, visitPhone} {
		e.waitSMS(t, phone, 1, 10*time.Second)
	}
	p.kill9() // during the calls: accepted by Twilio, no answer recorded
	release()
	p.start()
	e.waitSMS(t, clinicPhone, 1, 20*time.Second)
	if since := time.Since(opened); since < 8*time.Second {
		t.Errorf("the clinic step came %s after the SOS, before its 8 s", since)
	}
	// Give a duplicate time to show, then count.
	time.Sleep(3 * time.Second) // waiting for something that must not happen: no condition to poll
	for _, phone := range []string{familyPhone, doctorPhone, visitPhone, clinicPhone} {
		if got := e.smsTo(phone); len(got) != 1 {
			t.Errorf("%s got %d SMS across the kill -9, want 1: %q", phone, len(got), got)
		}
	}
	_, body := tryGet("http://" + p.addr + "/metrics")
	if want := `carebed_notification_inflight_checks_total{channel="sms",result="found"} 3`; !strings.Contains(body, want) {
		t.Errorf("/metrics lacks %s", want)
	}
}

func indent(s string) string {
	return "  " + strings.ReplaceAll(strings.TrimSpace(s), "\n", "\n  ") + "\n"
}
