package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// memory is a child's peak memory in KiB: its resident set (hwm) and the
// anonymous part of it (anon: heap and stacks, not the pages of files it
// maps, such as a SQLite store read through mmap, which the kernel drops
// under pressure).
type memory struct{ hwm, anon int64 }

// runMeasured runs cmd and samples its memory from /proc while it runs.
// The kernel's own high-water mark of the child (its rusage) is not used:
// a child started by vfork, as Go starts them, inherits the parent's peak
// at exec, so a bench process that read a store would show in every child
// after it. VmHWM is the child's own memory's mark; RssAnon is sampled
// every 10 ms, so its peak may miss a spike shorter than that.
func runMeasured(cmd *exec.Cmd) (memory, error) {
	if err := cmd.Start(); err != nil {
		return memory{}, err
	}
	var m memory
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	path := fmt.Sprintf("/proc/%d/status", cmd.Process.Pid)
	for {
		select {
		case err := <-done:
			if m.hwm == 0 && cmd.ProcessState != nil { // no /proc: the kernel's figure
				m.hwm = cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss
			}
			return m, err
		case <-tick.C:
			hwm, anon := procMemory(path)
			m.hwm, m.anon = max(m.hwm, hwm), max(m.anon, anon)
		}
	}
}

// procMemory reads VmHWM and RssAnon (KiB) from a /proc status file.
func procMemory(path string) (hwm, anon int64) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok || k != "VmHWM" && k != "RssAnon" {
			continue
		}
		n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		if k == "VmHWM" {
			hwm = n
		} else {
			anon = n
		}
	}
	return hwm, anon
}
