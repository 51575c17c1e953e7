// Package web is the read side of karkas serve in the browser: the
// agency's pages (overview, a client's clocks, burn and stages, capacity,
// deliveries, with the waive and retry actions) for signed-in agency
// people, and the client cabinet a client contact opens from a signed
// link. Pages are rendered on the server with html/template from embedded
// templates and one stylesheet; there is no script and no build step. The
// charts are SVG drawn on the server, with their numbers in a table beside
// them.
//
// Every figure comes from the store as the daemon keeps it, and a page
// says what it is as of: the clocks as of the last full evaluation, the
// sources as of their last pull.
package web

import (
	"cmp"
	"embed"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/karkas/karkas/internal/locale"
	"github.com/karkas/karkas/mapping"
	"github.com/karkas/karkas/report"
	"github.com/karkas/karkas/sla"
	"github.com/karkas/karkas/store"
)

// Options are what the web UI runs with.
type Options struct {
	Store  *store.Store
	Config *mapping.Config
	// Calendars are the config's business calendars by name.
	Calendars map[string]*sla.Calendar
	Logger    *slog.Logger
	// PublicURL is where people reach the listener (serve.public_url):
	// the cabinet links' base, and cookies are Secure when it is https.
	PublicURL string
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// SessionIdle ends a session unused for that long (12 hours);
	// SessionMax ends any session that old (7 days).
	SessionIdle, SessionMax time.Duration
	// Redact hides the run's secrets in error text shown on a page.
	Redact func(string) string
	// OIDC, when set, adds sign-in through that provider; it needs
	// PublicURL, to which the provider sends people back.
	OIDC *OIDC
	// CabinetNotes is which time entries the cabinet lists with their
	// notes: mapping.CabinetNotesNone (or empty), Billable, All.
	CabinetNotes string
}

// Server serves the pages.
type Server struct {
	o     Options
	st    *store.Store
	cfg   *mapping.Config
	log   *slog.Logger
	pages map[string]*template.Template
	mux   *http.ServeMux
	// clients by id, in config order.
	clients map[string]*mapping.Client
	people  map[string]*mapping.Person
	// oidc is the sign-in provider, or nil.
	oidc *oidcClient
	// hours are the hour reports the pages show, kept while they hold.
	hours *report.HoursCache
	// localized are the pages in each language but English, cloned
	// before any page runs (html/template clones only unexecuted ones).
	localized map[string]map[string]*template.Template
}

// pagesIn are the page templates speaking l's language.
func (s *Server) pagesIn(l *locale.Locale) map[string]*template.Template {
	if m, ok := s.localized[l.Code()]; ok {
		return m
	}
	return s.pages
}

// localize makes the pages of every other language from the English ones.
func (s *Server) localize() error {
	s.localized = map[string]map[string]*template.Template{}
	for _, code := range locale.Supported {
		if code == "en" {
			continue
		}
		l := locale.For(code)
		m := map[string]*template.Template{}
		for name, t := range s.pages {
			c, err := t.Clone()
			if err != nil {
				return err
			}
			m[name] = c.Funcs(localFuncs(l))
		}
		s.localized[code] = m
	}
	return nil
}

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// New builds the web UI.
func New(o Options) (*Server, error) {
	if o.Store == nil || o.Config == nil {
		return nil, errors.New("web: a store and a config are needed")
	}
	o.SessionIdle = cmp.Or(o.SessionIdle, 12*time.Hour)
	o.SessionMax = cmp.Or(o.SessionMax, 7*24*time.Hour)
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Redact == nil {
		o.Redact = func(s string) string { return s }
	}
	s := &Server{o: o, st: o.Store, cfg: o.Config, log: o.Logger, clients: map[string]*mapping.Client{}, people: map[string]*mapping.Person{},
		hours: &report.HoursCache{Store: o.Store, Config: o.Config}}
	for i := range o.Config.Clients {
		s.clients[o.Config.Clients[i].ID] = &o.Config.Clients[i]
	}
	for i := range o.Config.People {
		s.people[o.Config.People[i].ID] = &o.Config.People[i]
	}
	if o.OIDC != nil {
		if o.PublicURL == "" {
			return nil, errors.New("sign-in through OIDC needs the public URL the provider sends people back to (serve.public_url)")
		}
		oc := *o.OIDC
		oc.Label = cmp.Or(oc.Label, "Sign in with single sign-on")
		for i, d := range oc.Domains {
			oc.Domains[i] = strings.ToLower(strings.TrimPrefix(strings.TrimSpace(d), "@"))
		}
		s.oidc = &oidcClient{o: oc, redirect: strings.TrimRight(o.PublicURL, "/") + "/login/oidc/callback"}
	}
	var err error
	if s.pages, err = parsePages(); err == nil {
		err = s.localize()
	}
	if err != nil {
		return nil, err
	}
	s.routes()
	return s, nil
}

func (s *Server) now() time.Time {
	if s.o.Now != nil {
		return s.o.Now().UTC()
	}
	return time.Now().UTC()
}

