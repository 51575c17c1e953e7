package sinks

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// secret returns inline, or the content of file (relative to baseDir)
// trimmed; required says one of them must be set.
func secret(name, inline, file, baseDir string, required bool) (string, error) {
	switch {
	case inline != "" && file != "":
		return "", fmt.Errorf("%s and %s_file are both set; keep one", name, name)
	case inline != "":
		return strings.TrimSpace(inline), nil
	case file == "":
		if required {
			return "", fmt.Errorf("%s: set %s (from the environment, e.g. ${%s}) or %s_file", name, name, strings.ToUpper(name), name)
		}
		return "", nil
	}
	if !filepath.IsAbs(file) && baseDir != "" {
		file = filepath.Join(baseDir, file)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("reading %s_file: %w", name, err)
	}
	s := strings.TrimSpace(string(b))
	if s == "" {
		return "", fmt.Errorf("%s_file %s is empty", name, file)
	}
	return s, nil
}
