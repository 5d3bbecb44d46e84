// Command devcerts writes a development CA and certificates (see package devcerts):
//
//	go run ./internal/devcerts/cmd/devcerts -dir .dev/certs
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"

	"carebed/internal/devcerts"
)

func main() {
	dir := flag.String("dir", ".dev/certs", "folder to write the certificates and keys into")
	hosts := flag.String("hosts", "", "comma-separated host names the server certificate is also for (e.g. mosquitto,gateway)")
	flag.Parse()
	var names []string
	if *hosts != "" {
		names = strings.Split(*hosts, ",")
	}
	f, err := devcerts.Generate(*dir, names...)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("CA %s\nserver %s (key %s), for 127.0.0.1, localhost %s\nclient %s (key %s)\n",
		f.CA, f.Server, f.ServerKey, *hosts, f.Client, f.ClientKey)
}
