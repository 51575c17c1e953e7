package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The config the deploy examples run (deploy/karkas.yaml) validates with
// every connector's options, in the environment they give it: a store
// URL and a folder of secret files.
func TestDeployConfigValidates(t *testing.T) {
	t.Parallel()
	creds := t.TempDir()
	for _, name := range []string{"trello-key", "trello-token", "smtp-password"} {
		if err := os.WriteFile(filepath.Join(creds, name), []byte("not-a-real-secret\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	env := map[string]string{
		"KARKAS_STORE":          "sqlite:" + filepath.Join(t.TempDir(), "karkas.db"),
		"CREDENTIALS_DIRECTORY": creds,
	}
	code, out, errOut := runCLI(t, env, "validate", "--config", "../../deploy/karkas.yaml")
	if code != exitOK || !strings.Contains(out, ": ok (") || errOut != "" {
		t.Errorf("validate deploy/karkas.yaml: exit %d\n%s%s", code, out, errOut)
	}
}
