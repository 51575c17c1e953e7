package web

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/argon2"

	"github.com/karkas/karkas/store"
)

// Passwords are hashed with argon2id (golang.org/x/crypto/argon2) at the
// second parameter set RFC 9106 recommends (3 passes over 64 MiB, 4
// lanes), and kept as the PHC string every argon2 tool reads:
// $argon2id$v=19$m=65536,t=3,p=4$<salt>$<hash>. x/crypto gives the key
// derivation only; the string is written and read here.
const (
	argonTime    = 3
	argonMemory  = 64 * 1024
	argonThreads = 4
	argonKeyLen  = 32
)

// HashPassword returns the PHC string of password with a fresh salt.
func HashPassword(password string) string {
	salt := randomBytes(16)
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	enc := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		enc.EncodeToString(salt), enc.EncodeToString(key))
}

// CheckPassword reports whether password matches a PHC string made by
// HashPassword (with whatever parameters it names).
func CheckPassword(phc, password string) bool {
	parts := strings.Split(phc, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var version int
	var mem, iters uint32
	var threads uint8
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &mem, &iters, &threads); err != nil || mem == 0 || iters == 0 || threads == 0 ||
		mem > 1<<22 || iters > 64 {
		return false
	}
	enc := base64.RawStdEncoding
	salt, err1 := enc.DecodeString(parts[4])
	want, err2 := enc.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 {
		return false
	}
	got := argon2.IDKey([]byte(password), salt, iters, mem, threads, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// dummyHash is checked against when the account does not exist, so that
// a wrong name takes as long as a wrong password.
var dummyHash = sync.OnceValue(func() string { return HashPassword("karkas: no such account") })

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b) // never fails (crypto/rand)
	return b
}

// Sign-in limits: an account's failures and an address's failures within
// loginWindow.
const (
	loginWindow     = 15 * time.Minute
	maxUserFailures = 5
	maxIPFailures   = 20
	sessionCookie   = "karkas_session"
	loginCookie     = "karkas_login"
)

// viewer is the signed-in person a request is for.
type viewer struct {
	user    store.WebUser
	session store.WebSession
	// clients they see; nil is every client.
	clients map[string]bool
}

func (v *viewer) sees(client string) bool {
	return v.clients == nil || v.clients[client]
}

// canAct reports whether the viewer may waive or retry for a client ("":
// an agency-wide delivery, admins only).
func (v *viewer) canAct(client string) bool {
	switch v.user.Role {
	case store.RoleAdmin:
		return true
	case store.RolePM, store.RoleLead:
		return client != "" && v.sees(client)
	}
	return false
}

// visibleClients is nil (every client) or the clients a pm or lead is
// given: those whose pm or lead their person is, and those named.
func (s *Server) visibleClients(u store.WebUser) map[string]bool {
	if u.Role == store.RoleAdmin || u.Role == store.RoleViewer || u.AllClients {
		return nil
	}
	out := map[string]bool{}
	for _, c := range s.cfg.Clients {
		if u.PersonID != "" && (c.PM == u.PersonID || c.Lead == u.PersonID) {
			out[c.ID] = true
		}
	}
	for _, id := range u.Clients() {
		out[id] = true
	}
	return out
}

func tokenHash(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

// session is the request's live session, when it has one.
func (s *Server) session(r *http.Request) (*viewer, error) {
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" {
		return nil, nil
	}
	now := s.now()
	ws, u, ok, err := s.st.WebSessionOf(r.Context(), tokenHash(c.Value), now)
	if err != nil || !ok {
		return nil, err
	}
	if now.Sub(ws.CreatedAt) > s.o.SessionMax {
		s.st.EndWebSession(r.Context(), ws.TokenHash)
		return nil, nil
	}
	// The idle expiry slides, written at most once a minute.
	if now.Sub(ws.SeenAt) > time.Minute {
		if err := s.st.TouchWebSession(r.Context(), ws.TokenHash, now, now.Add(s.o.SessionIdle)); err != nil {
			return nil, err
		}
	}
	return &viewer{user: u, session: ws, clients: s.visibleClients(u)}, nil
}

