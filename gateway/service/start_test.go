package service

import (
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"carebed/gateway/config"
)

// TestFailedStartReportsItsReason holds the HTTP port, starts a gateway on it and
// expects the step's error, not a panic; a second start in the same data folder on a
// free port then works, so the failed start released what it had opened.
func TestFailedStartReportsItsReason(t *testing.T) {
	held, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	cfg := config.Default()
	cfg.DataDir = filepath.Join(t.TempDir(), "data")
	cfg.Registry.Path = filepath.Join(cfg.DataDir, "registry.db")
	cfg.MQTT.URL = "tcp://127.0.0.1:1" // never dialled: New does not connect
	cfg.HTTP.Addr = held.Addr().String()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	g, err := New(cfg, Options{Logger: slog.New(slog.NewTextHandler(testWriter{t}, nil)), Registry: prometheus.NewRegistry()})
	if err == nil {
		g.Close()
		t.Fatal("New on a taken port: no error")
	}
	if g != nil {
		t.Errorf("New returned a gateway with its error %v", err)
	}
	if want := "http.addr: "; !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "address already in use") {
		t.Errorf("error %q, want it to name %q and say the address is in use", err, want)
	}
	cfg.HTTP.Addr = "127.0.0.1:0"
	g, err = New(cfg, Options{Logger: slog.New(slog.NewTextHandler(testWriter{t}, nil)), Registry: prometheus.NewRegistry()})
	if err != nil {
		t.Fatalf("second start in the same folder: %v", err)
	}
	if err := g.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}