func (s *Server) routes() {
	m := http.NewServeMux()
	static, _ := fs.Sub(staticFS, "static")
	m.Handle("GET /static/", http.StripPrefix("/static/", staticFiles(static)))
	m.HandleFunc("GET /login", s.loginPage)
	m.HandleFunc("POST /login", s.login)
	m.HandleFunc("GET /login/oidc", s.oidcStart)
	m.HandleFunc("GET /login/oidc/callback", s.oidcCallback)
	m.HandleFunc("POST /logout", s.agency(s.logout))
	m.HandleFunc("GET /{$}", s.agency(s.overview))
	m.HandleFunc("GET /clients/{id}", s.agency(s.clientPage))
	m.HandleFunc("GET /clients/{id}/report", s.agency(s.clientReport))
	m.HandleFunc("GET /clocks/{id}", s.agency(s.clockPage))
	m.HandleFunc("POST /clocks/{id}/waive", s.agency(s.waive))
	m.HandleFunc("GET /capacity", s.agency(s.capacityPage))
	m.HandleFunc("GET /deliveries", s.agency(s.deliveriesPage))
	m.HandleFunc("POST /deliveries/{id}/retry", s.agency(s.retry))
	m.HandleFunc("GET /cabinet/{token}", s.cabinet(s.cabinetPage))
	m.HandleFunc("GET /cabinet/{token}/reports/{period}", s.cabinet(s.cabinetReport))
	m.HandleFunc("/", s.notFound)
	s.mux = m
}

// Handler is the web UI with its security headers.
func (s *Server) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", pageCSP)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
		if !strings.HasPrefix(r.URL.Path, "/static/") {
			h.Set("Cache-Control", "no-store")
		}
		if s.secure(r) {
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		s.mux.ServeHTTP(w, r)
	})
}

// pageCSP allows the page's own stylesheet and images, nothing inline,
// no script at all, and no framing.
const pageCSP = "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; " +
	"frame-ancestors 'none'; base-uri 'none'"

// reportCSP is for the hour reports served as karkas report hours writes
// them: one self-contained page whose styles are inline. It runs no script
// and loads nothing.
const reportCSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

func staticFiles(fsys fs.FS) http.Handler {
	files := http.FileServerFS(fsys)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		files.ServeHTTP(w, r)
	})
}

// secure reports whether the browser reached us over TLS: directly, or
// through a proxy in front of a public_url that is https.
func (s *Server) secure(r *http.Request) bool {
	return r.TLS != nil || strings.HasPrefix(s.o.PublicURL, "https://")
}

// clientIP is the address a request came from: the peer, or, when the
// peer is a proxy on this machine, the address it says it forwards.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		if fwd := r.Header.Get("X-Forwarded-For"); fwd != "" {
			parts := strings.Split(fwd, ",")
			if f := strings.TrimSpace(parts[len(parts)-1]); net.ParseIP(f) != nil {
				return f
			}
		}
	}
	return host
}

// randomToken is n random bytes, base64url.
func randomToken(n int) string {
	return base64.RawURLEncoding.EncodeToString(randomBytes(n))
}

// safeURL keeps a link only when it is http or https: a card's link
// written by anyone must not become javascript:.
func safeURL(raw string) string {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return ""
	}
	return u.String()
}

// page is what every page template reads.
type page struct {
	Title   string
	Agency  string
	User    *store.WebUser
	CSRF    string
	Nav     string
	Now     time.Time
	Flash   string
	Error   string
	Cabinet bool
	// Lang is the page's language (a cabinet's is its client's); empty
	// is English.
	Lang string
	Data any
}

func (s *Server) render(w http.ResponseWriter, r *http.Request, code int, name string, p page) {
	if !p.Cabinet && p.Lang == "" {
		p.Lang = s.cfg.Agency.Language // the agency's pages speak its language
	}
	l := locale.For(p.Lang)
	p.Lang = l.Code()
	t, ok := s.pagesIn(l)[name]
	if !ok {
		http.Error(w, "no page "+name, http.StatusInternalServerError)
		return
	}
	p.Agency = s.cfg.Agency.Name
	if p.Now.IsZero() {
		p.Now = s.now()
	}
	var b strings.Builder
	if err := t.ExecuteTemplate(&b, "layout", p); err != nil {
		s.log.Error("rendering a page", "page", name, "err", err)
		http.Error(w, "the page could not be rendered", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	fmt.Fprint(w, b.String())
}

// fail shows an error page in the agency's language: the message is the
// catalog's agency.err.<id> with kv; err is logged, and shown redacted.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, v *viewer, code int, err error, id string, kv ...any) {
	l := s.agencyLocale()
	msg := l.T("agency.err."+id, kv...)
	if err != nil {
		s.log.Error("web", "path", r.URL.Path, "err", s.o.Redact(err.Error()))
		msg += ": " + s.o.Redact(err.Error())
	}
	p := page{Title: l.T("agency.status_title", "Code", code, "Text", http.StatusText(code)), Error: msg}
	if v != nil {
		p.User, p.CSRF = &v.user, v.session.CSRF
	}
	s.render(w, r, code, "error", p)
}

func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	l := s.agencyLocale()
	s.render(w, r, http.StatusNotFound, "error", page{Title: l.T("agency.not_found"), Error: l.T("agency.err.no_page")})
}

// agencyLocale is the language of the agency's pages: agency.language.
func (s *Server) agencyLocale() *locale.Locale { return locale.For(s.cfg.Agency.Language) }

// RandomString is n characters drawn uniformly from alphabet (at most
// 256 characters long), from crypto/rand.
func RandomString(n int, alphabet string) string {
	out := make([]byte, 0, n)
	limit := 256 - 256%len(alphabet)
	for len(out) < n {
		for _, b := range randomBytes(n) {
			if int(b) < limit && len(out) < n {
				out = append(out, alphabet[int(b)%len(alphabet)])
			}
		}
	}
	return string(out)
}
