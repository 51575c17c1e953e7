package deploy

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

const unitFile = "systemd/karkas.service"

// directive is one Key=Value line of a unit file.
type directive struct {
	section, key, value string
	line                int
}

// unit is a parsed unit file: its directives in order.
type unit []directive

// parseUnit reads a unit file as systemd does, as far as this one needs:
// sections, Key=Value lines, comments; a line continued with a backslash
// or a line outside a section is an error.
func parseUnit(text string) (unit, error) {
	var u unit
	section := ""
	sc := bufio.NewScanner(strings.NewReader(text))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";"):
			continue
		case strings.HasSuffix(line, `\`):
			return nil, fmt.Errorf("line %d: a continued line; keep directives on one line", n)
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			section = line[1 : len(line)-1]
			continue
		}
		key, value, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("line %d: %q is not Key=Value", n, line)
		}
		if section == "" {
			return nil, fmt.Errorf("line %d: %s before any section", n, key)
		}
		u = append(u, directive{section, strings.TrimSpace(key), strings.TrimSpace(value), n})
	}
	return u, sc.Err()
}

// values are the values of a key, in order; an empty assignment resets
// the list, as it does in systemd.
func (u unit) values(section, key string) []string {
	var out []string
	for _, d := range u {
		if d.section != section || d.key != key {
			continue
		}
		if d.value == "" {
			out = nil
			continue
		}
		out = append(out, d.value)
	}
	return out
}

// one is the value of a key set once; "" when it is not set.
func (u unit) one(section, key string) string {
	v := u.values(section, key)
	if len(v) == 0 {
		return ""
	}
	return v[len(v)-1]
}

func readUnit(t *testing.T) unit {
	t.Helper()
	text, err := os.ReadFile(unitFile)
	if err != nil {
		t.Fatal(err)
	}
	u, err := parseUnit(string(text))
	if err != nil {
		t.Fatalf("%s: %v", unitFile, err)
	}
	return u
}

// The unit has, in their sections, the directives the deployment relies
// on; the config it runs is deploy/karkas.yaml with the environment the
// unit gives it, its store in the state folder and every secret file it
// reads a credential the unit loads.
func TestSystemdUnit(t *testing.T) {
	t.Parallel()
	u := readUnit(t)
	for _, want := range []struct{ section, key, value string }{
		{"Unit", "After", "network-online.target"},
		{"Unit", "Wants", "network-online.target"},
		{"Service", "ExecStart", "/usr/local/bin/karkas --config /etc/karkas/karkas.yaml serve"},
		{"Service", "Restart", "on-failure"},
		{"Service", "DynamicUser", "yes"},
		{"Service", "StateDirectory", "karkas"},
		{"Service", "ProtectSystem", "strict"},
		{"Service", "ProtectHome", "yes"},
		{"Service", "PrivateTmp", "yes"},
		{"Service", "NoNewPrivileges", "yes"},
		{"Service", "RestrictAddressFamilies", "AF_INET AF_INET6 AF_UNIX"},
		{"Install", "WantedBy", "multi-user.target"},
	} {
		if got := u.one(want.section, want.key); got != want.value {
			t.Errorf("[%s] %s=%q, want %q", want.section, want.key, got, want.value)
		}
	}
	if u.one("Unit", "Description") == "" {
		t.Error("[Unit] has no Description")
	}
	if f := u.values("Service", "SystemCallFilter"); len(f) == 0 || f[0] != "@system-service" {
		t.Errorf("SystemCallFilter %q: want the allow list @system-service first", f)
	}
	stop, err := unitSeconds(u.one("Service", "TimeoutStopSec"))
	if err != nil || stop <= 30*time.Second || stop > 90*time.Second {
		t.Errorf("TimeoutStopSec=%q (%v): want a little over the daemon's 30 s shutdown", u.one("Service", "TimeoutStopSec"), err)
	}
	// Nothing the service writes is outside its state folder and /tmp.
	for _, key := range []string{"ReadWritePaths", "LogsDirectory", "CacheDirectory"} {
		if v := u.values("Service", key); len(v) > 0 {
			t.Errorf("%s=%q: the examples write the state folder only", key, v)
		}
	}

	env := map[string]string{"CREDENTIALS_DIRECTORY": "/run/credentials/karkas.service"}
	for _, e := range u.values("Service", "Environment") {
		for _, kv := range strings.Fields(e) {
			k, v, _ := strings.Cut(kv, "=")
			env[k] = v
		}
	}
	cmdline := strings.Fields(u.one("Service", "ExecStart"))
	if i := slices.Index(cmdline, "--config"); i < 0 || i+1 >= len(cmdline) || cmdline[i+1] != "/etc/karkas/karkas.yaml" {
		t.Fatalf("ExecStart %q: want --config /etc/karkas/karkas.yaml, where the README installs deploy/karkas.yaml", cmdline)
	}
	text, err := os.ReadFile("karkas.yaml")
	if err != nil {
		t.Fatal(err)
	}
	l := parseConfig(t, "/etc/karkas/karkas.yaml", string(text), env)
	state := "/var/lib/" + u.one("Service", "StateDirectory")
	if got := l.StoreURL(); got != "sqlite:"+state+"/karkas.db" {
		t.Errorf("the unit's store is %q, want a SQLite file in the state folder %s", got, state)
	}
	if wd := u.one("Service", "WorkingDirectory"); wd != "" && wd != state {
		t.Errorf("WorkingDirectory=%s, outside the state folder %s", wd, state)
	}
	credentials := map[string]bool{}
	loaded := u.values("Service", "LoadCredential")
	for _, c := range loaded {
		name, file, ok := strings.Cut(c, ":")
		if !ok || !strings.HasPrefix(file, "/etc/karkas/secrets/") {
			t.Errorf("LoadCredential=%s: want NAME:/etc/karkas/secrets/FILE", c)
		}
		credentials[name] = true
	}
	files := secretFiles(string(text), env)
	if len(files) == 0 {
		t.Fatal("the config reads no secret file; the unit's credentials would be for nothing")
	}
	for _, f := range files {
		if path.Dir(f) != env["CREDENTIALS_DIRECTORY"] || !credentials[path.Base(f)] {
			t.Errorf("the config reads %s, which is not a credential the unit loads (%q)", f, loaded)
		}
		delete(credentials, path.Base(f))
	}
	for name := range credentials {
		t.Errorf("LoadCredential %s: the config reads no such file", name)
	}
}

// unitSeconds reads a systemd time span as the unit writes them: "45s",
// "1min 30s", or plain seconds.
func unitSeconds(s string) (time.Duration, error) {
	if n, err := strconv.Atoi(s); err == nil {
		return time.Duration(n) * time.Second, nil
	}
	return time.ParseDuration(strings.NewReplacer("min", "m", " ", "").Replace(s))
}

// systemd itself reads the unit: `systemd-analyze verify` says nothing of
// it (it exits 0 on unknown keys and bad values, so any output fails), and
// `systemd-analyze security` rates its exposure 2.0 or better. The binary
// the unit starts is not installed here, so the unit is verified with
// ExecStart pointing at an executable that is. With CI=true a missing
// systemd-analyze is a failure.
func TestSystemdAnalyze(t *testing.T) {
	t.Parallel()
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("systemd-analyze is not installed and CI=true: install Debian's systemd package")
		}
		t.Skip("systemd-analyze is not installed (Debian's systemd package); the unit is only parsed")
	}
	stand, err := exec.LookPath("true")
	if err != nil {
		t.Fatal(err)
	}
	text, err := os.ReadFile(unitFile)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(text, []byte("ExecStart=/usr/local/bin/karkas ")) {
		t.Fatal("ExecStart does not start /usr/local/bin/karkas")
	}
	unit := filepath.Join(t.TempDir(), "karkas.service")
	if err := os.WriteFile(unit, bytes.Replace(text, []byte("ExecStart=/usr/local/bin/karkas "), []byte("ExecStart="+stand+" "), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"verify", unit},
		{"security", "--offline=yes", "--threshold=20", unit},
	} {
		cmd := exec.Command(analyze, args...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		msg := strings.TrimSpace(stderr.String())
		if args[0] == "verify" && msg != "" {
			t.Errorf("systemd-analyze verify says:\n%s", msg)
		}
		if err != nil {
			t.Errorf("systemd-analyze %s: %v\n%s", strings.Join(args[:len(args)-1], " "), err, msg)
		}
	}
}
