package outbox_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"carebed/alerting/notify"
	"carebed/alerting/notify/notifytest"
	"carebed/alerting/notify/outbox"
	"carebed/internal/testlog"
)

var t0 = time.Date(2026, 1, 15, 3, 4, 5, 0, time.UTC)

func open(t *testing.T, path string, logs *testlog.Buffer) *outbox.Outbox {
	t.Helper()
	ob, err := outbox.New(outbox.Options{Path: path, Now: func() time.Time { return t0 },
		Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ob.Close() })
	return ob
}

func readLines(t *testing.T, path string) []outbox.Line {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []outbox.Line
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var l outbox.Line
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		out = append(out, l)
	}
	return out
}

func TestNotifyWritesLineAndLogsWithoutPersonalData(t *testing.T) {
	path := filepath.Join(t.TempDir(), "outbox.jsonl")
	var logs testlog.Buffer
	ob := open(t, path, &logs)
	n := notifytest.Sample
	r, retry, err := ob.Notify(t.Context(), n)
	if err != nil || retry {
		t.Fatalf("Notify = retry %v, %v", retry, err)
	}
	if r.Status != outbox.StatusWritten || !strings.HasPrefix(r.ProviderID, "outbox-") {
		t.Errorf("receipt %+v", r)
	}
	want := outbox.Line{Time: t0, AlertID: n.AlertID, AlertCode: n.AlertCode, Purpose: n.Purpose,
		ToID: n.To.ID, ToPhone: n.To.Phone, Text: n.Text, ID: r.ProviderID}
	if lines := readLines(t, path); len(lines) != 1 || lines[0] != want {
		t.Errorf("outbox holds %+v, want %+v", lines, want)
	}
	for _, s := range []string{"alert=K7M2", "purpose=page", "to=" + n.To.ID} {
		if !strings.Contains(logs.String(), s) {
			t.Errorf("log lacks %q: %s", s, logs.String())
		}
	}
	notifytest.NoSecrets(t, logs.String(), notifytest.PersonalData(n)...)
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("outbox mode %v, %v; want 0600", fi.Mode(), err)
	}
}

func TestReopenAppends(t *testing.T) {
	path := filepath.Join(t.TempDir(), "outbox.jsonl")
	var logs testlog.Buffer
	for range 2 {
		ob := open(t, path, &logs)
		if _, _, err := ob.Notify(t.Context(), notifytest.Sample); err != nil {
			t.Fatal(err)
		}
		if err := ob.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if got := len(readLines(t, path)); got != 2 {
		t.Errorf("%d lines after two opens, want 2", got)
	}
}

func TestConcurrentNotify(t *testing.T) {
	path := filepath.Join(t.TempDir(), "outbox.jsonl")
	var logs testlog.Buffer
	ob := open(t, path, &logs)
	const workers, each = 16, 25
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range each {
				if _, _, err := ob.Notify(t.Context(), notifytest.Sample); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	lines := readLines(t, path)
	ids := map[string]bool{}
	for _, l := range lines {
		ids[l.ID] = true
	}
	if len(lines) != workers*each || len(ids) != workers*each {
		t.Errorf("%d lines with %d distinct ids, want %d", len(lines), len(ids), workers*each)
	}
}

func TestNotifyErrors(t *testing.T) {
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	noPhone := notifytest.Sample
	noPhone.To.Phone = ""
	tests := []struct {
		name  string
		ctx   context.Context
		n     notify.Notification
		close bool
		want  error
	}{
		{name: "no phone number", ctx: context.Background(), n: noPhone, want: notify.ErrNoAddress},
		{name: "closed", ctx: context.Background(), n: notifytest.Sample, close: true, want: outbox.ErrClosed},
		{name: "context cancelled", ctx: cancelled, n: notifytest.Sample, want: context.Canceled},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "outbox.jsonl")
			var logs testlog.Buffer
			ob := open(t, path, &logs)
			if tc.close {
				ob.Close()
			}
			_, retry, err := ob.Notify(tc.ctx, tc.n)
			if !errors.Is(err, tc.want) || retry {
				t.Errorf("Notify = retry %v, %v; want %v without retry", retry, err, tc.want)
			}
			if lines := readLines(t, path); len(lines) != 0 {
				t.Errorf("wrote %d lines", len(lines))
			}
		})
	}
}

func TestNew(t *testing.T) {
	tests := []struct {
		name    string
		path    string
		wantErr string
	}{
		{name: "no path", path: "", wantErr: "Path is required"},
		{name: "missing directory", path: filepath.Join(t.TempDir(), "nope", "outbox.jsonl"), wantErr: "no such file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := outbox.New(outbox.Options{Path: tc.path})
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("New error %v, want %q", err, tc.wantErr)
			}
		})
	}
}
