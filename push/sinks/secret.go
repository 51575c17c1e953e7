package sinks

import (
	"strings"

	"github.com/karkas/karkas/connectors"
	"github.com/karkas/karkas/internal/secret"
)

// readSecret returns the option name inline or from its *_file (relative
// to the config's folder), read through env's secrets so that no output
// or stored error shows it; required says one of them must be set.
func readSecret(env connectors.Env, name, inline, file string, required bool) (string, error) {
	return env.Secrets.Read(secret.Spec{Name: name, Inline: inline, File: file, BaseDir: env.BaseDir,
		Required: required, EnvHint: strings.ToUpper(name)})
}