// agency wraps a page for signed-in agency people: a request without a
// session gets the sign-in page (a GET) or 401; a POST must carry the
// session's CSRF token and come from this site.
func (s *Server) agency(h func(http.ResponseWriter, *http.Request, *viewer)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		v, err := s.session(r)
		if err != nil {
			s.fail(w, r, nil, http.StatusServiceUnavailable, err, "store_read")
			return
		}
		if v == nil {
			if r.Method == http.MethodGet || r.Method == http.MethodHead {
				s.showLogin(w, r, http.StatusUnauthorized, "", r.URL.RequestURI())
				return
			}
			s.fail(w, r, nil, http.StatusUnauthorized, nil, "sign_in_first")
			return
		}
		if r.Method == http.MethodPost {
			if !sameOrigin(r) {
				s.fail(w, r, v, http.StatusForbidden, nil, "other_site")
				return
			}
			if got := r.PostFormValue("csrf"); subtle.ConstantTimeCompare([]byte(got), []byte(v.session.CSRF)) != 1 || got == "" {
				s.fail(w, r, v, http.StatusForbidden, nil, "csrf")
				return
			}
		}
		h(w, r, v)
	}
}

// sameOrigin refuses a POST whose Origin (or, without one, Referer) names
// another host. Browsers send Origin with every POST; a request without
// either is a script's, which the CSRF token alone then guards.
func sameOrigin(r *http.Request) bool {
	for _, h := range []string{"Origin", "Referer"} {
		v := r.Header.Get(h)
		if v == "" {
			continue
		}
		u, err := url.Parse(v)
		return err == nil && u.Host == r.Host
	}
	return true
}

type loginView struct {
	Name string
	Next string
	// SSO is the single sign-on button's text; empty without OIDC.
	SSO string
}

