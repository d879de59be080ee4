package pgtest

import "syscall"

// sysProcAttr runs a child as cred (nil: as ourselves) and, should this
// process die without calling Stop, has the kernel send it SIGQUIT:
// PostgreSQL's immediate shutdown, in which the postmaster also ends its
// backends. (Go sets Pdeathsig after changing the credentials, which would
// otherwise clear it.)
func sysProcAttr(cred *syscall.Credential) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGQUIT}
}
