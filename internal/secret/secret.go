// Package secret is the one place karkas reads secrets and the one place
// it keeps them out of what it says.
//
// Every credential a connector or a sink uses is read through Set.Read
// (inline from the config, usually ${VAR}, or from a *_file), which caps
// the file, warns when others may read it, and adds the value to the Set.
// Every text karkas lets out — its output and log lines (Set.Writer), and
// the error texts it stores (the store's Redact hook) — goes through
// Set.Redact, which replaces each secret in every form a server or a
// library is known to echo it in: as written, base64 (standard and URL
// alphabets, at any offset within a longer blob, so AUTH PLAIN and Basic
// auth echoes are caught), URL-encoded (query and path), JSON- and
// Go-quoted. No library does this for a set of values known only at run
// time, so it is written here.
package secret

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Redacted replaces a secret in text.
const Redacted = "[redacted]"

// MaxFile is the most a secret file may hold: a token, a password or a
// PEM key is far smaller; /dev/zero or a log file named by mistake is
// refused rather than read into memory.
const MaxFile = 64 << 10

// minLen is the shortest value that is redacted: a shorter one would
// blank common words, and is no secret worth the name.
const minLen = 4

// minForm is the shortest derived form (a base64 core) that is redacted.
const minForm = 6

// Set holds the secrets one run of karkas has read and redacts them. A
// nil *Set reads secrets without keeping them and redacts nothing, for
// tests of one connector. It is safe for concurrent use.
type Set struct {
	// Log gets the warnings of Read (a secret file others may read).
	Log *slog.Logger

	mu       sync.RWMutex
	values   map[string]bool
	forms    []string
	replacer *strings.Replacer
	warned   map[string]bool
}

// NewSet returns an empty set.
func NewSet() *Set { return &Set{values: map[string]bool{}, warned: map[string]bool{}} }

// Add keeps v (and its echoed forms) for redaction. Values shorter than
// four bytes, surrounding space aside, are not kept.
func (s *Set) Add(v string) {
	if s == nil {
		return
	}
	v = strings.TrimSpace(v)
	if len(v) < minLen {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.values[v] {
		return
	}
	s.values[v] = true
	s.forms = append(s.forms, forms(v)...)
	s.replacer = nil
}

// AddURL keeps the password of a URL's user info (a store URL's), if it
// has one; the rest of the URL stays readable.
func (s *Set) AddURL(raw string) {
	if s == nil || raw == "" {
		return
	}
	if u, err := url.Parse(strings.TrimSpace(raw)); err == nil {
		if p, ok := u.User.Password(); ok {
			s.Add(p)
		}
	}
}

// AddSecretURL keeps a URL that is a secret as a whole (a chat webhook's,
// whose token is in its path or query): the URL, its password, its path,
// each long path segment, its query and each long query value. The scheme
// and host stay readable, so that an error still says where it went.
func (s *Set) AddSecretURL(raw string) {
	if s == nil || raw == "" {
		return
	}
	raw = strings.TrimSpace(raw)
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		s.Add(raw)
		return
	}
	s.AddURL(raw)
	if u.RawQuery != "" {
		s.Add(u.RawQuery)
		for _, vs := range u.Query() {
			for _, v := range vs {
				if len(v) >= 12 {
					s.Add(v)
				}
			}
		}
	}
	if len(u.Path) > 1 {
		s.Add(u.Path)
		s.Add(u.EscapedPath())
		for _, seg := range strings.Split(u.Path, "/") {
			if len(seg) >= 16 {
				s.Add(seg)
			}
		}
	}
}

// AddOption keeps a secret a config gives: as Add, and as AddSecretURL
// too when it is a URL (a chat webhook's).
func (s *Set) AddOption(v string) {
	s.Add(v)
	if strings.Contains(v, "://") {
		s.AddSecretURL(v)
	}
}

// Redact returns text with every kept secret, in every form, replaced by
// [redacted].
func (s *Set) Redact(text string) string {
	if s == nil || text == "" {
		return text
	}
	s.mu.RLock()
	r := s.replacer
	n := len(s.forms)
	s.mu.RUnlock()
	if n == 0 {
		return text
	}
	if r == nil {
		s.mu.Lock()
		if s.replacer == nil {
			// Longest first: at one position the replacer tries the
			// pairs in order, and a longer form holds a shorter one.
			fs := slices.Clone(s.forms)
			slices.SortFunc(fs, func(a, b string) int { return len(b) - len(a) })
			pairs := make([]string, 0, 2*len(fs))
			for _, f := range slices.Compact(fs) {
				pairs = append(pairs, f, Redacted)
			}
			s.replacer = strings.NewReplacer(pairs...)
		}
		r = s.replacer
		s.mu.Unlock()
	}
	out := r.Replace(text)
	if strings.Contains(out, "…") {
		out = s.redactCut(out)
	}
	return out
}

