package devcerts

import (
	"crypto/tls"
	"crypto/x509"
	"os"
	"testing"
)

func TestGenerateChains(t *testing.T) {
	f, err := Generate(t.TempDir(), "mosquitto")
	if err != nil {
		t.Fatal(err)
	}
	pem, _ := os.ReadFile(f.CA)
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pem)
	cases := []struct {
		cert, key, host string
		usage           x509.ExtKeyUsage
		ok              bool
	}{
		{f.Server, f.ServerKey, "127.0.0.1", x509.ExtKeyUsageServerAuth, true},
		{f.Server, f.ServerKey, "mosquitto", x509.ExtKeyUsageServerAuth, true},
		{f.Server, f.ServerKey, "example.org", x509.ExtKeyUsageServerAuth, false},
		{f.Client, f.ClientKey, "", x509.ExtKeyUsageClientAuth, true},
		{f.Stranger, f.StrangerKey, "", x509.ExtKeyUsageClientAuth, false},
	}
	for _, c := range cases {
		pair, err := tls.LoadX509KeyPair(c.cert, c.key)
		if err != nil {
			t.Fatal(err)
		}
		leaf, _ := x509.ParseCertificate(pair.Certificate[0])
		_, err = leaf.Verify(x509.VerifyOptions{Roots: roots, DNSName: c.host, KeyUsages: []x509.ExtKeyUsage{c.usage}})
		if (err == nil) != c.ok {
			t.Errorf("%s for %q: verify error %v, want ok=%v", c.cert, c.host, err, c.ok)
		}
	}
	if fi, _ := os.Stat(f.ServerKey); fi.Mode().Perm() != 0o600 {
		t.Errorf("key mode %v", fi.Mode().Perm())
	}
}
