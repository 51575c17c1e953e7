package mapping

import (
	"encoding"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/karkas/karkas/internal/secret"
	"github.com/karkas/karkas/sla"
)

// Problem is one thing wrong with a config file, at a position.
type Problem struct {
	File string
	Line int
	Col  int
	// Path is where in the document: clients[0].boards[1].
	Path    string
	Message string
	// Warning problems are printed but do not fail validation.
	Warning bool
}

func (p Problem) String() string {
	sev := ""
	if p.Warning {
		sev = "warning: "
	}
	if p.Path == "" {
		return fmt.Sprintf("%s:%d:%d: %s%s", p.File, p.Line, p.Col, sev, p.Message)
	}
	return fmt.Sprintf("%s:%d:%d: %s: %s%s", p.File, p.Line, p.Col, p.Path, sev, p.Message)
}

// Problems is every problem found in a config; as an error it lists the
// errors (not the warnings), one a line.
type Problems []Problem

// Errors returns the problems that are not warnings.
func (ps Problems) Errors() Problems {
	var out Problems
	for _, p := range ps {
		if !p.Warning {
			out = append(out, p)
		}
	}
	return out
}

func (ps Problems) Error() string {
	var b strings.Builder
	for i, p := range ps.Errors() {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(p.String())
	}
	return b.String()
}

// Decoder walks a YAML node tree into Go values described by struct tags,
// collecting every problem instead of stopping at the first. yaml.v3's own
// decoder reports only a line and stops at type errors; a config linter has
// to report line:col for all of them, so this walker is written by hand.
//
// Struct tags it reads:
//
//	yaml:"name"       the key (fields without one are skipped)
//	required:"true"   the key must be present and not empty
//	enum:"a,b,c"      a string must be one of these
//	secret:"url"      a URL whose password, if it has one, is a secret (the store's)
//	env:"NAME"        a secret.Value's environment variable, for the hint when it is required and missing
//	exact:"true"      a secret.Value is kept as written (a password may begin or end with a space)
//	doc:"..."         a description, used by the JSON Schema
//
// A field of type secret.Value named token takes token (inline, usually
// ${VAR}) or token_file (a file, relative to BaseDir), not both; the
// decoder reads the file, once, and reports what is wrong with it at its
// line. Every secret karkas reads from a config is such a field.
//
// A field of type yaml.Node receives the raw node (connector options are
// decoded later against the connector's own struct).
type Decoder struct {
	File     string
	Problems Problems
	// LookupEnv reads the environment; os.LookupEnv when nil.
	LookupEnv func(string) (string, bool)
	// Secrets, when set, keeps every secret.Value and the password of a
	// URL tagged secret:"url", so that the caller can keep them out of
	// what it prints; it also reads *_file secrets (nil: read, not kept).
	Secrets *secret.Set
	// BaseDir anchors a relative *_file: the config's folder (the folder
	// of File when empty).
	BaseDir string
	// Nodes records the value node of every path decoded, so that checks
	// made after decoding can point at the right line and column.
	Nodes map[string]*yaml.Node

	// aliased counts the nodes decoded through an alias; inAlias holds
	// the aliases being decoded, to refuse one that contains itself.
	aliased int
	inAlias map[*yaml.Node]bool
}

// MaxAliasedNodes bounds the nodes Decode reaches through YAML aliases. A
// node tree shares an anchored node among its aliases, so yaml.v3's own
// guard against alias bombs (which counts the values it decodes) never
// sees it; this walker expands every alias, and ten anchors of ten
// aliases each would make it decode 10^10 nodes. Real configs alias a
// calendar or a policy block a few times.
const MaxAliasedNodes = 100_000

// At returns the node decoded at path, or a node at 1:1 when unknown.
func (d *Decoder) At(path string) *yaml.Node {
	if n, ok := d.Nodes[path]; ok {
		return n
	}
	return &yaml.Node{Line: 1, Column: 1}
}

