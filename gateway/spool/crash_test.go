package spool

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

const crashEnv = "SPOOL_CRASH_CHILD_DIR"

// crashRecord is the payload of record n: its number padded to 200 bytes.
func crashRecord(n int) []byte {
	return []byte(fmt.Sprintf("%08d%s", n, strings.Repeat("x", 192)))
}

// crashChild appends numbered records from many goroutines and prints "acked n"
// after each Append returns, until it is killed (or gives up after a minute).
func crashChild(dir string) {
	s, err := Open(Options{Dir: dir, SegmentBytes: 64 << 10})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	const writers = 16
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for n := w; ; n += writers {
				if err := s.Append([][]byte{crashRecord(n)}); err != nil {
					fmt.Fprintln(os.Stderr, err)
					os.Exit(2)
				}
				os.Stdout.WriteString("acked " + strconv.Itoa(n) + "\n")
			}
		})
	}
	time.Sleep(time.Minute)
	os.Exit(3)
}

func TestCrashSafety(t *testing.T) {
	if dir := os.Getenv(crashEnv); dir != "" {
		crashChild(dir)
		return
	}
	dir := t.TempDir()
	acked := runAndKill(t, dir, 2000)
	e := open(t, dir, Options{SegmentBytes: 64 << 10})
	st := e.Stats()
	t.Logf("child acked %d records; %d unshipped after restart in %d segments", len(acked), st.Records, st.Segments)
	seen := make(map[int]int, st.Records)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for read := int64(0); read < st.Records; {
		b, err := e.Read(ctx, 1000, 1<<20)
		if err != nil {
			t.Fatalf("Read after %d of %d records: %v", read, st.Records, err)
		}
		for _, r := range b.Records {
			n, err := strconv.Atoi(string(r[:8]))
			if err != nil || string(r) != string(crashRecord(n)) {
				t.Fatalf("malformed record %q", r)
			}
			seen[n]++
		}
		read += int64(len(b.Records))
	}
	assertEmpty(t, e.Spool)
	for n := range acked {
		if seen[n] != 1 {
			t.Errorf("acked record %d found %d times", n, seen[n])
		}
	}
	for n, c := range seen {
		if c != 1 {
			t.Errorf("record %d found %d times", n, c)
		}
	}
}

// runAndKill runs crashChild in a child process, kills it with SIGKILL once it has
// acked at least n records, and returns every number it printed.
func runAndKill(t *testing.T, dir string, n int) map[int]bool {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashSafety$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashEnv+"="+dir)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	acked := make(map[int]bool)
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		num, ok := strings.CutPrefix(sc.Text(), "acked ")
		if !ok {
			continue
		}
		v, err := strconv.Atoi(num)
		if err != nil {
			t.Fatalf("child printed %q", sc.Text())
		}
		acked[v] = true
		if len(acked) == n {
			cmd.Process.Kill() // SIGKILL; lines already in the pipe are still read
		}
	}
	err = cmd.Wait()
	if len(acked) < n {
		t.Fatalf("child exited after %d acks: %v", len(acked), err)
	}
	return acked
}
