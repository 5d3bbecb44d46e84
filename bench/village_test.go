package bench

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"carebed/firmware-sim/device"
	"carebed/firmware-sim/swarm"
)

// liveChildEnv, when set, makes the test binary the storm's live devices (see
// TestMain and startLive); liveBrokerEnv is the broker they connect to and
// liveDevicesEnv the file that lists them.
const (
	liveChildEnv   = "CAREBED_BENCH_LIVE_CHILD"
	liveBrokerEnv  = "CAREBED_BENCH_LIVE_BROKER"
	liveCAEnv      = "CAREBED_BENCH_LIVE_CA" // set: they speak TLS, trusting this CA
	liveDevicesEnv = "CAREBED_BENCH_LIVE_DEVICES"
)

// liveRow is a live device as the parent hands it to the child.
type liveRow struct {
	Device, Kind, Family, Password string
}

// liveChild connects the live devices, keeps them reporting, and presses SOS on
// their pendants as stdin asks ("press <device>": answered "pressed <device> <time of
// the publish>" once the broker acknowledged it), until stdin closes; then it says
// how many connections the broker closed ("lost <n>").
func liveChild() int {
	data, err := os.ReadFile(os.Getenv(liveDevicesEnv))
	var rows []liveRow
	if err == nil {
		err = json.Unmarshal(data, &rows)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "live devices:", err)
		return 1
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	live := make([]*stormDevice, len(rows))
	rc := &reconnector{ctx: ctx, byID: map[string]*swarm.Device{}}
	for i, r := range rows {
		live[i] = newStormDevice(ledgerRow{device: r.Device, kind: r.Kind, family: r.Family}, r.Password, time.Now())
		rc.byID[r.Device] = live[i].Device
	}
	var cfg *tls.Config
	if ca := os.Getenv(liveCAEnv); ca != "" {
		if cfg, err = deviceTLSTrusting(ca); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	d, err := swarm.New(swarm.Options{Broker: os.Getenv(liveBrokerEnv), TLS: cfg, KeepAlive: 60 * time.Second,
		Backoff: stormBackoff, OnLost: rc.onLost})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer d.Close()
	rc.d = d
	if rep := swarm.Storm(ctx, d, swarmDevices(live), time.Duration(len(live))*time.Millisecond, time.Now); rep.Failed > 0 {
		fmt.Fprintf(os.Stderr, "connecting the live devices: %+v\n", rep)
		return 1
	}
	rc.armed.Store(true)
	go sendLive(ctx, live)
	fmt.Println("ready")
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		dev, ok := strings.CutPrefix(in.Text(), "press ")
		at, err := press(live, dev)
		if !ok || err != nil {
			fmt.Fprintf(os.Stderr, "%q: %v\n", in.Text(), err)
			return 1
		}
		fmt.Println("pressed", dev, at.Format(time.RFC3339Nano))
	}
	fmt.Println("lost", rc.lost.Load())
	return 0
}

// press presses SOS on the pendant dev and returns when it was published.
func press(live []*stormDevice, dev string) (time.Time, error) {
	for _, dv := range live {
		if p, ok := dv.Model.(*device.Pendant); ok && dv.row.device == dev {
			at := time.Now()
			p.Press(at)
			dv.Flush(nil)
			return at, nil
		}
	}
	return time.Time{}, fmt.Errorf("no pendant %s", dev)
}

// liveProcess is the storm's live devices in a process of their own: the elders who
// press SOS are not in the township that lost its link, and a load generator busy
// with thousands of reconnects must not be what delays their publish.
type liveProcess struct {
	mu    sync.Mutex
	stdin io.WriteCloser
	out   *bufio.Reader
}

// startLive starts the live devices' process and waits until they are connected.
func startLive(b *testing.B, dir, broker, ca string, rows []liveRow) *liveProcess {
	b.Helper()
	list := dir + "/live.json"
	data, err := json.Marshal(rows)
	if err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(list, data, 0o600); err != nil {
		b.Fatal(err)
	}
	lp := &liveProcess{}
	lp.stdin, lp.out = startChild(b, liveChildEnv+"=1", liveBrokerEnv+"="+broker, liveDevicesEnv+"="+list,
		liveCAEnv+"="+ca)
	if line, err := lp.out.ReadString('\n'); err != nil || line != "ready\n" {
		b.Fatalf("the live devices' process: %q %v", line, err)
	}
	return lp
}

// press presses SOS on pendant dev and returns the time of its publish.
func (lp *liveProcess) press(b *testing.B, dev string) time.Time {
	lp.mu.Lock()
	defer lp.mu.Unlock()
	if _, err := fmt.Fprintln(lp.stdin, "press", dev); err != nil {
		b.Error(err)
		return time.Time{}
	}
	line, err := lp.out.ReadString('\n')
	f := strings.Fields(line)
	if err != nil || len(f) != 3 || f[0] != "pressed" {
		b.Errorf("pressing %s: %q %v", dev, line, err)
		return time.Time{}
	}
	at, err := time.Parse(time.RFC3339Nano, f[2])
	if err != nil {
		b.Error(err)
	}
	return at
}

// stop ends the live devices and returns how many of their connections the broker
// closed while they ran.
func (lp *liveProcess) stop(b *testing.B) int64 {
	lp.mu.Lock()
	defer lp.mu.Unlock()
	_ = lp.stdin.Close()
	line, err := lp.out.ReadString('\n')
	n, perr := strconv.ParseInt(strings.TrimSpace(strings.TrimPrefix(line, "lost ")), 10, 64)
	if err != nil || perr != nil {
		b.Errorf("the live devices' process at its end: %q %v", line, err)
	}
	return n
}
