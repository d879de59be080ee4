package bench

import (
	"bytes"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// pinTasks sets the CPU affinity of every thread of process pid (0 = this
// process). Threads created later inherit their creator's mask, so a Go
// process stays pinned.
func pinTasks(pid int, cpus []int) error {
	var set unix.CPUSet
	for _, c := range cpus {
		set.Set(c)
	}
	dir := "/proc/self/task"
	if pid != 0 {
		dir = "/proc/" + strconv.Itoa(pid) + "/task"
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	var first error
	for _, e := range ents {
		tid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		// A thread may exit between ReadDir and here: ESRCH is fine.
		if err := unix.SchedSetaffinity(tid, &set); err != nil && err != unix.ESRCH && first == nil {
			first = err
		}
	}
	return first
}

// allowedCPUs lists the CPUs this process may run on.
func allowedCPUs() []int {
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil {
		return nil
	}
	var cpus []int
	for c := 0; c < 1024; c++ {
		if set.IsSet(c) {
			cpus = append(cpus, c)
		}
	}
	return cpus
}

// raiseNofile lifts the soft open-file limit to the hard one and returns it.
// Going through package syscall also makes os/exec pass the raised limit on
// to broker children, which need as many descriptors as the load generator.
func raiseNofile() uint64 {
	var r syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r); err != nil {
		return 1024
	}
	if r.Cur < r.Max {
		r.Cur = r.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &r); err != nil {
			syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r)
		}
	}
	return r.Cur
}

// childAttr kills a broker child if this process dies without stopping it
// (Linux sends the signal when the creating OS thread exits; Go keeps its
// threads unless a goroutine exits while locked to one).
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

// kernel is `uname -srvm`.
func kernel() string {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return runtime.GOOS
	}
	s := func(b []byte) string { return string(bytes.TrimRight(b, "\x00")) }
	return strings.Join([]string{s(u.Sysname[:]), s(u.Release[:]), s(u.Version[:]), s(u.Machine[:])}, " ")
}

// selfCPU is this process's user+system CPU time so far.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return -1
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
