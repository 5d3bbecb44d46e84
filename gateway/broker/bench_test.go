package broker

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/eclipse/paho.mqtt.golang/packets"
	"github.com/prometheus/client_golang/prometheus"

	"carebed/gateway/credential"
	"carebed/gateway/ingest"
	"carebed/gateway/protocol"
	"carebed/gateway/registry"
	"carebed/gateway/tlsfiles"
	"carebed/internal/devcerts"
)

// BenchmarkConnectionMemory measures what one device connection costs the embedded
// broker's process, the figure that decides its memory at 100,000 devices:
// CAREBED_BROKERMEM_CONNS devices (default 2,000) connect as firmware does (CONNECT
// with a password and a Last Will, SUBSCRIBE to their cmd topic, then a QoS 1
// reading, acknowledged), and stay connected. Reported per connection: Go heap in use
// and goroutine stacks after four collections (a collection halves an idle
// goroutine's stack at most once), against before the first connected, and the
// goroutines. The devices are a process of their own (this test binary again, as
// TestDevicesProcess), so the figures are the broker's alone. CAREBED_BROKERMEM_TLS=1
// connects over TLS (a P-256 certificate) as Go's client does (TLS 1.3 with its
// post-quantum key share, a 1.4 KB ClientHello whose buffers the server keeps), "x25519"
// as device firmware does (TLS 1.3, X25519 only), "1.2" with TLS 1.2; CAREBED_BROKERMEM_PROFILE=path
// writes a heap profile and the goroutines' stacks with all connected.
func BenchmarkConnectionMemory(b *testing.B) {
	n := envCount(b, "CAREBED_BROKERMEM_CONNS", 2000)
	raiseOpenFiles(b, uint64(2*n+256))
	for range b.N {
		heap, stack, goroutines := connectionMemory(b, n)
		b.ReportMetric(heap/float64(n), "heap_B/conn")
		b.ReportMetric(stack/float64(n), "stack_B/conn")
		b.ReportMetric(goroutines/float64(n), "goroutines/conn")
	}
}

// connectionMemory connects n devices to a fresh broker and returns the heap, stack
// and goroutines they added.
func connectionMemory(b *testing.B, n int) (heap, stack, goroutines float64) {
	devs, creds := benchDevices(n)
	srvTLS, certs := serverTLS(b)
	if os.Getenv("CAREBED_BROKERMEM_TLS") == "" {
		srvTLS = nil
	}
	br := serveBench(b, Options{TLS: srvTLS, Devices: devs, Credentials: creds})
	defer br.Close()
	before, g0 := settledMemory()
	devices := exec.Command(os.Args[0], "-test.run=^TestDevicesProcess$", "-test.count=1")
	devices.Env = append(os.Environ(), "CAREBED_DEVICES_PROCESS="+br.Addr().String(),
		fmt.Sprintf("CAREBED_DEVICES_COUNT=%d", n), "CAREBED_DEVICES_CA="+certs.CA)
	stdin, err := devices.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	out, err := devices.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	devices.Stderr = os.Stderr
	if err := devices.Start(); err != nil {
		b.Fatal(err)
	}
	defer devices.Wait() //nolint:errcheck // it ends when its stdin closes
	defer stdin.Close()
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || line != "connected\n" {
		b.Fatalf("the devices' process: %q, %v", line, err)
	}
	after, g1 := settledMemory()
	if f := os.Getenv("CAREBED_BROKERMEM_PROFILE"); f != "" {
		writeProfiles(b, f)
	}
	return float64(after.HeapInuse) - float64(before.HeapInuse), float64(after.StackInuse) - float64(before.StackInuse),
		float64(g1 - g0)
}

// writeProfiles writes the heap profile to path and the goroutines' stacks to
// path.goroutines, for a look at what a connection holds.
func writeProfiles(b *testing.B, path string) {
	for name, file := range map[string]string{"heap": path, "goroutine": path + ".goroutines"} {
		w, err := os.Create(file)
		if err != nil {
			b.Fatal(err)
		}
		debug := 0
		if name == "goroutine" {
			debug = 2
		}
		err = pprof.Lookup(name).WriteTo(w, debug)
		if cerr := w.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			b.Fatal(err)
		}
	}
}