// redactCut redacts the start of a secret that an excerpt cut off with
// "…" (an error line quotes at most so much of a server's answer).
func (s *Set) redactCut(text string) string {
	s.mu.RLock()
	forms := s.forms
	s.mu.RUnlock()
	var b strings.Builder
	for {
		i := strings.Index(text, "…")
		if i < 0 {
			b.WriteString(text)
			return b.String()
		}
		head := text[:i]
		cut := 0
		for _, f := range forms {
			for k := len(f) - 1; k >= minLen && k > cut; k-- {
				if strings.HasSuffix(head, f[:k]) {
					cut = k
					break
				}
			}
		}
		if cut > 0 {
			head = head[:len(head)-cut] + Redacted
		}
		b.WriteString(head + "…")
		text = text[i+len("…"):]
	}
}

// Error returns err's text redacted.
func (s *Set) Error(err error) string {
	if err == nil {
		return ""
	}
	return s.Redact(err.Error())
}

// Writer returns w with every write redacted. Each write is redacted on
// its own: karkas writes a line (or a log record) at a time.
func (s *Set) Writer(w io.Writer) io.Writer {
	if s == nil {
		return w
	}
	return &writer{s: s, w: w}
}

type writer struct {
	s *Set
	w io.Writer
}

func (w *writer) Write(p []byte) (int, error) {
	out := w.s.Redact(string(p))
	if _, err := io.WriteString(w.w, out); err != nil {
		return 0, err
	}
	return len(p), nil
}

