package web

import (
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/karkas/karkas/internal/locale"
	"github.com/karkas/karkas/mapping"
	"github.com/karkas/karkas/report"
	"github.com/karkas/karkas/sla"
	"github.com/karkas/karkas/store"
)

// A cabinet link is /cabinet/<payload>.<mac>: the payload names the link's
// id, the client and the expiry, and the mac is HMAC-SHA256 over it with
// the store's cabinet key (made once per store, web_keys). A link opens
// while its mac holds, it has not expired and its row in cabinet_links is
// not revoked; what it opens is only its client's.

const cabinetKey = "cabinet"

// DefaultCabinetExpiry is how long a link opens unless told.
const DefaultCabinetExpiry = 90 * 24 * time.Hour

func cabinetSecret(ctx context.Context, st *store.Store) ([]byte, error) {
	k, err := st.WebKey(ctx, cabinetKey, func() (string, error) { return randomToken(32), nil })
	if err != nil {
		return nil, fmt.Errorf("reading the cabinet key: %w", err)
	}
	return base64.RawURLEncoding.DecodeString(k)
}

func signCabinet(key []byte, payload string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("karkas cabinet\x00" + payload))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// NewCabinetLink stores a link to a client's cabinet and returns its
// address under base (serve.public_url).
func NewCabinetLink(ctx context.Context, st *store.Store, cfg *mapping.Config, client string, expires time.Duration, by, note, base string) (string, store.CabinetLink, error) {
	found := false
	for _, c := range cfg.Clients {
		found = found || c.ID == client
	}
	if !found {
		return "", store.CabinetLink{}, fmt.Errorf("no client %q in the config", client)
	}
	key, err := cabinetSecret(ctx, st)
	if err != nil {
		return "", store.CabinetLink{}, err
	}
	now := st.Now().UTC().Truncate(time.Second)
	l := store.CabinetLink{ID: randomToken(12), ClientID: client, CreatedAt: now, CreatedBy: by,
		ExpiresAt: now.Add(cmp.Or(expires, DefaultCabinetExpiry)), Note: note}
	if err := st.AddCabinetLink(ctx, l); err != nil {
		return "", l, err
	}
	return cabinetURL(key, l, base), l, nil
}

// cabinetURL is the address of a stored link under base.
func cabinetURL(key []byte, l store.CabinetLink, base string) string {
	payload := base64.RawURLEncoding.EncodeToString([]byte(fmt.Sprintf("1|%s|%s|%d", l.ID, l.ClientID, l.ExpiresAt.Unix())))
	return strings.TrimRight(cmp.Or(base, "http://"+"127.0.0.1:8080"), "/") + "/cabinet/" + payload + "." + signCabinet(key, payload)
}

// ReportLinker is push.Worker's CabinetLink for the config: links under
// serve.public_url (nil without one: a link to this machine's loopback
// address would open nowhere for a client).
func ReportLinker(st *store.Store, cfg *mapping.Config) func(ctx context.Context, client string, expires time.Duration, delivery string) (string, time.Time, error) {
	if cfg.Serve == nil || cfg.Serve.PublicURL == "" {
		return nil
	}
	base := cfg.Serve.PublicURL
	return func(ctx context.Context, client string, expires time.Duration, delivery string) (string, time.Time, error) {
		return reportCabinetLink(ctx, st, cfg, base, client, expires, delivery)
	}
}

// reportCabinetLink is the cabinet link a report delivery carries: the
// one made for that delivery before, so that a retried delivery sends the
// same link, or a new one noted with the delivery's id (karkas cabinet
// list shows it, karkas cabinet revoke ends it).
func reportCabinetLink(ctx context.Context, st *store.Store, cfg *mapping.Config, base, client string, expires time.Duration, delivery string) (string, time.Time, error) {
	note := "report " + delivery
	links, err := st.CabinetLinks(ctx, client)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("reading the cabinet links of %s: %w", client, err)
	}
	for _, l := range links {
		if l.Note == note && l.RevokedAt == nil {
			key, err := cabinetSecret(ctx, st)
			if err != nil {
				return "", time.Time{}, err
			}
			return cabinetURL(key, l, base), l.ExpiresAt, nil
		}
	}
	u, l, err := NewCabinetLink(ctx, st, cfg, client, expires, "karkas", note, base)
	return u, l.ExpiresAt, err
}

// errLink says why a link does not open, for the page that says so.
type errLink struct {
	code int
	msg  string
	// lang is the page's language: the link's client's, once its
	// signature holds; English for a link that is not one.
	lang string
}

