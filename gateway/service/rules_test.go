package service

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"carebed/internal/devsvc"
)

// TestAlertRulesUseMetricsTheGatewayExports: every carebed_* series the county IT
// office's alert rules (deploy/prometheus/carebed-rules.yml) watch is on a freshly
// started gateway's /metrics, with the embedded broker so its metrics are there too.
// A renamed metric would otherwise leave its alert silent for ever: promtool's tests
// use series they make up.
func TestAlertRulesUseMetricsTheGatewayExports(t *testing.T) {
	rules, err := os.ReadFile(filepath.Join(devsvc.RepoRoot(), "deploy/prometheus/carebed-rules.yml"))
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, true)
	e.register(deviceIDs("bed", 1))
	r := e.start()
	code, body := get(t, "http://"+r.g.HTTPAddr()+"/metrics")
	if code != 200 {
		t.Fatalf("/metrics: %d", code)
	}
	exported := map[string]bool{}
	for _, line := range strings.Split(body, "\n") {
		if name, ok := strings.CutPrefix(line, "# TYPE "); ok {
			exported[strings.Fields(name)[0]] = true
		}
	}
	used := regexp.MustCompile(`\bcarebed_[a-z_]+\b`).FindAllString(string(rules), -1)
	if len(used) < 8 {
		t.Fatalf("found only %d carebed_* names in the rules: %v", len(used), used)
	}
	for _, name := range used {
		if !exported[strings.TrimSuffix(name, "_bucket")] {
			t.Errorf("the rules watch %s, which a fresh gateway does not export", name)
		}
	}
}
