package service

import (
	"carebed/alerting"
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"carebed/gateway/auth"
	"carebed/gateway/brokerauth"
	"carebed/gateway/config"
	"carebed/gateway/protocol"
	"carebed/gateway/provision"
	"carebed/gateway/registry"
	"carebed/gateway/tlsfiles"
	"carebed/internal/devcerts"
	"carebed/internal/devsvc"
)

// secureSite is a gateway behind a broker that demands TLS and provisioned passwords.
type secureSite struct {
	e         *env
	r         *running
	url       string            // ssl://host:port
	passwords map[string]string // device id -> password
	trust     *tls.Config       // trusts the development CA, no client certificate
	certs     devcerts.Files
	// passwd and acl are Mosquitto's files (none with the embedded broker).
	passwd, acl string
}

const gatewayBrokerPassword = "gateway-secret-for-tests"

// newSecureSite registers and provisions devices, then starts either a real
// Mosquitto with the exported passwd and acl files and TLS, or the embedded broker
// with TLS and no password-less devices, and the gateway.
func newSecureSite(t *testing.T, embedded bool, devices []string) *secureSite {
	t.Helper()
	certs, err := devcerts.Generate(filepath.Join(t.TempDir(), "certs"))
	if err != nil {
		t.Fatal(err)
	}
	s := &secureSite{e: newBareEnv(t), certs: certs}
	s.e.register(devices)
	s.passwords = provisionDevices(t, s.e.cfg.Registry.Path)
	if s.trust, err = tlsfiles.Client(certs.CA, "", "", ""); err != nil {
		t.Fatal(err)
	}
	cfg := &s.e.cfg
	cfg.Registry.Refresh = time.Second // revocations reach the embedded broker's open connections
	if embedded {
		cfg.EmbeddedBroker.Addr = "127.0.0.1:0"
		cfg.EmbeddedBroker.TLS.CertFile, cfg.EmbeddedBroker.TLS.KeyFile = certs.Server, certs.ServerKey
	} else {
		s.passwd, s.acl = exportBrokerFiles(t, cfg.Registry.Path)
		s.e.mq = devsvc.StartMosquittoWith(t, devsvc.MosquittoOptions{PasswordFile: s.passwd, ACLFile: s.acl,
			CertFile: certs.Server, KeyFile: certs.ServerKey, CAFile: certs.CA})
		cfg.MQTT.URL = s.e.mq.URL
		cfg.MQTT.Username, cfg.MQTT.Password = "gateway", gatewayBrokerPassword
		cfg.MQTT.ClientID = "" // the username: Mosquitto ties each session to it
		cfg.MQTT.TLS.CAFile = certs.CA
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	s.r = s.e.start()
	s.url = s.e.cfg.MQTT.URL
	if embedded {
		s.url = "ssl://" + s.r.g.BrokerAddr()
	}
	return s
}

// provisionDevices issues every registered device a password, as `gateway devices
// provision` does.
func provisionDevices(t *testing.T, regPath string) map[string]string {
	t.Helper()
	reg := openRegistry(t, regPath)
	issued, err := provision.Devices(context.Background(), reg, provision.Options{Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, i := range issued {
		out[i.Username] = i.Password
	}
	return out
}

// exportBrokerFiles writes Mosquitto's passwd and acl files into a new folder.
func exportBrokerFiles(t *testing.T, regPath string) (passwd, acl string) {
	t.Helper()
	dir := t.TempDir()
	passwd, acl = filepath.Join(dir, "passwd"), filepath.Join(dir, "acl")
	writeBrokerFiles(t, regPath, passwd, acl)
	return passwd, acl
}

// writeBrokerFiles writes Mosquitto's passwd and acl files from the registry, as
// `gateway broker export` does.
func writeBrokerFiles(t *testing.T, regPath, passwd, acl string) {
	t.Helper()
	reg := openRegistry(t, regPath)
	users, err := provision.BrokerUsers(context.Background(), reg, "gateway", gatewayBrokerPassword)
	if err != nil {
		t.Fatal(err)
	}
	for path, write := range map[string]func(*os.File) error{
		passwd: func(f *os.File) error { return brokerauth.WritePasswd(f, users) },
		acl:    func(f *os.File) error { return brokerauth.WriteACL(f, users) },
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
}

// dial connects as user with password over TLS; the error is the broker's answer.
func (s *secureSite) dial(clientID, user, password string, tc *tls.Config) (mqtt.Client, error) {
	c := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(s.url).SetClientID(clientID).
		SetUsername(user).SetPassword(password).SetTLSConfig(tc).SetCleanSession(true).
		SetProtocolVersion(4). // no retry with MQTT 3.1 after a refusal: one attempt, one count
		SetAutoReconnect(false).SetConnectTimeout(5 * time.Second))
	tok := c.Connect()
	if !tok.WaitTimeout(15 * time.Second) {
		return nil, context.DeadlineExceeded
	}
	return c, tok.Error()
}

// stored counts messages the gateway stored.
func (s *secureSite) stored(t *testing.T) float64 {
	return metric(t, s.r.reg, "carebed_ingest_messages_total", map[string]string{"result": "stored"})
}

func TestSecureBrokersAdmitOnlyProvisionedDevicesOnTheirOwnTopics(t *testing.T) {
	for _, b := range []struct {
		name     string
		embedded bool
	}{{"mosquitto", false}, {"embedded", true}} {
		t.Run(b.name, func(t *testing.T) { checkSecureBroker(t, b.embedded) })
	}
}

func checkSecureBroker(t *testing.T, embedded bool) {
	devices := deviceIDs("bed", 2)
	s := newSecureSite(t, embedded, devices)
	own, other := devices[0], devices[1]
	if !embedded { // its broker user comes from the export, with its own ACL
		waitFor(t, 20*time.Second, "the alarm session connected and subscribed", func() (bool, string) {
			n := metric(t, s.r.reg, "carebed_mqtt_alarms_connected", nil)
			return n == 1, fmt.Sprint(n)
		})
	}
	event := func(seq uint64) []byte {
		return protocol.EncodeEvent(protocol.Event{Seq: seq, TS: time.Now().UnixMilli(), Type: protocol.EventBedExit})
	}

	t.Run("registered device publishes", func(t *testing.T) {
		c, err := s.dial(own, own, s.passwords[own], s.trust)
		if err != nil {
			t.Fatalf("provisioned device refused: %v", err)
		}
		defer c.Disconnect(100)
		publish(t, c, protocol.Prefix+own+"/event", event(1))
		waitFor(t, 30*time.Second, "the device's event stored", func() (bool, string) {
			n := s.stored(t)
			return n == 1, fmt.Sprint(n)
		})
	})

	for _, c := range []struct{ name, clientID, user, password string }{
		{"wrong password", own, own, s.passwords[other]},
		{"no password", own, own, ""},
		{"unregistered id", "ghost-0001", "ghost-0001", s.passwords[own]},
		{"another device's name", own, other, s.passwords[own]},
	} {
		t.Run(c.name+" is refused", func(t *testing.T) {
			cl, err := s.dial(c.clientID, c.user, c.password, s.trust)
			if err == nil {
				cl.Disconnect(0)
				t.Fatal("connection accepted")
			}
			t.Logf("refused: %v", err)
		})
	}

	if embedded {
		for reason, want := range map[string]float64{"wrong_password": 2, "unknown_user": 1, "client_id_mismatch": 1} {
			if n := metric(t, s.r.reg, "carebed_broker_refused_total", map[string]string{"reason": reason}); n != want {
				t.Errorf("carebed_broker_refused_total{reason=%q} = %v, want %v", reason, n, want)
			}
		}
	}

	t.Run("broker not trusted without the CA", func(t *testing.T) {
		cl, err := s.dial(own, own, s.passwords[own], &tls.Config{MinVersion: tls.VersionTLS12})
		if err == nil {
			cl.Disconnect(0)
			t.Fatal("connected to a broker whose certificate the client cannot verify")
		}
	})

	t.Run("publishing to another device's topic is refused", func(t *testing.T) {
		before := s.stored(t)
		c, err := s.dial(own, own, s.passwords[own], s.trust)
		if err != nil {
			t.Fatal(err)
		}
		// Mosquitto drops it (MQTT 3.1.1 has no refusal for a publish); the embedded
		// broker drops the connection too. Either way it must never be stored.
		c.Publish(protocol.Prefix+other+"/event", 1, false, event(2)).WaitTimeout(5 * time.Second)
		c.Disconnect(100)
		// A marker from the same device, sent after the forgery was handled: once it
		// is stored, the forgery would have been too.
		c, err = s.dial(own, own, s.passwords[own], s.trust)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Disconnect(100)
		publish(t, c, protocol.Prefix+own+"/event", event(3))
		waitFor(t, 30*time.Second, "the marker stored", func() (bool, string) {
			n := s.stored(t)
			return n >= before+1, fmt.Sprint(n)
		})
		if n := s.stored(t); n != before+1 {
			t.Fatalf("stored %v messages after the forgery and the marker, want %v", n, before+1)
		}
		if n := s.e.influx.Count(t, "SELECT COUNT(seq) FROM event WHERE device = '"+other+"'"); n != 0 {
			t.Fatalf("InfluxDB holds %d events of %s, which never published", n, other)
		}
	})
}

func TestEmbeddedBrokerRefusesRevokedDevice(t *testing.T) {
	devices := deviceIDs("bed", 1)
	s := newSecureSite(t, true, devices)
	d := devices[0]
	c, err := s.dial(d, d, s.passwords[d], s.trust)
	if err != nil {
		t.Fatal(err)
	}
	c.Disconnect(100)
	reg := openRegistry(t, s.e.cfg.Registry.Path)
	if err := provision.Revoke(context.Background(), reg, []string{d}, time.Now()); err != nil {
		t.Fatal(err)
	}
	if c, err := s.dial(d, d, s.passwords[d], s.trust); err == nil {
		c.Disconnect(0)
		t.Fatal("a revoked device connected")
	}
	if n := metric(t, s.r.reg, "carebed_broker_refused_total", map[string]string{"reason": "revoked"}); n != 1 {
		t.Errorf("refused as revoked: %v, want 1", n)
	}
	// Rotating issues a new password that works; the old one stays refused.
	issued, err := provision.Devices(context.Background(), reg, provision.Options{IDs: []string{d}, Rotate: true, Now: time.Now()})
	if err != nil || len(issued) != 1 {
		t.Fatalf("rotate: %v %v", issued, err)
	}
	if c, err := s.dial(d, d, issued[0].Password, s.trust); err != nil {
		t.Fatalf("new password refused: %v", err)
	} else {
		c.Disconnect(100)
	}
	if c, err := s.dial(d, d, s.passwords[d], s.trust); err == nil {
		c.Disconnect(0)
		t.Fatal("the old password still works after rotation")
	}
}

// TestBrokersCloseRevokedAndRotatedConnections: revoking a device (a lost pendant)
// or rotating its password ends its open connection. The embedded broker does it
// within a registry refresh (before, the device stayed connected and publishing until
// it reconnected); Mosquitto when it rereads the exported files.
func TestBrokersCloseRevokedAndRotatedConnections(t *testing.T) {
	for _, b := range []struct {
		name     string
		embedded bool
	}{{"mosquitto", false}, {"embedded", true}} {
		t.Run(b.name, func(t *testing.T) { checkRevokedConnectionsClosed(t, b.embedded) })
	}
}

func checkRevokedConnectionsClosed(t *testing.T, embedded bool) {
	devices := deviceIDs("bed", 3)
	s := newSecureSite(t, embedded, devices)
	clients := map[string]mqtt.Client{}
	for _, d := range devices {
		c, err := s.dial(d, d, s.passwords[d], s.trust)
		if err != nil {
			t.Fatal(err)
		}
		clients[d] = c
		t.Cleanup(func() { c.Disconnect(0) })
	}
	reg := openRegistry(t, s.e.cfg.Registry.Path)
	revoked, rotated, kept := devices[0], devices[1], devices[2]
	if err := provision.Revoke(context.Background(), reg, []string{revoked}, time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := provision.Devices(context.Background(), reg, provision.Options{IDs: []string{rotated}, Rotate: true, Now: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if !embedded { // what the county IT office does: export, then systemctl reload mosquitto
		writeBrokerFiles(t, s.e.cfg.Registry.Path, s.passwd, s.acl)
		if err := s.e.mq.Reload(); err != nil {
			t.Fatal(err)
		}
	}
	open := func() string {
		var on []string
		for _, d := range devices {
			if clients[d].IsConnectionOpen() {
				on = append(on, d)
			}
		}
		return strings.Join(on, " ")
	}
	waitFor(t, 20*time.Second, "the revoked and the rotated device's connections closed", func() (bool, string) {
		return open() == kept, "still open: " + open()
	})
	if !embedded {
		return
	}
	for _, reason := range []string{"revoked", "rotated"} {
		if n := metric(t, s.r.reg, "carebed_broker_disconnected_total", map[string]string{"reason": reason}); n != 1 {
			t.Errorf("connections closed as %s: %v, want 1", reason, n)
		}
	}
}

func TestMosquittoRequiringClientCertificates(t *testing.T) {
	certs, err := devcerts.Generate(filepath.Join(t.TempDir(), "certs"))
	if err != nil {
		t.Fatal(err)
	}
	e := newBareEnv(t)
	e.register(deviceIDs("bed", 1))
	passwords := provisionDevices(t, e.cfg.Registry.Path)
	passwd, acl := exportBrokerFiles(t, e.cfg.Registry.Path)
	e.mq = devsvc.StartMosquittoWith(t, devsvc.MosquittoOptions{PasswordFile: passwd, ACLFile: acl,
		CertFile: certs.Server, KeyFile: certs.ServerKey, CAFile: certs.CA, RequireCertificate: true})
	e.cfg.MQTT.URL = e.mq.URL
	e.cfg.MQTT.Username, e.cfg.MQTT.Password = "gateway", gatewayBrokerPassword
	e.cfg.MQTT.ClientID = "" // the username
	e.cfg.MQTT.TLS = config.ClientTLS{CAFile: certs.CA, CertFile: certs.Client, KeyFile: certs.ClientKey}
	r := e.start() // the gateway connects with its client certificate
	if !r.g.Readiness().Ready {
		t.Fatal("gateway not ready")
	}
	s := &secureSite{e: e, r: r, url: e.mq.URL}
	for name, tc := range map[string]func() (*tls.Config, error){
		"no client certificate":     func() (*tls.Config, error) { return tlsfiles.Client(certs.CA, "", "", "") },
		"certificate of another CA": func() (*tls.Config, error) { return tlsfiles.Client(certs.CA, certs.Stranger, certs.StrangerKey, "") },
	} {
		t.Run(name, func(t *testing.T) {
			c, err := tc()
			if err != nil {
				t.Fatal(err)
			}
			if cl, err := s.dial("bed-0001", "bed-0001", passwords["bed-0001"], c); err == nil {
				cl.Disconnect(0)
				t.Fatal("connected")
			}
		})
	}
}

// TestEmbeddedBrokerResponderApp: a responder app logs in to the embedded broker with
// its provisioned password, acknowledges over its own topic, and may not write a
// device's topic or another responder's.
func TestEmbeddedBrokerResponderApp(t *testing.T) {
	devices := []string{"bed-0001"}
	s := newSecureSite(t, true, devices)
	reg := openRegistry(t, s.e.cfg.Registry.Path)
	issued, err := provision.Responders(context.Background(), reg, provision.Options{Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	var visitor provision.Issued // the ledger's visitor phone (register: 13800000001)
	for _, i := range issued {
		if i.Phone == "+8613800000001" {
			visitor = i
		}
	}
	if visitor.Username == "" {
		t.Fatalf("no responder credential for the visitor: %+v", issued)
	}
	dev, err := s.dial("bed-0001", "bed-0001", s.passwords["bed-0001"], s.trust)
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Disconnect(100)
	publish(t, dev, protocol.Prefix+"bed-0001/event",
		protocol.EncodeEvent(protocol.Event{Seq: 1, TS: time.Now().UnixMilli(), Type: protocol.EventSOS}))
	var code string
	waitFor(t, 20*time.Second, "the SOS paged", func() (bool, string) {
		all, err := s.r.g.alerts.List(context.Background(), alerting.Filter{})
		if err != nil || len(all) != 1 || all[0].State != "notified" {
			return false, fmt.Sprint(all, err)
		}
		code = all[0].Code
		return true, ""
	})

	if c, err := s.dial(visitor.Username, visitor.Username, "wrong", s.trust); err == nil {
		c.Disconnect(0)
		t.Fatal("a responder with a wrong password connected")
	}
	app, err := s.dial(visitor.Username, visitor.Username, visitor.Password, s.trust)
	if err != nil {
		t.Fatalf("responder refused: %v", err)
	}
	defer app.Disconnect(100)
	publish(t, app, "carebed/v1/responders/"+visitor.Username+"/ack", []byte(`{"v":1,"alert":"`+code+`","action":"ack"}`))
	waitFor(t, 10*time.Second, "acknowledged by the visitor's app", func() (bool, string) {
		all, err := s.r.g.alerts.List(context.Background(), alerting.Filter{})
		return err == nil && len(all) == 1 && all[0].State == "acknowledged" && all[0].AckChannel == "mqtt", fmt.Sprint(all)
	})
	before := s.stored(t)
	// Writing a device's topic is refused: the broker drops the connection and
	// nothing is stored.
	app.Publish(protocol.Prefix+"bed-0001/event", 1, false,
		protocol.EncodeEvent(protocol.Event{Seq: 2, TS: time.Now().UnixMilli(), Type: protocol.EventSOS})).WaitTimeout(5 * time.Second)
	waitFor(t, 10*time.Second, "the app disconnected", func() (bool, string) { return !app.IsConnectionOpen(), "" })
	if n := s.stored(t); n != before {
		t.Errorf("stored %v messages after a responder wrote a device topic, want %v", n, before)
	}
}

// TestHTTPSServesTheConsoleWithSecureCookies: with http.tls the API and console are
// HTTPS only, and the session cookie is marked Secure.
func TestHTTPSServesTheConsoleWithSecureCookies(t *testing.T) {
	certs, err := devcerts.Generate(filepath.Join(t.TempDir(), "certs"))
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, true)
	e.cfg.HTTP.TLS = config.ServerTLS{CertFile: certs.Server, KeyFile: certs.ServerKey}
	e.addUser(registry.User{Name: "duty-1", Display: "值班", Role: auth.RoleCountyAdmin, County: "和静县"}, "duty password 1")
	r := e.start()
	trust, err := tlsfiles.Client(certs.CA, "", "", "")
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: trust}}
	resp, err := client.Post("https://"+r.g.HTTPAddr()+"/api/v1/login", "application/json",
		strings.NewReader(`{"name":"duty-1","password":"duty password 1"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var session *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == auth.CookieName {
			session = c
		}
	}
	if resp.StatusCode != 200 || session == nil || !session.Secure {
		t.Fatalf("sign-in over HTTPS: %d, cookie %+v: want a Secure session cookie", resp.StatusCode, session)
	}
	if resp, err := http.Get("http://" + r.g.HTTPAddr() + "/console/login"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == 200 {
			t.Error("the console answered plain HTTP")
		}
	}
}
