package main

import (
	"encoding/json"
	"flag"
	"os"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/karkas/karkas/push/sinks"
	"github.com/karkas/karkas/sync/pipeline"
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

// Each source and sink kind's options in the schema are its own struct's:
// two packages' option types of one name (connectors' Options) must not
// share one definition.
func TestSchemaOptionsPerKind(t *testing.T) {
	b, err := schemaJSON()
	if err != nil {
		t.Fatal(err)
	}
	var s struct {
		Defs map[string]struct {
			Properties map[string]json.RawMessage `json:"properties"`
			AllOf      []struct {
				If struct {
					Properties struct {
						Kind struct {
							Const string `json:"const"`
						} `json:"kind"`
					} `json:"properties"`
				} `json:"if"`
				Then struct {
					Properties struct {
						Options struct {
							Ref string `json:"$ref"`
						} `json:"options"`
					} `json:"properties"`
				} `json:"then"`
			} `json:"allOf"`
		} `json:"$defs"`
	}
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	reg := pipeline.Registry()
	options := map[string]map[string]any{"Source": {}, "SinkSpec": {}}
	for _, name := range reg.Names() {
		k, _ := reg.Lookup(name)
		options["Source"][name] = k.NewOptions()
	}
	for _, k := range sinks.Kinds() {
		options["SinkSpec"][k.Name] = k.Options()
	}
	for def, kinds := range options {
		branches := map[string]string{}
		for _, br := range s.Defs[def].AllOf {
			branches[br.If.Properties.Kind.Const] = strings.TrimPrefix(br.Then.Properties.Options.Ref, "#/$defs/")
		}
		for kind, o := range kinds {
			ref, ok := branches[kind]
			if !ok {
				t.Errorf("%s kind %s: no options in the schema", def, kind)
				continue
			}
			var want []string
			rt := reflect.TypeOf(o).Elem()
			for i := range rt.NumField() {
				if n, _, _ := strings.Cut(rt.Field(i).Tag.Get("yaml"), ","); n != "" && n != "-" {
					want = append(want, n)
				}
			}
			var got []string
			for p := range s.Defs[ref].Properties {
				got = append(got, p)
			}
			sort.Strings(want)
			sort.Strings(got)
			if !slices.Equal(got, want) {
				t.Errorf("%s kind %s: the schema's options (%s) are %v, its struct's %v", def, kind, ref, got, want)
			}
		}
	}
}
