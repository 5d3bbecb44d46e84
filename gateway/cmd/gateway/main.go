// Command gateway is the carebed gateway: `gateway run` serves, `gateway registry
// import|list` manages the device registry. See README.md.
package main

import (
	"context"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
)

func main() {
	if _, set := os.LookupEnv("GOGC"); !set {
		// The gateway's heap is small and its garbage steady (one batch of messages
		// after another): collecting at 4x the live heap instead of 2x halves the GC's
		// CPU for a few megabytes. GOGC in the environment still decides.
		debug.SetGCPercent(400)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.LookupEnv)
	stop()
	os.Exit(code)
}