var (
	nodeType      = reflect.TypeOf(yaml.Node{})
	durationType  = reflect.TypeOf(time.Duration(0))
	policySetType = reflect.TypeFor[PolicySet]()
	secretType    = reflect.TypeFor[secret.Value]()
	textType      = reflect.TypeFor[encoding.TextUnmarshaler]()
)

func (d *Decoder) errorf(n *yaml.Node, path, format string, args ...any) {
	d.Problems = append(d.Problems, Problem{File: d.File, Line: n.Line, Col: n.Column, Path: path, Message: fmt.Sprintf(format, args...)})
}

func (d *Decoder) warnf(n *yaml.Node, path, format string, args ...any) {
	d.Problems = append(d.Problems, Problem{File: d.File, Line: n.Line, Col: n.Column, Path: path, Message: fmt.Sprintf(format, args...), Warning: true})
}

// Decode fills the value v points to from n.
func (d *Decoder) Decode(n *yaml.Node, v any, path string) {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		panic("mapping: Decode needs a non-nil pointer")
	}
	d.decode(n, rv.Elem(), path, fieldInfo{})
}

type fieldInfo struct {
	enum []string
	// secretURL: a URL whose password alone is a secret.
	secretURL bool
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func (d *Decoder) decode(n *yaml.Node, v reflect.Value, path string, fi fieldInfo) {
	for n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		if !d.enterAlias(n, path) {
			return
		}
		defer delete(d.inAlias, n.Alias)
		n = n.Alias
	}
	if len(d.inAlias) > 0 {
		d.aliased++
		if d.aliased == MaxAliasedNodes+1 {
			d.errorf(n, path, "aliases expand to more than %d values; not decoded further (an alias bomb?)", MaxAliasedNodes)
		}
		if d.aliased > MaxAliasedNodes {
			return
		}
	}
	if d.Nodes == nil {
		d.Nodes = map[string]*yaml.Node{}
	}
	d.Nodes[path] = n
	if v.Type() == nodeType {
		v.Set(reflect.ValueOf(*n))
		return
	}
	if v.Type() == policySetType {
		d.decodePolicySet(n, v, path)
		return
	}
	if v.Type() == secretType {
		// A secret outside a struct (a list's item) is inline only.
		if n.Kind != yaml.ScalarNode {
			d.errorf(n, path, "expected a single value, got %s", describe(n))
			return
		}
		if !strings.Contains(n.Value, "${") && !isNull(n) {
			d.warnf(n, path, "secret written in the file; use ${ENV_VAR} so it stays out of git")
		}
		val, err := d.Secrets.Resolve(path, d.expand(n, path), "", "", false)
		if err != nil {
			d.errorf(n, path, "%v", err)
			return
		}
		v.Set(reflect.ValueOf(val))
		return
	}
	if isNull(n) && v.Kind() != reflect.Pointer {
		// An empty value leaves the default in place.
		return
	}
	if v.Kind() != reflect.Pointer && reflect.PointerTo(v.Type()).Implements(textType) {
		if n.Kind != yaml.ScalarNode {
			d.errorf(n, path, "expected a single value, got %s", describe(n))
			return
		}
		if err := v.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(d.expand(n, path))); err != nil {
			d.errorf(n, path, "%v", err)
		}
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		if isNull(n) {
			return
		}
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		d.decode(n, v.Elem(), path, fi)
	case reflect.Struct:
		d.decodeStruct(n, v, path)
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			d.errorf(n, path, "expected a list, got %s", describe(n))
			return
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, c := range n.Content {
			d.decode(c, s.Index(i), fmt.Sprintf("%s[%d]", path, i), fi)
		}
		v.Set(s)
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			d.errorf(n, path, "expected a mapping, got %s", describe(n))
			return
		}
		m := reflect.MakeMapWithSize(v.Type(), len(n.Content)/2)
		seen := map[string]bool{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			key := d.expand(k, path)
			if seen[key] {
				d.errorf(k, path, "key %q appears twice", key)
				continue
			}
			seen[key] = true
			ev := reflect.New(v.Type().Elem()).Elem()
			d.decode(val, ev, fmt.Sprintf("%s[%q]", path, key), fi)
			m.SetMapIndex(reflect.ValueOf(key).Convert(v.Type().Key()), ev)
		}
		v.Set(m)
	default:
		d.decodeScalar(n, v, path, fi)
	}
}