func (e *errLink) Error() string { return e.msg }

// openCabinet checks a link and returns its stored row.
func (s *Server) openCabinet(ctx context.Context, token string) (store.CabinetLink, error) {
	bad := &errLink{http.StatusNotFound, "This link is not a valid cabinet link. Check that it was copied whole, or ask the agency for a new one.", ""}
	payload, mac, ok := strings.Cut(token, ".")
	if !ok {
		return store.CabinetLink{}, bad
	}
	key, err := cabinetSecret(ctx, s.st)
	if err != nil {
		return store.CabinetLink{}, err
	}
	if !hmac.Equal([]byte(mac), []byte(signCabinet(key, payload))) {
		return store.CabinetLink{}, bad
	}
	raw, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		return store.CabinetLink{}, bad
	}
	parts := strings.Split(string(raw), "|")
	if len(parts) != 4 || parts[0] != "1" {
		return store.CabinetLink{}, bad
	}
	exp, err := strconv.ParseInt(parts[3], 10, 64)
	if err != nil {
		return store.CabinetLink{}, bad
	}
	now := s.now()
	lang := s.cfg.LanguageOf(s.clients[parts[2]]) // the signature holds: the client is the link's
	lc := locale.For(lang)
	agency := cmp.Or(s.cfg.Agency.Name, lc.T("web.cabinet.the_agency"))
	if now.After(time.Unix(exp, 0)) {
		return store.CabinetLink{}, &errLink{http.StatusGone, lc.T("web.cabinet.expired", "Date", lc.Date(time.Unix(exp, 0).UTC()), "Agency", agency), lang}
	}
	l, ok, err := s.st.CabinetLinkOf(ctx, parts[1])
	if err != nil {
		return l, err
	}
	if !ok || l.ClientID != parts[2] || l.ExpiresAt.Unix() != exp || s.clients[l.ClientID] == nil {
		return l, bad
	}
	if l.RevokedAt != nil {
		return l, &errLink{http.StatusGone, lc.T("web.cabinet.withdrawn", "Agency", agency), lang}
	}
	return l, nil
}

// cabinet wraps a cabinet page: the link must open, and the page gets its
// client. The token is in the path, so nothing here may leak it: no
// referrer leaves the page, and nothing is cached.
func (s *Server) cabinet(h func(http.ResponseWriter, *http.Request, store.CabinetLink, string)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Referrer-Policy", "no-referrer")
		w.Header().Set("X-Robots-Tag", "noindex, nofollow")
		token := r.PathValue("token")
		l, err := s.openCabinet(r.Context(), token)
		var el *errLink
		switch {
		case errors.As(err, &el):
			s.render(w, r, el.code, "error", page{Title: locale.For(el.lang).T("web.cabinet.link_not_valid"), Error: el.msg, Cabinet: true, Lang: el.lang})
			return
		case err != nil:
			s.fail(w, r, nil, http.StatusServiceUnavailable, err, "cabinet_open")
			return
		}
		if l.LastUsedAt == nil || s.now().Sub(*l.LastUsedAt) > time.Hour {
			s.st.TouchCabinetLink(r.Context(), l.ID, s.now())
		}
		h(w, r, l, token)
	}
}

type cabinetView struct {
	Token     string
	Client    *mapping.Client
	Hours     *report.Hours
	Chart     chartSVG
	Projected float64
	Months    []string
	Waiting   []cabinetWait
	// Entries are the month's time entries the cabinet may show, newest
	// first (serve.web.cabinet.notes).
	Entries []report.Entry
	Promise string
	Expires time.Time
	// PeriodTitle is the month in the client's language.
	PeriodTitle string
}

type cabinetWait struct {
	Title, URL, Since string
}

