package devsvc

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"
)

// TestPrometheusScrapesAndQueries starts Prometheus against a fake exporter and reads
// its counter back through Query, QueryRange and LabelValues.
func TestPrometheusScrapesAndQueries(t *testing.T) {
	t.Parallel()
	exporter := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "# TYPE carebed_test_total counter\ncarebed_test_total{kind=\"sos\"} 7\n")
	}))
	t.Cleanup(exporter.Close)
	target := exporter.Listener.Addr().String()
	p := StartPrometheus(t, target)

	err := poll(30*time.Second, func() error {
		got := p.Query(t, `carebed_test_total{job="carebed-gateway"}`)
		if len(got) != 1 || got[0].Labels["kind"] != "sos" || got[0].Labels["instance"] != target || got[0].Samples[0].Value != 7 {
			return fmt.Errorf("instant query: %+v", got)
		}
		return nil
	}, func() error { return p.proc.exited() })
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	series, err := p.QueryRange(`sum(carebed_test_total)`, now.Add(-time.Minute), now, time.Second)
	if err != nil || len(series) != 1 || len(series[0].Samples) == 0 || series[0].Samples[len(series[0].Samples)-1].Value != 7 {
		t.Fatalf("range query: %+v, %v", series, err)
	}
	if v, err := p.LabelValues("kind", "carebed_test_total"); err != nil || len(v) != 1 || v[0] != "sos" {
		t.Fatalf("label values: %v, %v", v, err)
	}
	if s := p.Query(t, `scalar(sum(carebed_test_total))`); len(s) != 1 || s[0].Samples[0].Value != 7 {
		t.Fatalf("scalar: %+v", s)
	}
	if _, err := p.QueryRange(`sum(`, now, now, time.Second); err == nil {
		t.Fatal("a bad query returned no error")
	}
}

func TestPrometheusStartReportsPortInUse(t *testing.T) {
	Require(t, prometheusName)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	p := newPrometheus(filepath.Join(t.TempDir(), "prometheus"), []string{"127.0.0.1:1"})
	p.setPorts([]int{l.Addr().(*net.TCPAddr).Port})
	t.Cleanup(func() {
		if p.proc != nil {
			p.proc.kill()
		}
	})
	if err := p.start(); !errors.Is(err, errAddrInUse) {
		t.Fatalf("start on a taken port: got %v, want %v", err, errAddrInUse)
	}
}
