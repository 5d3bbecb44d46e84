package devsvc

import (
	"os"
	"os/exec"
	"testing"
)

// Chromium returns the headless browser for browser tests: $CAREBED_CHROMIUM, else
// chromium (Debian's package, which deploy/dev/install installs) or chromium-browser
// on PATH. When there is none it fails the test in CI and skips it elsewhere.
func Chromium(t testing.TB) string {
	t.Helper()
	if bin := os.Getenv("CAREBED_CHROMIUM"); bin != "" {
		return bin
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if bin, err := exec.LookPath(name); err == nil {
			return bin
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("devsvc: chromium is not installed (CI is set: a missing browser is a failure); deploy/dev/install installs it")
	}
	t.Skip("devsvc: chromium is not installed; install with deploy/dev/install (make test does it)")
	return ""
}
