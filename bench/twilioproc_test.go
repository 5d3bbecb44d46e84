package bench

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"carebed/alerting/notify/twilio/twiliotest"
)

// twilioChildEnv, when set, makes the test binary the fake Twilio of a site (see
// TestMain and startTwilio).
const twilioChildEnv = "CAREBED_BENCH_TWILIO_CHILD"

// The fake Twilio's account, as the site's gateway is configured.
const (
	fakeTwilioSID   = "AC0123456789abcdef0123456789abcdef"
	fakeTwilioToken = "0123456789abcdef0123456789abcdef"
)

// twilioChild serves the fake Twilio API on a loopback port it prints on stdout,
// with GET /arrivals (the first SMS request's time to each number, JSON), until its
// stdin closes.
func twilioChild() int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	arr := &arrivals{at: map[string]time.Time{}}
	mux := http.NewServeMux()
	mux.Handle("/", arr.wrap(twiliotest.NewAPI(fakeTwilioSID, fakeTwilioToken)))
	mux.HandleFunc("GET /arrivals", func(w http.ResponseWriter, _ *http.Request) {
		arr.mu.Lock()
		defer arr.mu.Unlock()
		_ = json.NewEncoder(w).Encode(arr.at)
	})
	go func() { _ = http.Serve(ln, mux) }()
	fmt.Println(ln.Addr().String())
	_, _ = io.Copy(io.Discard, os.Stdin)
	return 0
}

// twilioProcess is a site's fake Twilio in a process of its own: a load generator
// busy with thousands of connections must not be what delays an SMS's receipt.
type twilioProcess struct {
	url string
}

// startTwilio starts the fake Twilio process; it ends with the benchmark.
func startTwilio(b *testing.B) *twilioProcess {
	b.Helper()
	_, out := startChild(b, twilioChildEnv+"=1")
	addr, err := out.ReadString('\n')
	if err != nil {
		b.Fatalf("the fake Twilio process: %v", err)
	}
	return &twilioProcess{url: "http://" + strings.TrimSpace(addr)}
}

// startChild starts this test binary again with env added (its TestMain runs the
// child that env names), and returns its stdin and its stdout; closing the stdin
// ends it, which the benchmark's cleanup does and waits for.
func startChild(b *testing.B, env ...string) (io.WriteCloser, *bufio.Reader) {
	b.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), env...)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = stdin.Close(); _ = cmd.Wait() })
	return stdin, bufio.NewReader(stdout)
}

// arrivals is what the process has received so far.
func (t *twilioProcess) arrivals(b *testing.B) *arrivals {
	b.Helper()
	resp, err := http.Get(t.url + "/arrivals")
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	a := &arrivals{}
	if err := json.NewDecoder(resp.Body).Decode(&a.at); err != nil {
		b.Fatal(err)
	}
	return a
}
