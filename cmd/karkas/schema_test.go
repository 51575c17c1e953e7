package main

import (
	"flag"
	"os"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files")

// The shipped schema must be what the code generates: editors trust it.
func TestSchemaUpToDate(t *testing.T) {
	got, err := schemaJSON()
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	const path = "../../configs/karkas.schema.json"
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("%s is stale: run go test ./cmd/karkas -run TestSchemaUpToDate -update", path)
	}
}
