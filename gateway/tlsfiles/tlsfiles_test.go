package tlsfiles

import (
	"crypto/tls"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"carebed/internal/devcerts"
)

func TestConfigs(t *testing.T) {
	f, err := devcerts.Generate(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	notPEM := filepath.Join(t.TempDir(), "not.pem")
	os.WriteFile(notPEM, []byte("hello"), 0o600) //nolint:errcheck // checked by the cases below

	c, err := Client(f.CA, f.Client, f.ClientKey, "mosquitto")
	if err != nil || c.RootCAs == nil || len(c.Certificates) != 1 || c.ServerName != "mosquitto" || c.MinVersion != tls.VersionTLS12 {
		t.Errorf("client config %+v, %v", c, err)
	}
	s, err := Server(f.Server, f.ServerKey, f.CA)
	if err != nil || s.ClientAuth != tls.RequireAndVerifyClientCert || len(s.Certificates) != 1 {
		t.Errorf("server config with client CA: %+v, %v", s, err)
	}
	if s, err := Server(f.Server, f.ServerKey, ""); err != nil || s.ClientAuth != tls.NoClientCert {
		t.Errorf("server config without client CA: %v", err)
	}
	bad := []struct {
		name string
		err  func() error
		want string
	}{
		{"missing CA", func() error { _, err := Client("/nonexistent/ca.crt", "", "", ""); return err }, "no such file"},
		{"CA not PEM", func() error { _, err := Client(notPEM, "", "", ""); return err }, "no PEM certificate"},
		{"key of another cert", func() error { _, err := Server(f.Server, f.ClientKey, ""); return err }, "server certificate"},
		{"client cert without key", func() error { _, err := Client(f.CA, f.Client, "", ""); return err }, "client certificate"},
	}
	for _, b := range bad {
		if err := b.err(); err == nil || !strings.Contains(err.Error(), b.want) {
			t.Errorf("%s: %v, want an error with %q", b.name, err, b.want)
		}
	}
}