// TestDevicesProcess is BenchmarkConnectionMemory's devices, in a process of their
// own: it connects CAREBED_DEVICES_COUNT devices to CAREBED_DEVICES_PROCESS (over
// TLS, trusting CAREBED_DEVICES_CA, when CAREBED_BROKERMEM_TLS is set), prints
// "connected" and holds them until its standard input closes. Without the variables
// it is skipped: it is not a test.
func TestDevicesProcess(t *testing.T) {
	addr := os.Getenv("CAREBED_DEVICES_PROCESS")
	if addr == "" {
		t.Skip("BenchmarkConnectionMemory's devices; run only by it")
	}
	n, err := strconv.Atoi(os.Getenv("CAREBED_DEVICES_COUNT"))
	if err != nil {
		t.Fatal(err)
	}
	dial := func(addr string) (net.Conn, error) { return net.DialTimeout("tcp", addr, 10*time.Second) }
	if os.Getenv("CAREBED_BROKERMEM_TLS") != "" {
		client, err := tlsfiles.Client(os.Getenv("CAREBED_DEVICES_CA"), "", "", "127.0.0.1")
		if err != nil {
			t.Fatal(err)
		}
		switch os.Getenv("CAREBED_BROKERMEM_TLS") {
		case "x25519": // TLS 1.3 as a device's mbedTLS offers it: no post-quantum key share
			client.CurvePreferences = []tls.CurveID{tls.X25519}
		case "1.2":
			client.MaxVersion = tls.VersionTLS12
		}
		dial = func(addr string) (net.Conn, error) {
			return tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", addr, client)
		}
	}
	conns := make([]net.Conn, 0, n)
	for i := range n {
		c, err := connectDeviceWith(dial, addr, fmt.Sprintf("bed-%06d", i), "pw")
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	fmt.Println("connected")
	io.Copy(io.Discard, os.Stdin) //nolint:errcheck // until the benchmark closes it
	for _, c := range conns {
		c.Close()
	}
}

// settledMemory collects four times and returns the memory statistics and the
// number of goroutines.
func settledMemory() (runtime.MemStats, int) {
	for range 4 {
		runtime.GC()
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms, runtime.NumGoroutine()
}

// connectDevice connects as a device's firmware does and sends one reading; it returns
// once the reading is acknowledged.
func connectDevice(addr, device, password string) (net.Conn, error) {
	return connectDeviceWith(func(addr string) (net.Conn, error) { return net.DialTimeout("tcp", addr, 10*time.Second) },
		addr, device, password)
}

// connectDeviceWith is connectDevice over the connection dial makes.
func connectDeviceWith(dial func(string) (net.Conn, error), addr, device, password string) (net.Conn, error) {
	nc, err := dial(addr)
	if err != nil {
		return nil, err
	}
	nc.SetDeadline(time.Now().Add(10 * time.Second)) //nolint:errcheck // a failed deadline shows as a read error
	cp := packets.NewControlPacket(packets.Connect).(*packets.ConnectPacket)
	cp.ProtocolName, cp.ProtocolVersion, cp.Keepalive = "MQTT", 4, 60
	cp.ClientIdentifier, cp.UsernameFlag, cp.Username = device, true, device
	cp.PasswordFlag, cp.Password = true, []byte(password)
	cp.WillFlag, cp.WillQos, cp.WillRetain = true, 1, true
	cp.WillTopic = protocol.DeviceTopic(device, protocol.KindStatus)
	cp.WillMessage = protocol.EncodeStatus(protocol.Status{Online: false})
	sp := packets.NewControlPacket(packets.Subscribe).(*packets.SubscribePacket)
	sp.MessageID, sp.Topics, sp.Qoss = 1, []string{protocol.DeviceTopic(device, protocol.KindCmd)}, []byte{1}
	pp := packets.NewControlPacket(packets.Publish).(*packets.PublishPacket)
	pp.MessageID, pp.Qos, pp.TopicName = 2, 1, protocol.DeviceTopic(device, protocol.KindTelemetry)
	pp.Payload = protocol.EncodeReading(protocol.Reading{Seq: 1})
	r := bufio.NewReaderSize(nc, 64)
	for _, step := range []struct {
		out  packets.ControlPacket
		want func(packets.ControlPacket) bool
	}{
		{cp, func(p packets.ControlPacket) bool {
			ack, ok := p.(*packets.ConnackPacket)
			return ok && ack.ReturnCode == packets.Accepted
		}},
		{sp, func(p packets.ControlPacket) bool { _, ok := p.(*packets.SubackPacket); return ok }},
		{pp, func(p packets.ControlPacket) bool { _, ok := p.(*packets.PubackPacket); return ok }},
	} {
		if err := step.out.Write(nc); err != nil {
			nc.Close()
			return nil, err
		}
		p, err := packets.ReadPacket(r)
		if err != nil || !step.want(p) {
			nc.Close()
			return nil, fmt.Errorf("%s: after %s got %v (%v)", device, step.out, p, err)
		}
	}
	nc.SetDeadline(time.Time{}) //nolint:errcheck // as above
	return nc, nil
}

// benchDevices is a county of n devices, bed-000000 and up, each with the password
// "pw" (one hash for all: what a device costs, not its PBKDF2).
func benchDevices(n int) (fakeDevices, fakeCreds) {
	devs, creds := fakeDevices{}, fakeCreds{}
	hash := credential.Hash("pw")
	for i := range n {
		id := fmt.Sprintf("bed-%06d", i)
		devs[id] = true
		creds[id] = registry.Credential{Principal: id, Kind: registry.PrincipalDevice, Hash: hash, Issued: time.Now()}
	}
	return devs, creds
}

// serveBench starts a broker for a benchmark: o with an ingest that takes every
// message, no log, its own metrics registry and a loopback port unless o says
// otherwise. The caller closes it.
func serveBench(b *testing.B, o Options) *Broker {
	b.Helper()
	o.Ingest, o.Logger = countIngest{}, slog.New(slog.DiscardHandler)
	if o.Registerer == nil {
		o.Registerer = prometheus.NewRegistry()
	}
	if o.Listener == nil {
		o.Addr = "127.0.0.1:0"
	}
	br, err := New(o)
	if err != nil {
		b.Fatal(err)
	}
	if err := br.Serve(); err != nil {
		b.Fatal(err)
	}
	return br
}

// countIngest takes every message at once.
type countIngest struct{}

func (countIngest) Handle(context.Context, []ingest.Message) error { return nil }

// envCount is the positive count in the environment variable name, else def.
func envCount(b *testing.B, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		b.Fatalf("%s=%q: want a positive count", name, v)
	}
	return n
}

// raiseOpenFiles raises the soft open-file limit to want, or fails saying so.
func raiseOpenFiles(b *testing.B, want uint64) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		b.Fatal(err)
	}
	if lim.Max < want {
		b.Fatalf("open-file hard limit %d, this run needs %d: fewer CAREBED_BROKERMEM_CONNS", lim.Max, want)
	}
	if lim.Cur < want {
		lim.Cur = want
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRecheck measures the check the gateway makes of every connection at each
// registry refresh (every registry.refresh, 30 s by default): CAREBED_RECHECK_CONNS
// devices (default 5,000) connected, their credentials in a SQLite registry.
func BenchmarkRecheck(b *testing.B) {
	n := envCount(b, "CAREBED_RECHECK_CONNS", 5000)
	raiseOpenFiles(b, uint64(2*n+256))
	reg, err := registry.Open(filepath.Join(b.TempDir(), "registry.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer reg.Close()
	devs, creds := benchDevices(n)
	for _, c := range creds {
		if err := reg.SetCredential(context.Background(), c); err != nil {
			b.Fatal(err)
		}
	}
	dropped := prometheus.NewRegistry()
	br := serveBench(b, Options{Devices: devs, Credentials: reg, Registerer: dropped})
	defer br.Close()
	for i := range n {
		c, err := connectDevice(br.Addr().String(), fmt.Sprintf("bed-%06d", i), "pw")
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
	}
	for b.Loop() {
		if err := br.Recheck(); err != nil {
			b.Fatal(err)
		}
	}
	if got := br.Connections(); got < n {
		b.Fatalf("%d clients left of %d: the recheck closed some", got, n)
	}
}

// BenchmarkPipeConnections holds CAREBED_PIPE_CONNS device connections (default
// 100,000) to one broker over in-memory pipes (net.Pipe), which need no file
// descriptors: the 100,000 connections, which no machine with an open-file
// limit of 20,000 can open over TCP, in the broker's Go memory at least. Each
// device connects as firmware does (connectDevice: CONNECT with password and Last
// Will, SUBSCRIBE, a QoS 1 reading acknowledged) and stays. Reported: the time to
// connect them all, heap and stacks a connection after four collections (both ends
// of a pipe are in the process: about 0.4 KB of the heap figure is the device's,
// and TCP's descriptor and poller state, about 0.5 KB, is not there), the process's
// RSS, and what the gateway does at 100,000 sessions: a command to one device (the
// route), and the recheck of every connection at a registry refresh.
func BenchmarkPipeConnections(b *testing.B) {
	n := envCount(b, "CAREBED_PIPE_CONNS", 100_000)
	for range b.N {
		devs, creds := benchDevices(n)
		pl := &pipeListener{conns: make(chan net.Conn), done: make(chan struct{})}
		br := serveBench(b, Options{Listener: pl, Devices: devs, Credentials: creds,
			Limits: Limits{MaxConnectionsPerAddress: n}}) // every pipe's address is "pipe"
		dial := func(string) (net.Conn, error) {
			a, s := net.Pipe()
			pl.conns <- s
			return a, nil
		}
		before, g0 := settledMemory()
		start := time.Now()
		conns := make([]net.Conn, 0, n)
		for i := range n {
			c, err := connectDeviceWith(dial, "pipe", fmt.Sprintf("bed-%06d", i), "pw")
			if err != nil {
				b.Fatal(err)
			}
			conns = append(conns, c)
		}
		connected := time.Since(start)
		after, g1 := settledMemory()
		route := timeRoute(b, br, conns[n/2], fmt.Sprintf("bed-%06d", n/2))
		start = time.Now()
		if err := br.Recheck(); err != nil {
			b.Fatal(err)
		}
		recheck := time.Since(start)
		b.ReportMetric(connected.Seconds(), "connect_all_s")
		b.ReportMetric((float64(after.HeapInuse)-float64(before.HeapInuse))/float64(n), "heap_B/conn")
		b.ReportMetric((float64(after.StackInuse)-float64(before.StackInuse))/float64(n), "stack_B/conn")
		b.ReportMetric(float64(g1-g0)/float64(n), "goroutines/conn")
		b.ReportMetric(float64(vmRSS(b))/(1<<20), "rss_MiB")
		b.ReportMetric(float64(route.Microseconds()), "command_us")
		b.ReportMetric(float64(recheck.Milliseconds()), "recheck_ms")
		if got := br.Connections(); got != n {
			b.Fatalf("%d connected of %d after the recheck", got, n)
		}
		b.Logf("%d connections over pipes in %v; heap %d MiB, stacks %d MiB, RSS %d MiB", n, connected,
			(after.HeapInuse-before.HeapInuse)>>20, (after.StackInuse-before.StackInuse)>>20, vmRSS(b)>>20)
		br.Close()
		for _, c := range conns {
			c.Close()
		}
	}
}

// timeRoute publishes a command to device, whose connection c reads it, and returns
// how long the publish took.
func timeRoute(b *testing.B, br *Broker, c net.Conn, device string) time.Duration {
	got := make(chan error, 1)
	go func() {
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, err := packets.ReadPacket(bufio.NewReader(c))
		got <- err
	}()
	start := time.Now()
	if err := br.Publish(protocol.DeviceTopic(device, protocol.KindCmd), []byte(`{"v":1}`), 1); err != nil {
		b.Fatal(err)
	}
	took := time.Since(start)
	if err := <-got; err != nil {
		b.Fatalf("the command did not reach %s: %v", device, err)
	}
	return took
}

// vmRSS is the process's resident set, from /proc/self/status.
func vmRSS(b *testing.B) uint64 {
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if f := strings.Fields(line); len(f) == 3 && f[0] == "VmRSS:" {
			kb, err := strconv.ParseUint(f[1], 10, 64)
			if err != nil {
				b.Fatal(err)
			}
			return kb << 10
		}
	}
	b.Fatal("no VmRSS in /proc/self/status")
	return 0
}

// BenchmarkPublishRoundTrip is one device's QoS 1 reading, from its write to the
// PUBACK read, over plain TCP and over TLS (P-256, TLS 1.3): what a packet costs
// the broker's reader (both ends are in this process, so the figure is the round
// trip's, CPU and wake-ups of both).
func BenchmarkPublishRoundTrip(b *testing.B) {
	for _, transport := range []string{"tcp", "tls"} {
		b.Run(transport, func(b *testing.B) {
			var srvTLS *tls.Config
			dial := func(addr string) (net.Conn, error) { return net.DialTimeout("tcp", addr, 10*time.Second) }
			if transport == "tls" {
				var certs devcerts.Files
				srvTLS, certs = serverTLS(b)
				client, err := tlsfiles.Client(certs.CA, "", "", "127.0.0.1")
				if err != nil {
					b.Fatal(err)
				}
				dial = func(addr string) (net.Conn, error) {
					return tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", addr, client)
				}
			}
			devs, creds := benchDevices(1)
			const dev = "bed-000000"
			br := serveBench(b, Options{TLS: srvTLS, Devices: devs, Credentials: creds})
			defer br.Close()
			nc, err := connectDeviceWith(dial, br.Addr().String(), dev, "pw")
			if err != nil {
				b.Fatal(err)
			}
			defer nc.Close()
			pp := packets.NewControlPacket(packets.Publish).(*packets.PublishPacket)
			pp.Qos, pp.TopicName = 1, protocol.DeviceTopic(dev, protocol.KindTelemetry)
			pp.Payload = protocol.EncodeReading(protocol.Reading{Seq: 1})
			r := bufio.NewReader(nc)
			b.ResetTimer()
			for i := range b.N {
				pp.MessageID = uint16(i%65535 + 1)
				if err := pp.Write(nc); err != nil {
					b.Fatal(err)
				}
				if p, err := packets.ReadPacket(r); err != nil {
					b.Fatal(err)
				} else if _, ok := p.(*packets.PubackPacket); !ok {
					b.Fatalf("got %v", p)
				}
			}
		})
	}
}
