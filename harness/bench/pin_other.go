//go:build !linux

package bench

import (
	"errors"
	"runtime"
	"syscall"
	"time"
)

func pinTasks(pid int, cpus []int) error { return errors.New("CPU pinning needs Linux") }

func allowedCPUs() []int { return nil }

func raiseNofile() uint64 { return 1024 } // only Linux is measured; keep the conn scenario small elsewhere

func childAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{} }

func kernel() string { return runtime.GOOS }

func selfCPU() time.Duration { return -1 }