// decodePolicySet reads a policy set: each key is a policy's (sla.Policies),
// decoded into the policy's rule and checked by the policy.
func (d *Decoder) decodePolicySet(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.errorf(n, path, "expected a mapping, got %s", describe(n))
		return
	}
	keys := make([]string, len(sla.Policies))
	for i, p := range sla.Policies {
		keys[i] = p.Key
	}
	var ps PolicySet
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		at := join(path, k.Value)
		j := slices.Index(keys, k.Value)
		switch {
		case j < 0:
			hint := "typo, or not supported in this version"
			if s := closest(k.Value, keys); s != "" {
				hint = fmt.Sprintf("did you mean %q? (typo, or not supported in this version)", s)
			}
			d.errorf(k, at, "unknown policy; %s (policies: %s)", hint, strings.Join(keys, ", "))
			continue
		case seen[k.Value]:
			d.errorf(k, at, "key appears twice")
			continue
		}
		seen[k.Value] = true
		p := &sla.Policies[j]
		rule := reflect.New(p.Rule()).Elem()
		before := len(d.Problems.Errors())
		d.decode(val, rule, at, fieldInfo{})
		if len(d.Problems.Errors()) > before {
			continue
		}
		for _, pr := range p.Check(rule.Interface()) {
			fp := at
			if pr.Field != "" {
				fp = at + pr.Field
				if !strings.HasPrefix(pr.Field, "[") {
					fp = join(at, pr.Field)
				}
			}
			d.errorf(d.At(fp), fp, "%s", pr.Message)
		}
		if err := ps.Add(rule.Interface()); err != nil {
			panic(err) // a policy whose rule is not its own: sla's tests catch it
		}
	}
	v.Set(reflect.ValueOf(ps))
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "a list"
	case yaml.MappingNode:
		return "a mapping"
	case yaml.ScalarNode:
		return fmt.Sprintf("%q", n.Value)
	}
	return "something else"
}

// enterAlias reports whether alias n may be decoded: not when its anchor
// is already being decoded (an alias inside its own anchor, which would
// recurse for ever) nor when aliases have expanded too far already.
func (d *Decoder) enterAlias(n *yaml.Node, path string) bool {
	if d.aliased > MaxAliasedNodes {
		return false
	}
	if d.inAlias[n.Alias] {
		d.errorf(n, path, "alias *%s is inside its own anchor", n.Value)
		return false
	}
	if d.inAlias == nil {
		d.inAlias = map[*yaml.Node]bool{}
	}
	d.inAlias[n.Alias] = true
	return true
}