// forms returns the ways v is seen when a server or a library echoes it.
func forms(v string) []string {
	out := []string{v}
	add := func(f string) {
		if len(f) >= minForm || f == v {
			out = append(out, f)
		}
	}
	add(url.QueryEscape(v))
	add(url.PathEscape(v))
	add(strings.ReplaceAll(url.QueryEscape(v), "+", "%20"))
	if b, err := json.Marshal(v); err == nil {
		j := string(b[1 : len(b)-1])
		add(j)
		add(strings.ReplaceAll(j, "/", `\/`))
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if enc.Encode(v) == nil {
		add(strings.TrimSuffix(strings.TrimSpace(buf.String()), `"`)[1:])
	}
	for _, q := range []string{strconv.Quote(v), strconv.QuoteToASCII(v)} {
		add(q[1 : len(q)-1])
	}
	// Base64 of v at each offset modulo 3 within a longer blob: the
	// characters that depend on v's bytes alone ("\x00user\x00pass" of
	// AUTH PLAIN, "user:pass" of Basic auth).
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding} {
		add(enc.EncodeToString([]byte(v)))
		add(strings.TrimRight(enc.EncodeToString([]byte(v)), "="))
		for k := 0; k < 3; k++ {
			b := enc.EncodeToString(append(make([]byte, k), v...))
			from := (8*k + 5) / 6
			to := (8 * (k + len(v))) / 6
			if to > from {
				add(b[from:to])
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Spec is one secret to read: an option inline or its *_file.
type Spec struct {
	// Name is the option, e.g. "token"; its file option is Name+"_file".
	Name string
	// Inline is the option's value; File is the *_file option's.
	Inline, File string
	// BaseDir anchors a relative File: the config's folder.
	BaseDir string
	// Exact keeps the value as written but for a file's trailing line
	// ends: a password may begin or end with a space. Otherwise the value
	// is trimmed of space.
	Exact bool
}

// Read returns the secret sp names, from its inline value or its file,
// and keeps it in s; "" when neither is set (see Require). A
// file over MaxFile is refused; a file that its group or others may read
// gets a warning, as ssh gives one.
func (s *Set) Read(sp Spec) (string, error) {
	switch {
	case sp.Inline != "" && sp.File != "":
		return "", fmt.Errorf("%s and %s_file are both set; keep one", sp.Name, sp.Name)
	case sp.Inline != "":
		v := sp.Inline
		if !sp.Exact {
			v = strings.TrimSpace(v)
		}
		s.Add(v)
		return v, nil
	case sp.File == "":
		return "", nil
	}
	b, err := s.ReadFile(sp.Name+"_file", sp.File, sp.BaseDir)
	if err != nil {
		return "", err
	}
	v := string(b)
	if sp.Exact {
		v = strings.TrimRight(v, "\r\n")
	} else {
		v = strings.TrimSpace(v)
	}
	if strings.TrimSpace(v) == "" {
		return "", fmt.Errorf("%s_file %s is empty", sp.Name, sp.File)
	}
	s.Add(v)
	return v, nil
}

// ReadFile reads a secret file (option names it in errors), relative to
// baseDir, capped at MaxFile, warning once when group or others may read
// it. The content is not kept: the caller adds what in it is secret (a
// PEM file's key, a token file's token).
func (s *Set) ReadFile(option, file, baseDir string) ([]byte, error) {
	if !filepath.IsAbs(file) && baseDir != "" {
		file = filepath.Join(baseDir, file)
	}
	f, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", option, err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o077 != 0 {
		s.warn(file, fi.Mode().Perm())
	}
	b, err := io.ReadAll(io.LimitReader(f, MaxFile+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", option, err)
	}
	if len(b) > MaxFile {
		return nil, fmt.Errorf("%s %s: more than %d KiB; a secret file holds one secret", option, file, MaxFile>>10)
	}
	return b, nil
}

func (s *Set) warn(file string, perm fs.FileMode) {
	if s == nil || s.Log == nil {
		return
	}
	s.mu.Lock()
	seen := s.warned[file]
	s.warned[file] = true
	s.mu.Unlock()
	if !seen {
		s.Log.Warn(fmt.Sprintf("secret file %s may be read by its group or others (mode %04o); chmod 600 it", file, perm))
	}
}

// Value is a secret as a config gives it: inline under its key (usually
// ${VAR}, which the config's decoder expands) or in a file its key with
// _file names (token_file, relative to the config file). The config's
// decoder resolves it, once, for every option of this type: it reads the
// file (capped at MaxFile, warning when others may read it), keeps the
// value in the run's Set, and reports a missing or empty file, or both
// keys given, at its line. Code reads the secret with Reveal. Printed,
// logged or marshalled, a Value shows as [redacted], so that no dump of
// the options it sits in can leak it.
type Value struct {
	value string
	file  string
}

// Inline is the secret v as if written under its key.
func Inline(v string) Value { return Value{value: v} }

// FromFile is the secret v read from file.
func FromFile(v, file string) Value { return Value{value: v, file: file} }

// Reveal is the secret itself.
func (v Value) Reveal() string { return v.value }

// IsSet reports whether the config gives the secret, either way.
func (v Value) IsSet() bool { return v.value != "" }

// File is the file the secret was read from, "" when it was inline.
func (v Value) File() string { return v.file }

// String is [redacted], or "" when the secret is not set.
func (v Value) String() string {
	if v.value == "" {
		return ""
	}
	return Redacted
}

// GoString is what %#v prints: never the secret.
func (v Value) GoString() string { return strconv.Quote(v.String()) }

// MarshalText keeps the secret out of JSON, YAML and text encodings.
func (v Value) MarshalText() ([]byte, error) { return []byte(v.String()), nil }

// Resolve reads a Value the way a config gives it: inline (trimmed of
// space unless exact) or from file (anchored at baseDir; a trailing line
// end dropped when exact, else trimmed), keeping it in s. option names
// the key in errors (token; its file key is option+"_file").
func (s *Set) Resolve(option, inline, file, baseDir string, exact bool) (Value, error) {
	v, err := s.Read(Spec{Name: option, Inline: inline, File: file, BaseDir: baseDir, Exact: exact})
	if err != nil {
		return Value{}, err
	}
	s.AddOption(v) // a secret URL (a chat webhook's) in each of its parts
	if file == "" {
		return Inline(v), nil
	}
	return FromFile(v, file), nil
}

// Require is the secret v holds, kept in s (options built in code, not
// decoded, are kept too), or an error naming option, its _file key and
// envHint (e.g. TRELLO_TOKEN, when given) when v is not set.
func (s *Set) Require(v Value, option, envHint string) (string, error) {
	if !v.IsSet() {
		return "", fmt.Errorf("%s: %s", option, HowToSet(option, envHint))
	}
	s.AddOption(v.value)
	return v.value, nil
}

// HowToSet says how a config gives the secret option: "set token (e.g.
// ${PLANFIX_TOKEN}) or token_file", the hint only when envHint is given.
func HowToSet(option, envHint string) string {
	if envHint != "" {
		return fmt.Sprintf("set %s (e.g. ${%s}) or %s_file", option, envHint, option)
	}
	return fmt.Sprintf("set %s or %s_file", option, option)
}

// Optional is the secret v holds, kept in s, or "" when v is not set.
func (s *Set) Optional(v Value) string {
	if v.IsSet() {
		s.AddOption(v.value)
	}
	return v.value
}
