package protocol

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/<case>/expected.{json,err} from the decoder's output")

// goldenCases returns the folders of testdata that hold a case: topic, input.json,
// and expected.json or expected.err.
func goldenCases(tb testing.TB) []string {
	tb.Helper()
	inputs, err := filepath.Glob(filepath.Join("testdata", "*", "input.json"))
	if err != nil || len(inputs) == 0 {
		tb.Fatalf("no golden cases in testdata: %v", err)
	}
	dirs := make([]string, len(inputs))
	for i, in := range inputs {
		dirs[i] = filepath.Dir(in)
	}
	return dirs
}

// readCase returns the topic and payload of the case in dir.
func readCase(tb testing.TB, dir string) (string, []byte) {
	tb.Helper()
	topic, err := os.ReadFile(filepath.Join(dir, "topic"))
	if err != nil {
		tb.Fatal(err)
	}
	payload, err := os.ReadFile(filepath.Join(dir, "input.json"))
	if err != nil {
		tb.Fatal(err)
	}
	return strings.TrimSpace(string(topic)), payload
}

// goldenOutput returns what the expected file of a case holds, and that file's name.
func goldenOutput(t *testing.T, m Message, err error) ([]byte, string) {
	t.Helper()
	if err != nil {
		return []byte(err.Error() + "\n"), "expected.err"
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(b, '\n'), "expected.json"
}

func TestGolden(t *testing.T) {
	for _, dir := range goldenCases(t) {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			topic, payload := readCase(t, dir)
			m, err := Decode(topic, payload)
			got, name := goldenOutput(t, m, err)
			if *update {
				writeGolden(t, dir, name, got)
				return
			}
			want, rerr := os.ReadFile(filepath.Join(dir, name))
			if rerr != nil {
				t.Fatalf("decoder output would go to %s, which is missing (%v); got:\n%s", name, rerr, got)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs (run go test -update to accept)\ngot:\n%s\nwant:\n%s", name, got, want)
			}
		})
	}
}

// writeGolden writes the expected file name and removes the other one.
func writeGolden(t *testing.T, dir, name string, b []byte) {
	t.Helper()
	for _, other := range []string{"expected.json", "expected.err"} {
		if err := os.Remove(filepath.Join(dir, other)); err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestGoldenCoverage checks that the golden cases exercise every reason and every
// event type, so that docs/protocol.md can point at an example of each.
func TestGoldenCoverage(t *testing.T) {
	var reasons []Reason
	var types []EventType
	for _, dir := range goldenCases(t) {
		topic, payload := readCase(t, dir)
		m, err := Decode(topic, payload)
		if err != nil {
			reasons = append(reasons, ReasonOf(err))
		} else if m.Topic.Kind == KindEvent {
			types = append(types, m.Event.Type)
		}
	}
	for _, r := range AllReasons() {
		if !slices.Contains(reasons, r) {
			t.Errorf("no golden case is rejected with reason %s", r)
		}
	}
	for _, et := range EventTypes() {
		if !slices.Contains(types, et) {
			t.Errorf("no golden case holds event type %s", et)
		}
	}
}