func (d *Decoder) decodeStruct(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.errorf(n, path, "expected a mapping, got %s", describe(n))
		return
	}
	t := v.Type()
	byKey := map[string]int{}
	var keys []string
	for i := range t.NumField() {
		f := t.Field(i)
		name := yamlName(f)
		if name == "" {
			continue
		}
		byKey[name] = i
		keys = append(keys, name)
		if f.Type == secretType {
			byKey[name+"_file"] = i
			keys = append(keys, name+"_file")
		}
	}
	present := map[string]bool{}
	suggested := map[string]bool{}
	secrets := map[int]*secretKeys{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		idx, ok := byKey[k.Value]
		if !ok {
			hint := "typo, or not supported in this version"
			if s := closest(k.Value, keys); s != "" {
				suggested[s] = true
				hint = fmt.Sprintf("did you mean %q? (typo, or not supported in this version)", s)
			}
			d.errorf(k, join(path, k.Value), "unknown key; %s", hint)
			continue
		}
		if present[k.Value] {
			d.errorf(k, join(path, k.Value), "key appears twice")
			continue
		}
		present[k.Value] = true
		f := t.Field(idx)
		if f.Type == secretType {
			sk := secrets[idx]
			if sk == nil {
				sk = &secretKeys{}
				secrets[idx] = sk
			}
			if k.Value == yamlName(f) {
				sk.inline, sk.inlineKey = val, k
			} else {
				sk.file, sk.fileKey = val, k
			}
			continue
		}
		fi := fieldInfo{secretURL: f.Tag.Get("secret") == "url"}
		if e := f.Tag.Get("enum"); e != "" {
			fi.enum = strings.Split(e, ",")
		}
		d.decode(val, v.Field(idx), join(path, k.Value), fi)
		if f.Tag.Get("required") == "true" && isEmpty(val) {
			d.errorf(val, join(path, k.Value), "must not be empty")
		}
	}
	for i := range t.NumField() {
		f := t.Field(i)
		name := yamlName(f)
		if name != "" && f.Type == secretType {
			d.decodeSecret(n, v.Field(i), path, f, secrets[i], suggested[name] || suggested[name+"_file"])
			continue
		}
		// A missing key the typo hint already named is not reported twice.
		if name != "" && f.Tag.Get("required") == "true" && !present[name] && !suggested[name] {
			d.errorf(n, path, "missing required key %q", name)
		}
	}
}

// secretKeys are the nodes a secret.Value's two keys gave.
type secretKeys struct {
	inline, inlineKey, file, fileKey *yaml.Node
}

// decodeSecret resolves a secret.Value from its key or its _file key (sk:
// nil when neither is given) into v; hinted says a typo's hint named one
// of them already, so that a missing required secret is not reported
// twice.
func (d *Decoder) decodeSecret(n *yaml.Node, v reflect.Value, path string, f reflect.StructField, sk *secretKeys, hinted bool) {
	name := yamlName(f)
	if sk == nil {
		sk = &secretKeys{}
	}
	scalar := func(node *yaml.Node, key string) (string, bool) {
		if node != nil && node.Kind == yaml.AliasNode && node.Alias != nil {
			node = node.Alias
		}
		if node == nil || isNull(node) {
			return "", true
		}
		d.Nodes[join(path, key)] = node
		if node.Kind != yaml.ScalarNode {
			d.errorf(node, join(path, key), "expected a single value, got %s", describe(node))
			return "", false
		}
		return d.expand(node, join(path, key)), true
	}
	if d.Nodes == nil {
		d.Nodes = map[string]*yaml.Node{}
	}
	inline, ok1 := scalar(sk.inline, name)
	file, ok2 := scalar(sk.file, name+"_file")
	if !ok1 || !ok2 {
		return
	}
	if inline != "" && file != "" {
		d.errorf(sk.fileKey, join(path, name+"_file"), "give %s or %s_file, not both", name, name)
		return
	}
	if inline == "" && file == "" {
		if f.Tag.Get("required") != "true" || hinted && sk.inlineKey == nil && sk.fileKey == nil {
			return
		}
		at, node := path, n
		if sk.inlineKey != nil {
			at, node = join(path, name), sk.inline
		} else if sk.fileKey != nil {
			at, node = join(path, name+"_file"), sk.file
		}
		d.errorf(node, at, "%s", secret.HowToSet(name, f.Tag.Get("env")))
		return
	}
	if inline != "" && !strings.Contains(sk.inline.Value, "${") {
		d.warnf(sk.inline, join(path, name), "secret written in the file; use ${ENV_VAR} so it stays out of git")
	}
	base := d.BaseDir
	if base == "" {
		base = filepath.Dir(d.File)
	}
	val, err := d.Secrets.Resolve(name, inline, file, base, f.Tag.Get("exact") == "true")
	if err != nil {
		node, at := sk.inline, join(path, name)
		if file != "" {
			node, at = sk.file, join(path, name+"_file")
		}
		d.errorf(node, at, "%v", err)
		return
	}
	v.Set(reflect.ValueOf(val))
}