func (s *Server) cabinetPage(w http.ResponseWriter, r *http.Request, l store.CabinetLink, token string) {
	ctx := r.Context()
	client := s.clients[l.ClientID]
	now := s.now()
	lc := locale.For(s.cfg.LanguageOf(client))
	loc, err := report.ClientLocation(s.cfg, client.ID)
	if err != nil {
		s.fail(w, r, nil, http.StatusInternalServerError, err, "calendar")
		return
	}
	period, _ := report.ParsePeriod("", loc, now)
	h, err := s.hours.Hours(ctx, report.HoursRequest{ClientID: client.ID, Period: period, Now: now})
	if err != nil {
		s.fail(w, r, nil, http.StatusServiceUnavailable, err, "hours_read")
		return
	}
	// The cabinet shows tasks and totals; entries with their notes only
	// as serve.web.cabinet.notes allows: a note on internal time is the
	// agency's.
	cv := cabinetView{Token: token, Client: client, Hours: h, Expires: l.ExpiresAt, Entries: cabinetEntries(h.Entries, s.o.CabinetNotes)}
	h.Entries = nil
	cv.Projected, _ = s.projection(client, period, h, now)
	cv.Chart = burnChart(h, cv.Projected, lc.Code())
	months, err := s.st.ClientMonths(ctx, client.ID)
	if err != nil {
		s.fail(w, r, nil, http.StatusServiceUnavailable, err, "months_read")
		return
	}
	for _, m := range months {
		if m < period.Label {
			cv.Months = append(cv.Months, m)
		}
	}
	waits, err := s.st.Clocks(ctx, store.ClockFilter{Clients: []string{client.ID}, Policies: []string{sla.PolicyWaitingClient}, States: openStates})
	if err != nil {
		s.fail(w, r, nil, http.StatusServiceUnavailable, err, "clocks_read")
		return
	}
	for _, c := range waits {
		var d struct{ Title, URL string }
		json.Unmarshal([]byte(c.Detail), &d)
		cv.Waiting = append(cv.Waiting, cabinetWait{Title: cmp.Or(d.Title, lc.T("web.cabinet.a_question")), URL: safeURL(d.URL),
			Since: localDuration(lc, now.Sub(c.StartedAt))})
	}
	if ps, ok := s.cfg.PolicySets[client.PolicySet]; ok && sla.Rule[*sla.ResponsePolicy](&ps) != nil {
		cv.Promise = lc.T("web.cabinet.promise", "Within", businessTarget(lc, sla.Rule[*sla.ResponsePolicy](&ps).Target),
			"Hours", calendarHours(lc, s.o.Calendars[cmp.Or(client.Calendar, s.cfg.Agency.Calendar)]))
	}
	cv.PeriodTitle = h.Period.TitleIn(lc.Code())
	s.render(w, r, http.StatusOK, "cabinet", page{Title: client.Name, Cabinet: true, Now: now, Lang: lc.Code(), Data: cv})
}

// cabinetEntries keeps the entries a cabinet shows with their notes:
// none (the default), the billable ones, or all; newest first.
func cabinetEntries(all []report.Entry, notes string) []report.Entry {
	var out []report.Entry
	for _, e := range all {
		if notes == mapping.CabinetNotesAll || notes == mapping.CabinetNotesBillable && e.Billable {
			out = append(out, e)
		}
	}
	slices.Reverse(out) // the report lists them oldest first
	return out
}

func calendarHours(l *locale.Locale, c *sla.Calendar) string {
	if c == nil {
		return l.T("web.cabinet.business_days")
	}
	return l.T("web.cabinet.working_days", "Zone", c.Location().String())
}

// businessTarget is a promise's business time ("6h", "1d4h") in words.
func businessTarget(l *locale.Locale, d sla.Duration) string {
	var parts []string
	if d.Days > 0 {
		parts = append(parts, l.N("web.business_days", d.Days))
	}
	if h := int(d.Time / time.Hour); h > 0 {
		parts = append(parts, l.N("web.within_hours", h))
	}
	if m := int(d.Time % time.Hour / time.Minute); m > 0 {
		parts = append(parts, l.N("web.within_minutes", m))
	}
	return strings.Join(parts, " ")
}

// localDuration is how long something has waited, in words: "3 дня 2 ч".
func localDuration(l *locale.Locale, d time.Duration) string {
	days, hours := int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour)
	switch {
	case days > 0 && hours > 0:
		return l.N("web.days", days) + " " + l.N("unit.hours", hours)
	case days > 0:
		return l.N("web.days", days)
	case hours > 0:
		return l.N("unit.hours", hours)
	}
	return l.N("web.minutes", max(1, int(d/time.Minute)))
}

func (s *Server) cabinetReport(w http.ResponseWriter, r *http.Request, l store.CabinetLink, _ string) {
	p := r.PathValue("period")
	if len(p) != 7 || p[4] != '-' {
		s.render(w, r, http.StatusNotFound, "error", page{Title: "Not found", Error: "Reports are by month, like 2026-10.", Cabinet: true})
		return
	}
	s.serveReport(w, r, nil, l.ClientID, p)
}

// RotateCabinetKey replaces the key links are signed with: every link made
// before stops opening.
func RotateCabinetKey(ctx context.Context, st *store.Store, by string) error {
	return st.RotateWebKey(ctx, cabinetKey, randomToken(32), by)
}
