// Command gen writes carebed's Grafana dashboards (dashboards/board) as JSON files:
//
//	go run ./dashboards/cmd/gen -out dashboards/json
//
// make dashboards and go generate ./dashboards run it; the dashboards' test fails when
// the committed files differ from what it writes.
package main

import (
	"flag"
	"fmt"
	"log/slog"
	"os"

	"carebed/dashboards/board"
)

func main() { os.Exit(run(os.Args[1:])) }

func run(args []string) int {
	fs := flag.NewFlagSet("gen", flag.ContinueOnError)
	out := fs.String("out", "json", "folder to write the dashboards' JSON files into")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := board.Write(*out); err != nil {
		slog.Error("writing the dashboards", "err", err)
		return 1
	}
	slog.Info("dashboards written", "folder", *out)
	return 0
}