func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) {
	if v, _ := s.session(r); v != nil {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	s.showLogin(w, r, http.StatusOK, "", r.URL.Query().Get("next"))
}

// showLogin renders the sign-in form with a fresh login CSRF token in a
// cookie and in the form (the double-submit guard of a form sent before
// there is a session).
func (s *Server) showLogin(w http.ResponseWriter, r *http.Request, code int, msg, next string) {
	tok := randomToken(24)
	http.SetCookie(w, &http.Cookie{Name: loginCookie, Value: tok, Path: "/login", HttpOnly: true, Secure: s.secure(r),
		SameSite: http.SameSiteStrictMode, MaxAge: 3600})
	s.render(w, r, code, "login", page{Title: s.agencyLocale().T("agency.sign_in"), CSRF: tok, Error: msg,
		Data: loginView{Name: r.PostFormValue("name"), Next: localPath(next), SSO: s.ssoLabel()}})
}

// localPath keeps a redirect target only when it is a path on this site.
func localPath(p string) string {
	if p == "" || !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.HasPrefix(p, "/\\") || strings.HasPrefix(p, "/login") {
		return "/"
	}
	return p
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	c, err := r.Cookie(loginCookie)
	if err != nil || !sameOrigin(r) || subtle.ConstantTimeCompare([]byte(c.Value), []byte(r.PostFormValue("csrf"))) != 1 {
		s.showLogin(w, r, http.StatusForbidden, s.agencyLocale().T("agency.login.out_of_date"), r.PostFormValue("next"))
		return
	}
	name := strings.ToLower(strings.TrimSpace(r.PostFormValue("name")))
	password := r.PostFormValue("password")
	ip := clientIP(r)
	now := s.now()
	userKey, ipKey := "user:"+name, "ip:"+ip
	if s.refuseOverLimit(w, r, r.PostFormValue("next"), limit{userKey, maxUserFailures}, limit{ipKey, maxIPFailures}) {
		return
	}
	u, ok, err := s.st.WebUser(ctx, name)
	if err == nil && !ok && strings.Contains(name, "@") {
		u, ok, err = s.st.WebUserByEmail(ctx, name)
	}
	if err != nil {
		s.fail(w, r, nil, http.StatusServiceUnavailable, err, "store_read")
		return
	}
	good := false
	if ok && u.PasswordHash != "" {
		good = CheckPassword(u.PasswordHash, password)
	} else {
		CheckPassword(dummyHash(), password)
	}
	if !good {
		if err := s.st.AddLoginFailures(ctx, now, userKey, ipKey); err != nil {
			s.log.Error("recording a failed sign-in", "err", err)
		}
		s.log.Info("sign-in failed", "name", name, "ip", ip)
		s.showLogin(w, r, http.StatusUnauthorized, s.agencyLocale().T("agency.login.no_match"), r.PostFormValue("next"))
		return
	}
	s.st.ClearLoginFailures(ctx, userKey)
	if s.startSession(w, r, u, "password") {
		http.SetCookie(w, &http.Cookie{Name: loginCookie, Value: "", Path: "/login", MaxAge: -1})
		http.Redirect(w, r, localPath(r.PostFormValue("next")), http.StatusSeeOther)
	}
}

// limit is a cap on failed sign-ins of one key ("user:ID", "ip:ADDR")
// within loginWindow.
type limit struct {
	key string
	max int
}

// refuseOverLimit answers the request, and returns true, when a key has
// failed its limit's times within loginWindow (or the store cannot say).
func (s *Server) refuseOverLimit(w http.ResponseWriter, r *http.Request, next string, limits ...limit) bool {
	for _, lim := range limits {
		n, err := s.st.LoginFailures(r.Context(), lim.key, s.now().Add(-loginWindow))
		if err != nil {
			s.fail(w, r, nil, http.StatusServiceUnavailable, err, "store_read")
			return true
		}
		if n >= lim.max {
			w.Header().Set("Retry-After", fmt.Sprint(int(loginWindow.Seconds())))
			s.showLogin(w, r, http.StatusTooManyRequests,
				s.agencyLocale().T("agency.login.too_many", "Minutes", int(loginWindow.Minutes())), next)
			return true
		}
	}
	return false
}

// startSession signs u in: a stored session, its cookie, and the audit
// line saying how (password, oidc). It answers the request itself when the
// store fails, and then returns false.
func (s *Server) startSession(w http.ResponseWriter, r *http.Request, u store.WebUser, how string) bool {
	ctx, now, ip := r.Context(), s.now(), clientIP(r)
	token := randomToken(32)
	ws := store.WebSession{TokenHash: tokenHash(token), UserID: u.ID, CSRF: randomToken(24), CreatedAt: now,
		ExpiresAt: now.Add(s.o.SessionIdle), SeenAt: now, IP: ip, UserAgent: truncate(r.UserAgent(), 300)}
	if err := s.st.CreateWebSession(ctx, ws); err != nil {
		s.fail(w, r, nil, http.StatusServiceUnavailable, err, "session_store")
		return false
	}
	detail, _ := json.Marshal(map[string]string{"with": how})
	s.st.Audit(ctx, store.AuditEntry{At: now, Actor: u.ID, Action: "sign_in", Subject: "user:" + u.ID, Detail: string(detail), IP: ip})
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: token, Path: "/", HttpOnly: true, Secure: s.secure(r),
		SameSite: http.SameSiteLaxMode, MaxAge: int(s.o.SessionMax.Seconds())})
	return true
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request, v *viewer) {
	if err := s.st.EndWebSession(r.Context(), v.session.TokenHash); err != nil {
		s.fail(w, r, v, http.StatusServiceUnavailable, err, "session_end")
		return
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", HttpOnly: true, Secure: s.secure(r),
		SameSite: http.SameSiteLaxMode, MaxAge: -1})
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// ValidRole reports whether role is one of store.WebRoles.
func ValidRole(role string) bool { return slices.Contains(store.WebRoles, role) }

// ErrWeakPassword is a password under MinPassword characters.
var ErrWeakPassword = errors.New("a password needs at least 12 characters")

// MinPassword is the shortest password accepted.
const MinPassword = 12

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "")
}
