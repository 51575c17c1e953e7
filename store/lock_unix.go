//go:build unix

package store

import (
	"os"
	"syscall"
)

// errWouldBlock is what flock says of a lock another process holds.
var errWouldBlock = syscall.EWOULDBLOCK

// flock takes an exclusive flock(2) on f without waiting; the kernel
// gives it back when the process dies.
func flock(f *os.File) error { return syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) }

func funlock(f *os.File) error { return syscall.Flock(int(f.Fd()), syscall.LOCK_UN) }
