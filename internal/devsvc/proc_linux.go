package devsvc

import "syscall"

// sysProcAttr makes the kernel SIGKILL the service when the test binary dies without
// running its cleanups (a -timeout panic, a crash), so no server outlives its test.
// The run scripts exec the server, and the setting survives exec; it is lost only
// across a change of user, which is why run-mosquitto does not drop privileges by
// default.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
