// Package devcerts makes a local certificate authority and the certificates signed by
// it that development and tests use for TLS: a server certificate for 127.0.0.1 and
// localhost (Mosquitto, the embedded broker, the HTTP listener) and client
// certificates (the gateway, a device). `make certs` writes them with
// internal/devcerts/cmd/devcerts; tests call Generate into their own folder.
//
// Keys are ECDSA P-256. Nothing here is for production: a county server gets its
// certificates from the county's own CA or a public one (docs/install.md).
package devcerts

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// Files names what Generate writes into its folder.
type Files struct {
	Dir                   string
	CA, CAKey             string // ca.crt, ca.key
	Server, ServerKey     string // server.crt, server.key: CN and SANs 127.0.0.1, ::1, localhost
	Client, ClientKey     string // client.crt, client.key: CN "carebed-gateway"
	Stranger, StrangerKey string // stranger.crt, stranger.key: signed by another CA, for refusal tests
}

// validity of every certificate made here.
const validity = 2 * 365 * 24 * time.Hour

// Generate writes a new CA and its server and client certificates into dir (created
// 0700; keys 0600), and a client certificate from an unrelated CA. The server
// certificate is for 127.0.0.1, ::1, localhost and the given host names (e.g.
// "mosquitto" in the compose network).
func Generate(dir string, hosts ...string) (Files, error) {
	f := Files{Dir: dir}
	for name, p := range map[string]*string{"ca.crt": &f.CA, "ca.key": &f.CAKey, "server.crt": &f.Server,
		"server.key": &f.ServerKey, "client.crt": &f.Client, "client.key": &f.ClientKey,
		"stranger.crt": &f.Stranger, "stranger.key": &f.StrangerKey} {
		*p = filepath.Join(dir, name)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return f, fmt.Errorf("devcerts: %w", err)
	}
	ca, caKey, err := newCA("carebed development CA")
	if err != nil {
		return f, err
	}
	other, otherKey, err := newCA("some other CA")
	if err != nil {
		return f, err
	}
	steps := []struct {
		cert, key string
		tmpl      *x509.Certificate
		parent    *x509.Certificate
		parentKey *ecdsa.PrivateKey
	}{
		{f.Server, f.ServerKey, leaf("127.0.0.1", x509.ExtKeyUsageServerAuth, hosts...), ca, caKey},
		{f.Client, f.ClientKey, leaf("carebed-gateway", x509.ExtKeyUsageClientAuth), ca, caKey},
		{f.Stranger, f.StrangerKey, leaf("stranger", x509.ExtKeyUsageClientAuth), other, otherKey},
	}
	if err := write(f.CA, f.CAKey, ca, caKey); err != nil {
		return f, err
	}
	for _, s := range steps {
		cert, key, err := sign(s.tmpl, s.parent, s.parentKey)
		if err != nil {
			return f, err
		}
		if err := write(s.cert, s.key, cert, key); err != nil {
			return f, err
		}
	}
	return f, nil
}

func newCA(name string) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	tmpl := template(name)
	tmpl.IsCA, tmpl.BasicConstraintsValid = true, true
	tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign
	return sign(tmpl, nil, nil)
}

func leaf(cn string, usage x509.ExtKeyUsage, hosts ...string) *x509.Certificate {
	t := template(cn)
	t.KeyUsage = x509.KeyUsageDigitalSignature
	t.ExtKeyUsage = []x509.ExtKeyUsage{usage}
	if usage == x509.ExtKeyUsageServerAuth {
		t.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}
		t.DNSNames = append([]string{"localhost"}, hosts...)
	}
	return t
}

func template(cn string) *x509.Certificate {
	serial, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 126))
	now := time.Now()
	return &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: cn, Organization: []string{"carebed dev"}},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(validity)}
}

// sign makes a key for tmpl and signs it with parentKey (itself when parent is nil).
func sign(tmpl, parent *x509.Certificate, parentKey *ecdsa.PrivateKey) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("devcerts: %w", err)
	}
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		return nil, nil, fmt.Errorf("devcerts: %s: %w", tmpl.Subject.CommonName, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, fmt.Errorf("devcerts: %w", err)
	}
	return cert, key, nil
}

func write(certFile, keyFile string, cert *x509.Certificate, key *ecdsa.PrivateKey) error {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return fmt.Errorf("devcerts: %w", err)
	}
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}), 0o644); err != nil {
		return fmt.Errorf("devcerts: %w", err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		return fmt.Errorf("devcerts: %w", err)
	}
	return nil
}
