package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRun(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		args    []string
		wantErr bool
		want    []string
	}{
		{name: "default seed", args: []string{"-scale", "1"}, want: []string{"cards", "time entries", "emails"}},
		{name: "bad scale", args: []string{"-scale", "0"}, wantErr: true},
		{name: "unknown flag", args: []string{"-nope"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			var out bytes.Buffer
			err := run(append([]string{"-out", dir}, tt.args...), &out)
			if (err != nil) != tt.wantErr {
				t.Fatalf("run: %v, want error %v", err, tt.wantErr)
			}
			if tt.wantErr {
				return
			}
			for _, w := range tt.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, out.String())
				}
			}
			if _, err := os.Stat(filepath.Join(dir, "trello", "acme.json")); err != nil {
				t.Error(err)
			}
		})
	}
}
