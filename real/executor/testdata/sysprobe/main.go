// Command sysprobe runs inside a test container and reports whether the syscalls
// the seccomp profile must refuse are refused: one line per probe, "NAME=refused
// (errno)" or "NAME=allowed". Built static (CGO_ENABLED=0) by the executor tests.
package main

import (
	"fmt"
	"syscall"
)

const (
	sysIOUringSetup    = 425 // the same number on every architecture since 5.1
	sysKeyctl          = 250 // x86_64
	keyctlGetKeyringID = 0
	keySpecUserKeyring = -4
)

func probe(name string, trap, a1, a2 uintptr) {
	_, _, e := syscall.RawSyscall(trap, a1, a2, 0)
	if e != 0 && (e == syscall.EPERM || e == syscall.ENOSYS || e == syscall.EACCES) {
		fmt.Printf("%s=refused (%v)\n", name, e)
		return
	}
	fmt.Printf("%s=allowed (%v)\n", name, e)
}

func main() {
	var params [120]byte
	probe("io_uring_setup", sysIOUringSetup, 1, uintptr(unsafePointer(&params)))
	probe("keyctl", syscall.SYS_KEYCTL, keyctlGetKeyringID, ^uintptr(3)) // KEY_SPEC_USER_KEYRING = -4
	probe("unshare_user", syscall.SYS_UNSHARE, syscall.CLONE_NEWUSER, 0)
	probe("unshare_net", syscall.SYS_UNSHARE, syscall.CLONE_NEWNET, 0)
}
