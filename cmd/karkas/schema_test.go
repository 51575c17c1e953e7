package main

import (
	"encoding/json"
	"flag"
	"os"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/karkas/karkas/internal/secret"
	"github.com/karkas/karkas/mapping"
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
					if rt.Field(i).Type == reflect.TypeFor[secret.Value]() {
						want = append(want, n+"_file")
					}
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

// Every credential a config gives is a secret.Value, which the decoder
// resolves from its key or its _file key: no options struct reads a
// secret as a plain string or a file of its own.
func TestSecretsAreSecretValues(t *testing.T) {
	types := []reflect.Type{reflect.TypeFor[mapping.Config]()}
	reg := pipeline.Registry()
	for _, name := range reg.Names() {
		k, _ := reg.Lookup(name)
		types = append(types, reflect.TypeOf(k.NewOptions()))
	}
	for _, k := range sinks.Kinds() {
		types = append(types, reflect.TypeOf(k.Options()))
	}
	credential := regexp.MustCompile(`^(.*_)?(token|tokens|key|password|secret|client_secret|refresh_token|client_id|url)$`)
	seen := map[reflect.Type]bool{}
	var walk func(typ reflect.Type, at string)
	walk = func(typ reflect.Type, at string) {
		for typ.Kind() == reflect.Pointer || typ.Kind() == reflect.Slice || typ.Kind() == reflect.Map {
			typ = typ.Elem()
		}
		if typ.Kind() != reflect.Struct || typ == reflect.TypeFor[secret.Value]() || seen[typ] {
			return
		}
		seen[typ] = true
		keys := map[string]bool{}
		for f := range typ.Fields() {
			if n, _, _ := strings.Cut(f.Tag.Get("yaml"), ","); n != "" && n != "-" {
				keys[n] = true
			}
		}
		for f := range typ.Fields() {
			n, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if n == "" || n == "-" {
				continue
			}
			where := at + typ.Name() + "." + f.Name
			base, isFile := strings.CutSuffix(n, "_file")
			switch {
			case isFile && keys[base]:
				t.Errorf("%s (%s): a file of %s's own; make %s a secret.Value", where, n, base, base)
			case f.Type.Kind() == reflect.String && credential.MatchString(n) && f.Tag.Get("secret") != "url" && !strings.HasSuffix(n, "base_url") && !strings.HasSuffix(n, "token_url"):
				// A plain string named like a credential: a public
				// client id (serve's OIDC) or an endpoint is allowed by
				// its own name below.
				if !notSecret[where] {
					t.Errorf("%s (%s): a credential as a plain string; make it a secret.Value", where, n)
				}
			}
			walk(f.Type, at)
		}
	}
	for _, typ := range types {
		walk(typ, "")
	}
	if len(seen) < 20 {
		t.Errorf("only %d option types walked: is the registry read?", len(seen))
	}
}

// notSecret are strings named like credentials that are not: an OAuth
// client id the provider shows in every sign-in URL, the address people
// open karkas at.
var notSecret = map[string]bool{"OIDC.ClientID": true, "Serve.PublicURL": true}
