//go:build !unix

package store

import (
	"errors"
	"os"
)

// errWouldBlock is never returned here: without flock(2) a SQLite store's
// run locks hold within one process only (PostgreSQL's hold everywhere).
var errWouldBlock = errors.New("lock held")

func flock(*os.File) error { return nil }

func funlock(*os.File) error { return nil }
