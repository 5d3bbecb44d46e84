package dashboards_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// The committed dashboards and provisioning files as Grafana reads them: only what the
// tests look at.

// boardFile is one dashboard JSON file.
type boardFile struct {
	File        string `json:"-"`
	UID         string `json:"uid"`
	Title       string `json:"title"`
	Description string `json:"description"`
	Templating  struct {
		List []variableJSON `json:"list"`
	} `json:"templating"`
	Panels []panelJSON `json:"panels"`
	// Raw is the whole file, for walking every value.
	Raw any `json:"-"`
}

type variableJSON struct {
	Type       string `json:"type"`
	Name       string `json:"name"`
	Query      string `json:"query"`
	Multi      bool   `json:"multi"`
	IncludeAll bool   `json:"includeAll"`
	AllValue   string `json:"allValue"`
	Datasource *dsRef `json:"datasource"`
	Current    struct {
		Value any `json:"value"`
	} `json:"current"`
}

type panelJSON struct {
	ID          uint32       `json:"id"`
	Type        string       `json:"type"`
	Title       string       `json:"title"`
	Description string       `json:"description"`
	Interval    string       `json:"interval"`
	Datasource  *dsRef       `json:"datasource"`
	Targets     []targetJSON `json:"targets"`
	GridPos     struct {
		W int `json:"w"`
	} `json:"gridPos"`
}

type targetJSON struct {
	RefID        string `json:"refId"`
	Datasource   *dsRef `json:"datasource"`
	Query        string `json:"query"`
	RawQuery     bool   `json:"rawQuery"`
	ResultFormat string `json:"resultFormat"`
	Expr         string `json:"expr"`
	LegendFormat string `json:"legendFormat"`
}

type dsRef struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

// datasource is one provisioned datasource.
type datasource struct {
	Name     string `yaml:"name"`
	UID      string `yaml:"uid"`
	Type     string `yaml:"type"`
	JSONData struct {
		TimeInterval string `yaml:"timeInterval"`
	} `yaml:"jsonData"`
}

// minInterval is the datasource's timeInterval (Grafana's lower bound of $__interval).
func (d datasource) minInterval(t *testing.T) time.Duration {
	t.Helper()
	if d.JSONData.TimeInterval == "" {
		return 0
	}
	iv, err := time.ParseDuration(d.JSONData.TimeInterval)
	if err != nil {
		t.Fatalf("datasource %s: timeInterval: %v", d.UID, err)
	}
	return iv
}

// loadBoards reads every dashboards/json/*.json file.
func loadBoards(t *testing.T) []boardFile {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("json", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no dashboards in json/: %v", err)
	}
	out := make([]boardFile, len(files))
	for i, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out[i].File = filepath.Base(f)
		if err := json.Unmarshal(b, &out[i]); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if err := json.Unmarshal(b, &out[i].Raw); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
	}
	return out
}

// loadDatasources reads the provisioned datasources by uid.
func loadDatasources(t *testing.T) map[string]datasource {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("provisioning", "datasources", "*.yml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no datasource provisioning files: %v", err)
	}
	out := map[string]datasource{}
	for _, f := range files {
		var doc struct {
			APIVersion  int          `yaml:"apiVersion"`
			Datasources []datasource `yaml:"datasources"`
		}
		readYAML(t, f, &doc)
		if doc.APIVersion != 1 {
			t.Errorf("%s: apiVersion %d, want 1", f, doc.APIVersion)
		}
		for _, d := range doc.Datasources {
			if _, dup := out[d.UID]; dup || d.UID == "" {
				t.Errorf("%s: datasource %q: uid %q empty or defined twice", f, d.Name, d.UID)
			}
			out[d.UID] = d
		}
	}
	return out
}

// readYAML decodes a YAML file into v (keys v does not name are ignored).
func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := yaml.NewDecoder(f).Decode(v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}