func isEmpty(n *yaml.Node) bool {
	return isNull(n) || (n.Kind == yaml.ScalarNode && strings.TrimSpace(n.Value) == "") ||
		((n.Kind == yaml.SequenceNode || n.Kind == yaml.MappingNode) && len(n.Content) == 0)
}

func yamlName(f reflect.StructField) string {
	if !f.IsExported() {
		return ""
	}
	tag := f.Tag.Get("yaml")
	if tag == "" || tag == "-" {
		return ""
	}
	name, _, _ := strings.Cut(tag, ",")
	return name
}

func (d *Decoder) decodeScalar(n *yaml.Node, v reflect.Value, path string, fi fieldInfo) {
	if n.Kind != yaml.ScalarNode {
		d.errorf(n, path, "expected a single value, got %s", describe(n))
		return
	}
	s := d.expand(n, path)
	if fi.secretURL && s != "" {
		d.Secrets.AddURL(s)
	}
	if fi.secretURL && urlHasPassword(s) && !strings.Contains(n.Value, "${") {
		d.warnf(n, path, "secret written in the file; use ${ENV_VAR} so it stays out of git")
	}
	if v.Type() == durationType {
		dur, err := time.ParseDuration(s)
		if err != nil {
			d.errorf(n, path, "not a duration (examples: 90s, 15m, 2h): %q", s)
			return
		}
		v.SetInt(int64(dur))
		return
	}
	switch v.Kind() {
	case reflect.String:
		if len(fi.enum) > 0 && !contains(fi.enum, s) {
			d.errorf(n, path, "%q is not one of: %s", s, strings.Join(fi.enum, ", "))
			return
		}
		v.SetString(s)
	case reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			d.errorf(n, path, "expected true or false, got %q", s)
			return
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int64, reflect.Int32:
		i, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			d.errorf(n, path, "expected a whole number, got %q", s)
			return
		}
		v.SetInt(i)
	case reflect.Float64, reflect.Float32:
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			d.errorf(n, path, "expected a number, got %q", s)
			return
		}
		v.SetFloat(f)
	default:
		d.errorf(n, path, "cannot hold a value of Go type %s", v.Type())
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

var envRef = regexp.MustCompile(`\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(:-([^}]*))?\}`)

// expand replaces ${VAR} and ${VAR:-default} in a scalar; $$ is a literal $.
// An unset variable without a default is a problem at the scalar's position.
func (d *Decoder) expand(n *yaml.Node, path string) string {
	if !strings.Contains(n.Value, "$") {
		return n.Value
	}
	lookup := d.LookupEnv
	if lookup == nil {
		lookup = os.LookupEnv
	}
	return envRef.ReplaceAllStringFunc(n.Value, func(m string) string {
		if m == "$$" {
			return "$"
		}
		sub := envRef.FindStringSubmatch(m)
		if val, ok := lookup(sub[1]); ok && val != "" {
			return val
		}
		if sub[2] != "" {
			return sub[3]
		}
		d.errorf(n, path, "environment variable %s is not set (write ${%s:-default} to give a default)", sub[1], sub[1])
		return ""
	})
}

// closest returns the candidate nearest to s by edit distance, if close.
func closest(s string, candidates []string) string {
	best, bestDist := "", 3
	sorted := append([]string(nil), candidates...)
	sort.Strings(sorted)
	for _, c := range sorted {
		if dist := levenshtein(strings.ToLower(s), strings.ToLower(c)); dist < bestDist {
			best, bestDist = c, dist
		}
	}
	return best
}

func levenshtein(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

// urlHasPassword reports a password in a URL (postgres://u:pw@host/db) or
// in a key=value connection string (password=pw). A sqlite: path or a URL
// without one holds nothing secret.
func urlHasPassword(s string) bool {
	if u, err := url.Parse(s); err == nil && u.User != nil {
		if _, ok := u.User.Password(); ok {
			return true
		}
	}
	return strings.Contains(strings.ToLower(s), "password=")
}
