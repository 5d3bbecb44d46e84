//go:build !linux

package devsvc

import "syscall"

// sysProcAttr has nothing to add outside Linux: there, a service outlives a test
// binary that dies without running its cleanups.
func sysProcAttr() *syscall.SysProcAttr { return nil }
