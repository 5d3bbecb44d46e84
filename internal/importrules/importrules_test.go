// Package importrules holds the test that keeps docs/architecture.md's picture of who
// may import whom true.
package importrules

import (
	"bufio"
	"bytes"
	"os/exec"
	"strings"
	"testing"

	"carebed/internal/devsvc"
)

// pkg is one package of the module and what it imports.
type pkg struct {
	path        string
	imports     []string // of the package itself
	testImports []string // of its tests (in-package and external)
}

// list runs go list over the module.
func list(t *testing.T) []pkg {
	t.Helper()
	cmd := exec.Command("go", "list", "-e", "-f",
		"{{.ImportPath}}|{{join .Imports \" \"}}|{{join .TestImports \" \"}} {{join .XTestImports \" \"}}", "./...")
	cmd.Dir = devsvc.RepoRoot()
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var pkgs []pkg
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Split(sc.Text(), "|")
		if len(f) != 3 {
			t.Fatalf("go list line %q", sc.Text())
		}
		pkgs = append(pkgs, pkg{path: f[0], imports: strings.Fields(f[1]), testImports: strings.Fields(f[2])})
	}
	if len(pkgs) < 20 {
		t.Fatalf("go list found %d packages; the module has more", len(pkgs))
	}
	return pkgs
}

// under reports whether path is root or below it.
func under(path, root string) bool { return path == root || strings.HasPrefix(path, root+"/") }

// rule is one import rule: a package matching who must not import what matches bad.
type rule struct {
	name  string
	who   func(string) bool
	bad   func(string) bool
	tests bool // the rule holds for the package's tests too
}

var rules = []rule{
	{
		name:  "alerting never imports the gateway (it declares the interfaces it needs)",
		who:   func(p string) bool { return under(p, "carebed/alerting") },
		bad:   func(i string) bool { return under(i, "carebed/gateway") },
		tests: true,
	},
	{
		name: "only the wiring constructs an alert store (SQLite, PostgreSQL); everyone else speaks alerting's words",
		who: func(p string) bool {
			return p != "carebed/gateway/service" && !strings.Contains(p, "/cmd/") && !alertStore(p)
		},
		bad: alertStore,
	},
	{
		name: "firmware-sim speaks only the device protocol",
		who:  func(p string) bool { return under(p, "carebed/firmware-sim") },
		bad: func(i string) bool {
			return under(i, "carebed/gateway") && !under(i, "carebed/gateway/protocol")
		},
		tests: true,
	},
	{
		name:  "nothing imports a command",
		who:   func(string) bool { return true },
		bad:   func(i string) bool { return strings.HasPrefix(i, "carebed/") && strings.Contains(i, "/cmd/") },
		tests: true,
	},
}

// alertStore reports whether p is an implementation of alerting.Store.
func alertStore(p string) bool {
	return under(p, "carebed/alerting/sqlite") || under(p, "carebed/alerting/postgres")
}

// broken returns the imports of p that break r.
func (r rule) broken(p pkg) []string {
	if !r.who(p.path) {
		return nil
	}
	imports := p.imports
	if r.tests {
		imports = append(append([]string(nil), imports...), p.testImports...)
	}
	var out []string
	for _, i := range imports {
		if r.bad(i) {
			out = append(out, i)
		}
	}
	return out
}

func TestImportRules(t *testing.T) {
	pkgs := list(t)
	for _, r := range rules {
		for _, p := range pkgs {
			if bad := r.broken(p); len(bad) > 0 {
				t.Errorf("%s: %s imports %s", r.name, p.path, strings.Join(bad, ", "))
			}
		}
	}
}

// TestRulesCatchBreaks feeds each rule an import that breaks it, so a rule that
// can no longer fail is noticed.
func TestRulesCatchBreaks(t *testing.T) {
	breaks := []pkg{
		{path: "carebed/alerting/escalation", testImports: []string{"carebed/gateway/registry"}},
		{path: "carebed/gateway/console", imports: []string{"carebed/alerting/sqlite"}},
		{path: "carebed/firmware-sim/fleet", imports: []string{"carebed/gateway/ingest"}},
		{path: "carebed/bench", testImports: []string{"carebed/gateway/cmd/gateway"}},
	}
	for i, r := range rules {
		if len(r.broken(breaks[i])) == 0 {
			t.Errorf("rule %q does not catch %+v", r.name, breaks[i])
		}
	}
	if bad := rules[1].broken(pkg{path: "carebed/gateway/service", imports: []string{"carebed/alerting/sqlite", "carebed/alerting/postgres"}}); len(bad) != 0 {
		t.Errorf("the wiring may construct the alert stores: %v", bad)
	}
	if bad := rules[1].broken(pkg{path: "carebed/alerting/api", imports: []string{"carebed/alerting/postgres"}}); len(bad) == 0 {
		t.Error("the PostgreSQL store may be constructed outside the wiring")
	}
}
