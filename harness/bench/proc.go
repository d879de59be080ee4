package bench

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"time"
)

// clockTick is the unit of utime/stime in /proc/PID/stat: USER_HZ, which
// Linux fixes at 100 for user space on every architecture Go supports.
const clockTick = 10 * time.Millisecond

// parseStatCPU returns utime+stime from the text of /proc/PID/stat. The
// command name (field 2) is in parentheses and may itself hold spaces or
// parentheses, so fields are counted from the last ')'.
func parseStatCPU(b []byte) (time.Duration, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("stat: no ')' in %q", b)
	}
	f := bytes.Fields(b[i+1:])
	// After the name: state(3) ppid(4) … utime(14) stime(15), so indexes 11, 12.
	if len(f) < 13 {
		return 0, fmt.Errorf("stat: %d fields after the name, want at least 13", len(f))
	}
	ut, err1 := strconv.ParseInt(string(f[11]), 10, 64)
	st, err2 := strconv.ParseInt(string(f[12]), 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("stat: utime %q stime %q", f[11], f[12])
	}
	return time.Duration(ut+st) * clockTick, nil
}

// parseStatusKB returns the value of a "Key:   123 kB" line of
// /proc/PID/status in bytes.
func parseStatusKB(b []byte, key string) (int64, error) {
	for line := range bytes.Lines(b) {
		k, v, ok := bytes.Cut(line, []byte(":"))
		if !ok || string(k) != key {
			continue
		}
		f := bytes.Fields(v)
		if len(f) == 0 {
			break
		}
		n, err := strconv.ParseInt(string(f[0]), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("status %s: %w", key, err)
		}
		if len(f) > 1 && string(f[1]) == "kB" {
			n *= 1024
		}
		return n, nil
	}
	return 0, fmt.Errorf("status: no %s line", key)
}

// parseSchedstat returns the first field of /proc/PID/task/TID/schedstat:
// the nanoseconds the thread has run, user and system time together.
func parseSchedstat(b []byte) (time.Duration, error) {
	f := bytes.Fields(b)
	if len(f) == 0 {
		return 0, fmt.Errorf("schedstat: empty")
	}
	ns, err := strconv.ParseInt(string(f[0]), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("schedstat: %w", err)
	}
	return time.Duration(ns), nil
}

// procCPU is the process's user+system CPU time so far: the sum over its
// threads of schedstat, which is utime+stime in nanoseconds where
// /proc/PID/stat counts 10 ms ticks (too coarse for a short round); stat
// when schedstat cannot be used. (A thread that exits takes its time with
// it; brokers keep their threads.)
func procCPU(pid int) (time.Duration, error) {
	dir := "/proc/" + strconv.Itoa(pid)
	if sum, ok := schedstatSum(dir); ok {
		return sum, nil
	}
	b, err := os.ReadFile(dir + "/stat")
	if err != nil {
		return 0, err
	}
	return parseStatCPU(b)
}

// procRSS is the process's resident set size in bytes.
func procRSS(pid int) (int64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, err
	}
	return parseStatusKB(b, "VmRSS")
}

// schedstatSum adds up the run time in every thread's schedstat of the
// process in dir. ok is false when not one thread could be read, or when
// the sum is 0: a kernel without scheduler statistics writes "0 0 0" for
// every thread, and a running broker has always used some CPU.
func schedstatSum(dir string) (sum time.Duration, ok bool) {
	ents, err := os.ReadDir(dir + "/task")
	if err != nil {
		return 0, false
	}
	read := 0
	for _, e := range ents {
		b, err := os.ReadFile(dir + "/task/" + e.Name() + "/schedstat")
		if os.IsNotExist(err) {
			continue // the thread just exited
		}
		if err != nil {
			return 0, false
		}
		d, err := parseSchedstat(b)
		if err != nil {
			return 0, false
		}
		sum += d
		read++
	}
	return sum, read > 0 && sum > 0
}

// cpuOf is procCPU, or -1 when pid is 0 or cannot be read.
func cpuOf(pid int) time.Duration { return orUnknown(pid, procCPU) }

// rssOf is procRSS, or -1 when pid is 0 or cannot be read.
func rssOf(pid int) int64 { return orUnknown(pid, procRSS) }

func orUnknown[T time.Duration | int64](pid int, read func(int) (T, error)) T {
	if pid == 0 {
		return -1
	}
	v, err := read(pid)
	if err != nil {
		return -1
	}
	return v
}
