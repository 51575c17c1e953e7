package mapping

import (
	"encoding/json"
	"path"
	"reflect"
	"sort"
	"strings"

	"github.com/karkas/karkas/sla"
)

// Schema returns the JSON Schema (draft 2020-12) of karkas.yaml, built from
// the same struct tags the decoder reads (yaml, required, enum, doc), so the
// schema cannot drift from what karkas accepts. sourceOptions maps each
// source kind to a pointer to its options struct, and sinks are the sink
// kinds, so that editors complete the options of the kind a source or a
// sink names.
//
// Written by hand rather than with a schema library: those read their own
// tags (jsonschema:"..."), which would have to repeat every yaml/enum/doc
// tag here and could then disagree with the decoder.
func Schema(sourceOptions map[string]any, sinks []SinkKind) ([]byte, error) {
	g := &schemaGen{defs: map[string]any{}, types: map[string]reflect.Type{}}
	root := g.typeSchema(reflect.TypeOf(Config{}), "")
	obj := root.(map[string]any)
	if ref, ok := obj["$ref"].(string); ok {
		obj = g.defs[strings.TrimPrefix(ref, "#/$defs/")].(map[string]any)
	}
	kinds := make([]string, 0, len(sourceOptions))
	for k := range sourceOptions {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	src := g.defs["Source"].(map[string]any)
	props := src["properties"].(map[string]any)
	props["kind"] = map[string]any{"type": "string", "enum": kinds, "description": "the connector"}
	var branches []any
	for _, k := range kinds {
		branches = append(branches, map[string]any{
			"if":   map[string]any{"properties": map[string]any{"kind": map[string]any{"const": k}}, "required": []string{"kind"}},
			"then": map[string]any{"properties": map[string]any{"options": g.typeSchema(reflect.TypeOf(sourceOptions[k]).Elem(), "")}},
		})
	}
	if len(branches) > 0 {
		src["allOf"] = branches
	}
	rule := g.defs["RouteRule"].(map[string]any)["properties"].(map[string]any)
	rule["policies"] = map[string]any{"type": "array", "items": map[string]any{"type": "string", "enum": sla.PolicyNames()},
		"description": "policies matched (all when empty): " + strings.Join(sla.PolicyNames(), ", ")}
	if len(sinks) > 0 {
		spec := g.defs["SinkSpec"].(map[string]any)
		var names, docs []string
		branches = nil
		for _, k := range sinks {
			names = append(names, k.Name)
			docs = append(docs, k.Name+" ("+k.Doc+")")
			branches = append(branches, map[string]any{
				"if":   map[string]any{"properties": map[string]any{"kind": map[string]any{"const": k.Name}}, "required": []string{"kind"}},
				"then": map[string]any{"properties": map[string]any{"options": g.typeSchema(reflect.TypeOf(k.Options()).Elem(), "")}},
			})
		}
		spec["properties"].(map[string]any)["kind"] = map[string]any{"type": "string", "enum": names, "description": strings.Join(docs, ", ")}
		spec["allOf"] = branches
	}
	out := map[string]any{
		"$schema":     "https://json-schema.org/draft/2020-12/schema",
		"$id":         "https://karkas.dev/schema/karkas.schema.json",
		"title":       "karkas.yaml",
		"description": "karkas configuration: the agency, its clients and people, calendars, statuses, policies and sources",
		"$defs":       g.defs,
	}
	for k, v := range obj {
		out[k] = v
	}
	return json.MarshalIndent(out, "", "  ")
}

var businessDurationType = reflect.TypeFor[sla.Duration]()

type schemaGen struct {
	defs  map[string]any
	types map[string]reflect.Type // the type each def was made from
}

func (g *schemaGen) typeSchema(t reflect.Type, doc string) any {
	s := map[string]any{}
	switch {
	case t == nodeType:
		s["type"] = "object"
	case t == durationType:
		s["type"] = "string"
		s["pattern"] = `^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$`
	case t == businessDurationType:
		s["type"] = "string"
		s["pattern"] = sla.DurationPattern
	case t == policySetType:
		// A policy set's keys are the policies' (sla.Policies).
		if _, ok := g.defs["PolicySet"]; !ok {
			props := map[string]any{}
			for i := range sla.Policies {
				p := &sla.Policies[i]
				props[p.Key] = g.typeSchema(p.Rule(), p.Doc)
			}
			g.defs["PolicySet"] = map[string]any{"type": "object", "properties": props, "additionalProperties": false}
		}
		ref := map[string]any{"$ref": "#/$defs/PolicySet"}
		if doc != "" {
			ref["description"] = doc
		}
		return ref
	case t.Kind() != reflect.Pointer && reflect.PointerTo(t).Implements(textType):
		s["type"] = "string"
	default:
		switch t.Kind() {
		case reflect.Pointer:
			return g.typeSchema(t.Elem(), doc)
		case reflect.Struct:
			name := t.Name()
			if seen, ok := g.types[name]; ok && seen != t {
				// Two packages' types of one name (two connectors'
				// Options): the later one is named by its package too.
				name = path.Base(t.PkgPath()) + "." + name
			}
			g.types[name] = t
			if _, ok := g.defs[name]; !ok {
				g.defs[name] = map[string]any{} // break cycles
				g.defs[name] = g.structSchema(t)
			}
			ref := map[string]any{"$ref": "#/$defs/" + name}
			if doc != "" {
				ref["description"] = doc
			}
			return ref
		case reflect.Slice:
			s["type"] = "array"
			s["items"] = g.typeSchema(t.Elem(), "")
		case reflect.Map:
			s["type"] = "object"
			s["additionalProperties"] = g.typeSchema(t.Elem(), "")
		case reflect.String:
			s["type"] = "string"
		case reflect.Bool:
			s["type"] = "boolean"
		case reflect.Int, reflect.Int32, reflect.Int64:
			s["type"] = "integer"
		case reflect.Float32, reflect.Float64:
			s["type"] = "number"
		}
	}
	if doc != "" {
		s["description"] = doc
	}
	return s
}

func (g *schemaGen) structSchema(t reflect.Type) map[string]any {
	props := map[string]any{}
	var required []string
	var anyOf []any
	for i := range t.NumField() {
		f := t.Field(i)
		name := yamlName(f)
		if name == "" {
			continue
		}
		if f.Type == secretType {
			// A secret.Value takes its key or its _file key (decodeSecret).
			props[name] = map[string]any{"type": "string", "description": f.Tag.Get("doc")}
			props[name+"_file"] = map[string]any{"type": "string", "description": "file holding " + name + " instead (relative to the config file)"}
			if f.Tag.Get("required") == "true" {
				anyOf = append(anyOf, map[string]any{"anyOf": []any{map[string]any{"required": []string{name}}, map[string]any{"required": []string{name + "_file"}}}})
			}
			continue
		}
		fs := g.typeSchema(f.Type, f.Tag.Get("doc"))
		if e := f.Tag.Get("enum"); e != "" {
			m := fs.(map[string]any)
			if items, ok := m["items"].(map[string]any); ok {
				items["enum"] = strings.Split(e, ",")
			} else {
				m["enum"] = strings.Split(e, ",")
			}
		}
		props[name] = fs
		if f.Tag.Get("required") == "true" {
			required = append(required, name)
		}
	}
	s := map[string]any{"type": "object", "properties": props, "additionalProperties": false}
	if len(required) > 0 {
		s["required"] = required
	}
	if len(anyOf) > 0 {
		s["allOf"] = anyOf
	}
	return s
}
