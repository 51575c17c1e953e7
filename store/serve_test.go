package store_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/karkas/karkas/internal/testdb"
	"github.com/karkas/karkas/store"
)

// holderEnv makes the test binary a karkas serve that holds the store at
// the URL it names, for a test to meet from another process.
const holderEnv = "KARKAS_TEST_SERVE_HOLDER"

func TestMain(m *testing.M) {
	if url := os.Getenv(holderEnv); url != "" {
		if err := holdServe(url); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// holdServe takes the serve lock, prints its holder and keeps the lock
// until its standard input ends.
func holdServe(url string) error {
	ctx := context.Background()
	st, err := store.Open(ctx, url)
	if err != nil {
		return err
	}
	defer st.Close()
	holder := store.Holder(time.Now())
	unlock, err := st.LockServe(ctx, holder)
	if err != nil {
		return err
	}
	defer unlock()
	fmt.Println(holder)
	_, err = bufio.NewReader(os.Stdin).ReadString('\n')
	return err
}

// A second karkas serve on a SQLite store is refused with one line naming
// the daemon that holds it, another process's or this one's; a daemon that
// dies gives the store back, and the commands' own locks stay free. On
// PostgreSQL daemons run side by side.
func TestLockServe(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		url := testdb.URL(t, store.SQLite)
		open := func() *store.Store { return migrated(t, url) }
		st := open()
		path := strings.TrimPrefix(url, "sqlite:")

		daemon := exec.Command(os.Args[0], "-test.run=^$")
		daemon.Env = append(os.Environ(), holderEnv+"="+url)
		daemon.Stderr = os.Stderr
		stdin, err := daemon.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		defer stdin.Close()
		stdout, err := daemon.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := daemon.Start(); err != nil {
			t.Fatal(err)
		}
		holder, err := bufio.NewReader(stdout).ReadString('\n')
		if err != nil {
			daemon.Process.Kill()
			daemon.Wait()
			t.Fatalf("the other daemon took no lock: %v", err)
		}
		holder = strings.TrimSpace(holder)

		_, err = st.LockServe(ctx, "pid 2 on host-b")
		var le *store.LockedError
		if !errors.As(err, &le) || le.Name != "serve" || le.Holder != holder {
			t.Errorf("a second serve beside another process's: %v; want a LockedError on serve naming %q", err, holder)
		} else if msg := err.Error(); strings.Contains(msg, "\n") || strings.Contains(msg, "--wait") ||
			!strings.Contains(msg, "another karkas serve ("+holder+") already runs on the SQLite store "+path) {
			t.Errorf("refusal %q: want one line naming the holder and the store, without --wait", msg)
		}
		// A sync beside the daemon takes its own locks.
		unlockSource, err := st.Lock(ctx, "source:mail", 0, "pid 2")
		if err != nil {
			t.Errorf("a source's lock beside the daemon: %v", err)
		} else {
			unlockSource()
		}

		// Killed, the daemon gives the store back.
		if err := daemon.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		daemon.Wait()
		unlock, err := st.LockServe(ctx, "pid 2 on host-b")
		if err != nil {
			t.Fatalf("serve after the other daemon died: %v", err)
		}
		// A second daemon in this process is refused too.
		if _, err := open().LockServe(ctx, "pid 2 again"); !errors.As(err, &le) || !strings.Contains(err.Error(), "another karkas serve (this process)") {
			t.Errorf("a second serve in the process: %v", err)
		}
		unlock()
		again, err := open().LockServe(ctx, "pid 3")
		if err != nil {
			t.Fatalf("serve after the first gave the store back: %v", err)
		}
		again()
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		url := testdb.URL(t, store.Postgres)
		var unlocks []func()
		for i := range 2 {
			st := migrated(t, url)
			unlock, err := st.LockServe(ctx, fmt.Sprintf("pid %d", i))
			if err != nil {
				t.Fatalf("daemon %d on PostgreSQL: %v; want several", i+1, err)
			}
			unlocks = append(unlocks, unlock)
		}
		for _, u := range unlocks {
			u()
		}
	})
}
