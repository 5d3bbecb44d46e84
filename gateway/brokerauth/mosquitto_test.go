package brokerauth

import (
	"bufio"
	"carebed/internal/rawmqtt"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"carebed/gateway/credential"
	"carebed/gateway/protocol"
	"carebed/internal/devsvc"
)

// startSecureMosquitto starts a real Mosquitto with the passwd and acl files this
// package exports for a device "bed-0001" and the gateway, both with password "pw".
func startSecureMosquitto(t *testing.T) *devsvc.Mosquitto {
	t.Helper()
	h := credential.Hash("pw")
	ps := []Principal{{Kind: Device, ID: "bed-0001", Hash: h}, {Kind: Gateway, ID: "carebed-gateway", Hash: h}}
	dir := t.TempDir()
	passwd, acl := filepath.Join(dir, "passwd"), filepath.Join(dir, "acl")
	for path, write := range map[string]func(*os.File) error{
		passwd: func(f *os.File) error { return WritePasswd(f, ps) },
		acl:    func(f *os.File) error { return WriteACL(f, ps) },
	} {
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := write(f); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	return devsvc.StartMosquittoWith(t, devsvc.MosquittoOptions{PasswordFile: passwd, ACLFile: acl})
}

// rssKiB reads VmRSS of pid from /proc.
func rssKiB(t *testing.T, pid int) int {
	t.Helper()
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			n, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")))
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatal("no VmRSS in /proc/pid/status")
	return 0
}

// TestMosquittoRefusesOversizePackets: Mosquitto with the exported files closes a
// connection whose CONNECT declares 200 MB as soon as it reads the length (six of
// them leave its memory as it was), and a device's PUBLISH over MaxPacketSize ends
// the device's connection, while a full 64 KiB batch goes through.
func TestMosquittoRefusesOversizePackets(t *testing.T) {
	m := startSecureMosquitto(t)
	before := rssKiB(t, m.Pid())
	const declared, body = 200 << 20, 32 << 20
	chunk := make([]byte, 64<<10)
	for i := range 6 {
		c, err := net.DialTimeout("tcp", m.Addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetWriteDeadline(time.Now().Add(20 * time.Second))
		sent := 0
		if _, err = c.Write(append([]byte{0x10}, rawmqtt.RemainingLength(declared)...)); err == nil {
			for sent < body {
				n, err := c.Write(chunk)
				sent += n
				if err != nil {
					break
				}
			}
		}
		if !rawmqtt.ClosedWithin(c, 5*time.Second) {
			t.Errorf("connection %d still open after it declared a %d-byte CONNECT and sent %d bytes of it", i, declared, sent)
		}
	}
	after := rssKiB(t, m.Pid())
	t.Logf("Mosquitto's RSS: %d kB before, %d kB after six oversize CONNECTs", before, after)
	if after-before > 16<<10 {
		t.Errorf("Mosquitto's RSS grew from %d kB to %d kB", before, after)
	}

	lost := make(chan error, 1)
	dev := paho.NewClient(paho.NewClientOptions().AddBroker(m.URL).SetClientID("bed-0001").
		SetUsername("bed-0001").SetPassword("pw").SetProtocolVersion(4).SetAutoReconnect(false).
		SetConnectionLostHandler(func(_ paho.Client, err error) { lost <- err }))
	if tok := dev.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("the device did not connect: %v", tok.Error())
	}
	defer dev.Disconnect(0)
	topic := protocol.DeviceTopic("bed-0001", protocol.KindTelemetry)
	full := make([]byte, protocol.MaxBatchSize)
	if tok := dev.Publish(topic, 1, false, full); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("a %d-byte payload: %v", len(full), tok.Error())
	}
	dev.Publish(topic, 1, false, make([]byte, MaxPacketSize))
	select {
	case err := <-lost:
		t.Logf("the device was disconnected: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("the device is still connected after a packet over max_packet_size")
	}
}

// TestShippedMosquittoConfigs: every Mosquitto configuration the project ships ties
// client ids to usernames and limits the packet size to MaxPacketSize.
func TestShippedMosquittoConfigs(t *testing.T) {
	m := startSecureMosquitto(t) // deploy/dev/run-mosquitto with the exported files
	for _, path := range []string{"../../deploy/mosquitto/carebed.conf", "../../deploy/compose/mosquitto.conf",
		filepath.Join(m.Dir, "mosquitto.conf")} {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		lines := map[string]bool{}
		for _, l := range strings.Split(string(b), "\n") {
			lines[strings.TrimSpace(l)] = true
		}
		for _, want := range []string{"use_username_as_clientid true", fmt.Sprintf("max_packet_size %d", MaxPacketSize),
			"allow_anonymous false"} {
			if !lines[want] {
				t.Errorf("%s lacks the line %q", path, want)
			}
		}
	}
}
