// Command devcerts writes a development CA and certificates (see package devcerts):
//
//	go run ./internal/devcerts/cmd/devcerts -dir .dev/certs
package main

import (
	"flag"
	"fmt"
	"os"

	"carebed/internal/devcerts"
)

func main() {
	dir := flag.String("dir", ".dev/certs", "folder to write the certificates and keys into")
	flag.Parse()
	f, err := devcerts.Generate(*dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("CA %s\nserver %s (key %s), for 127.0.0.1 and localhost\nclient %s (key %s)\n",
		f.CA, f.Server, f.ServerKey, f.Client, f.ClientKey)
}
