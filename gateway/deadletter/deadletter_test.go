package deadletter

import (
	"bufio"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestWriteAndRotate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "dl.jsonl")
	l, err := Open(path, 2<<10) // about 12 entries: one rotation
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 29, 3, 0, 0, 0, time.UTC)
	for i := 0; i < 20; i++ {
		e := NewEntry(now, "carebed/v1/dev-1/event", "bad_json", errors.New("bad_json: unexpected end"), []byte(`{"v":1,`))
		if err := l.Write(e); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	lines := readLines(t, path)
	rotated := readLines(t, path+".1")
	if len(lines)+len(rotated) != 20 || len(rotated) == 0 {
		t.Fatalf("got %d + %d lines after rotation, want 20 in all", len(lines), len(rotated))
	}
	var e Entry
	if err := json.Unmarshal([]byte(lines[0]), &e); err != nil {
		t.Fatal(err)
	}
	if e.Reason != "bad_json" || e.Payload != `{"v":1,` || e.Size != 7 || !e.Time.Equal(now) {
		t.Errorf("entry = %+v", e)
	}
}

func TestNewEntryBinaryAndTruncated(t *testing.T) {
	big := []byte(strings.Repeat("x", MaxPayload+10))
	e := NewEntry(time.Now(), "t", "oversize", nil, big)
	if !e.Truncated || len(e.Payload) != MaxPayload || e.Size != MaxPayload+10 {
		t.Errorf("truncation: truncated=%v len=%d size=%d", e.Truncated, len(e.Payload), e.Size)
	}
	e = NewEntry(time.Now(), "t", "bad_json", nil, []byte{0xff, 0xfe})
	if e.Payload != "" || e.PayloadB64 != "//4=" {
		t.Errorf("binary payload: %+v", e)
	}
}

func readLines(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	s := bufio.NewScanner(f)
	for s.Scan() {
		out = append(out, s.Text())
	}
	return out
}
