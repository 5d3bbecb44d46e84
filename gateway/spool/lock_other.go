//go:build !unix

package spool

import (
	"fmt"
	"os"
	"path/filepath"
)

// lockDir opens dir's lock file; on this platform it does not lock it.
func lockDir(dir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, "LOCK"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("spool: open lock file: %w", err)
	}
	return f, nil
}

// InUse cannot tell on this platform; it reports false.
func InUse(string) (bool, error) { return false, nil }
