package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
)

// What the web UI of karkas serve keeps (schema version 12): accounts,
// sessions, sign-in failures, the audit log and the client cabinet's links.

// Web roles.
const (
	RoleAdmin  = "admin"
	RolePM     = "pm"
	RoleLead   = "lead"
	RoleViewer = "viewer"
)

// WebRoles lists the roles in the order the CLI prints them.
var WebRoles = []string{RoleAdmin, RolePM, RoleLead, RoleViewer}

// WebUser is an agency person who signs in to the web UI.
type WebUser struct {
	ID       string `db:"id"`
	Name     string `db:"name"`
	Email    string `db:"email"`
	Role     string `db:"role"`
	PersonID string `db:"person_id"`
	// AllClients lets a pm or lead see every client, not only theirs.
	AllClients bool `db:"all_clients"`
	// ClientsJSON is Clients as stored.
	ClientsJSON  string `db:"clients"`
	PasswordHash string `db:"password_hash"`
	// OIDCSubject is the provider identity ("issuer subject") the account
	// first signed in with through OIDC; empty until then.
	OIDCSubject string    `db:"oidc_subject"`
	CreatedAt   time.Time `db:"created_at"`
	UpdatedAt   time.Time `db:"updated_at"`
}

// Clients are the clients given to a pm or lead besides those they are
// the pm or lead of.
func (u WebUser) Clients() []string {
	var out []string
	json.Unmarshal([]byte(u.ClientsJSON), &out)
	return out
}

const webUserColumns = `id, name, email, role, person_id, all_clients, clients, password_hash, oidc_subject, created_at, updated_at`

// PutWebUser adds an account or changes one (its password hash only when
// passwordHash is not nil). Changing a password ends the account's
// sessions.
func (s *Store) PutWebUser(ctx context.Context, u WebUser, clients []string, passwordHash *string) error {
	if clients == nil {
		clients = []string{}
	}
	cj, _ := json.Marshal(clients)
	now := s.Now().UTC()
	return s.inTx(ctx, false, func(tx *sqlx.Tx) error {
		var n int
		if err := tx.GetContext(ctx, &n, tx.Rebind(`SELECT COUNT(*) FROM web_users WHERE id = ?`), u.ID); err != nil {
			return err
		}
		if n == 0 {
			hash := ""
			if passwordHash != nil {
				hash = *passwordHash
			}
			_, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO web_users (`+webUserColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, '', ?, ?)`),
				u.ID, u.Name, u.Email, u.Role, u.PersonID, u.AllClients, string(cj), hash, now, now)
			return err
		}
		// A new address unbinds the OIDC identity the old one signed in as.
		if _, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE web_users SET name = ?,
			oidc_subject = CASE WHEN lower(email) = lower(?) THEN oidc_subject ELSE '' END, email = ?, role = ?, person_id = ?,
			all_clients = ?, clients = ?, updated_at = ? WHERE id = ?`),
			u.Name, u.Email, u.Email, u.Role, u.PersonID, u.AllClients, string(cj), now, u.ID); err != nil {
			return err
		}
		if passwordHash == nil {
			return nil
		}
		if _, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE web_users SET password_hash = ? WHERE id = ?`), *passwordHash, u.ID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, tx.Rebind(`DELETE FROM web_sessions WHERE user_id = ?`), u.ID)
		return err
	})
}

// WebUser returns the account id (ok false when there is none).
func (s *Store) WebUser(ctx context.Context, id string) (u WebUser, ok bool, err error) {
	err = s.db.GetContext(ctx, &u, s.db.Rebind(`SELECT `+webUserColumns+` FROM web_users WHERE id = ?`), id)
	if errors.Is(err, sql.ErrNoRows) {
		return u, false, nil
	}
	return u, err == nil, err
}

// WebUserByEmail returns the account with the address, compared ignoring
// case (OIDC sign-in).
func (s *Store) WebUserByEmail(ctx context.Context, email string) (u WebUser, ok bool, err error) {
	err = s.db.GetContext(ctx, &u, s.db.Rebind(`SELECT `+webUserColumns+` FROM web_users WHERE lower(email) = ? ORDER BY id LIMIT 1`),
		strings.ToLower(email))
	if errors.Is(err, sql.ErrNoRows) {
		return u, false, nil
	}
	return u, err == nil, err
}

// BindOIDC binds an account to the OIDC identity it signs in as, when it
// is bound to none; bound is false when it is not (another identity holds
// it, or no such account).
func (s *Store) BindOIDC(ctx context.Context, id, subject string) (bound bool, err error) {
	res, err := s.db.ExecContext(ctx, s.db.Rebind(`UPDATE web_users SET oidc_subject = ?, updated_at = ? WHERE id = ? AND oidc_subject = ''`),
		subject, s.Now().UTC(), id)
	if err != nil {
		return false, fmt.Errorf("binding %s to its sign-in identity: %w", id, err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// UnbindOIDC releases an account's OIDC identity: the next sign-in through
// the provider with the account's address binds it anew.
func (s *Store) UnbindOIDC(ctx context.Context, id string) error {
	_, err := s.db.ExecContext(ctx, s.db.Rebind(`UPDATE web_users SET oidc_subject = '', updated_at = ? WHERE id = ?`), s.Now().UTC(), id)
	return err
}

// WebUsers lists the accounts by id.
func (s *Store) WebUsers(ctx context.Context) ([]WebUser, error) {
	var out []WebUser
	err := s.db.SelectContext(ctx, &out, `SELECT `+webUserColumns+` FROM web_users ORDER BY id`)
	return out, err
}

// RemoveWebUser deletes an account and its sessions; false when there was
// none.
func (s *Store) RemoveWebUser(ctx context.Context, id string) (bool, error) {
	found := false
	err := s.inTx(ctx, false, func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, tx.Rebind(`DELETE FROM web_users WHERE id = ?`), id)
		if err != nil {
			return err
		}
		n, _ := res.RowsAffected()
		found = n > 0
		_, err = tx.ExecContext(ctx, tx.Rebind(`DELETE FROM web_sessions WHERE user_id = ?`), id)
		return err
	})
	return found, err
}

// WebSession is a signed-in browser.
type WebSession struct {
	TokenHash string    `db:"token_hash"`
	UserID    string    `db:"user_id"`
	CSRF      string    `db:"csrf"`
	CreatedAt time.Time `db:"created_at"`
	ExpiresAt time.Time `db:"expires_at"`
	SeenAt    time.Time `db:"seen_at"`
	IP        string    `db:"ip"`
	UserAgent string    `db:"user_agent"`
}

// CreateWebSession stores a new session, and drops the expired ones.
func (s *Store) CreateWebSession(ctx context.Context, ws WebSession) error {
	return s.inTx(ctx, false, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, tx.Rebind(`DELETE FROM web_sessions WHERE expires_at < ?`), ws.CreatedAt.UTC()); err != nil {
			return err
		}
		_, err := tx.NamedExecContext(ctx, `INSERT INTO web_sessions (token_hash, user_id, csrf, created_at, expires_at, seen_at, ip, user_agent)
			VALUES (:token_hash, :user_id, :csrf, :created_at, :expires_at, :seen_at, :ip, :user_agent)`, ws)
		return err
	})
}

// WebSessionOf returns the live session with the token hash and its
// account (ok false when there is none, it expired or its account is
// gone).
func (s *Store) WebSessionOf(ctx context.Context, tokenHash string, now time.Time) (WebSession, WebUser, bool, error) {
	var ws WebSession
	err := s.db.GetContext(ctx, &ws, s.db.Rebind(`SELECT token_hash, user_id, csrf, created_at, expires_at, seen_at, ip, user_agent
		FROM web_sessions WHERE token_hash = ? AND expires_at > ?`), tokenHash, now.UTC())
	if errors.Is(err, sql.ErrNoRows) {
		return ws, WebUser{}, false, nil
	}
	if err != nil {
		return ws, WebUser{}, false, err
	}
	u, ok, err := s.WebUser(ctx, ws.UserID)
	return ws, u, ok, err
}

// TouchWebSession moves a session's expiry on (an idle timeout that
// slides with use).
func (s *Store) TouchWebSession(ctx context.Context, tokenHash string, seen, expires time.Time) error {
	_, err := s.db.ExecContext(ctx, s.db.Rebind(`UPDATE web_sessions SET seen_at = ?, expires_at = ? WHERE token_hash = ?`),
		seen.UTC(), expires.UTC(), tokenHash)
	return err
}

// EndWebSession signs a session out.
func (s *Store) EndWebSession(ctx context.Context, tokenHash string) error {
	_, err := s.db.ExecContext(ctx, s.db.Rebind(`DELETE FROM web_sessions WHERE token_hash = ?`), tokenHash)
	return err
}

// AddLoginFailures records a failed sign-in under each key ("user:ID",
// "ip:ADDR"), and forgets failures older than a day.
func (s *Store) AddLoginFailures(ctx context.Context, at time.Time, keys ...string) error {
	return s.inTx(ctx, false, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, tx.Rebind(`DELETE FROM web_login_failures WHERE at < ?`), at.Add(-24*time.Hour).UTC()); err != nil {
			return err
		}
		for _, k := range keys {
			if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO web_login_failures (key, at) VALUES (?, ?)`), k, at.UTC()); err != nil {
				return err
			}
		}
		return nil
	})
}

// LoginFailures counts the failures of key since an instant.
func (s *Store) LoginFailures(ctx context.Context, key string, since time.Time) (int, error) {
	var n int
	err := s.db.GetContext(ctx, &n, s.db.Rebind(`SELECT COUNT(*) FROM web_login_failures WHERE key = ? AND at >= ?`), key, since.UTC())
	return n, err
}

// ClearLoginFailures forgets key's failures (after a good sign-in).
func (s *Store) ClearLoginFailures(ctx context.Context, key string) error {
	_, err := s.db.ExecContext(ctx, s.db.Rebind(`DELETE FROM web_login_failures WHERE key = ?`), key)
	return err
}

// AuditEntry is one thing a person did.
type AuditEntry struct {
	ID      int64     `db:"id"`
	At      time.Time `db:"at"`
	Actor   string    `db:"actor"`
	Action  string    `db:"action"`
	Subject string    `db:"subject"`
	Detail  string    `db:"detail"`
	IP      string    `db:"ip"`
}

// Audit records what a person did.
func (s *Store) Audit(ctx context.Context, e AuditEntry) error {
	return audit(ctx, s.db, e)
}

func audit(ctx context.Context, q sqlx.ExtContext, e AuditEntry) error {
	if e.Detail == "" {
		e.Detail = "{}"
	}
	_, err := q.ExecContext(ctx, q.Rebind(`INSERT INTO audit_log (at, actor, action, subject, detail, ip) VALUES (?, ?, ?, ?, ?, ?)`),
		e.At.UTC(), e.Actor, e.Action, e.Subject, e.Detail, e.IP)
	if err != nil {
		return fmt.Errorf("recording %s by %s: %w", e.Action, e.Actor, err)
	}
	return nil
}

// AuditLog lists the newest entries, of one subject when subject is set.
func (s *Store) AuditLog(ctx context.Context, subject string, limit int) ([]AuditEntry, error) {
	q, args := `SELECT id, at, actor, action, subject, detail, ip FROM audit_log`, []any{}
	if subject != "" {
		q += ` WHERE subject = ?`
		args = append(args, subject)
	}
	q += fmt.Sprintf(` ORDER BY id DESC LIMIT %d`, max(limit, 1))
	var out []AuditEntry
	err := s.db.SelectContext(ctx, &out, s.db.Rebind(q), args...)
	return out, err
}

// CabinetLink is a client cabinet link as stored: what the signed link
// names, and whether it still opens.
type CabinetLink struct {
	ID         string     `db:"id"`
	ClientID   string     `db:"client_id"`
	CreatedAt  time.Time  `db:"created_at"`
	CreatedBy  string     `db:"created_by"`
	ExpiresAt  time.Time  `db:"expires_at"`
	RevokedAt  *time.Time `db:"revoked_at"`
	LastUsedAt *time.Time `db:"last_used_at"`
	Note       string     `db:"note"`
}

const cabinetColumns = `id, client_id, created_at, created_by, expires_at, revoked_at, last_used_at, note`

// AddCabinetLink stores a new link, with an audit entry.
func (s *Store) AddCabinetLink(ctx context.Context, l CabinetLink) error {
	return s.inTx(ctx, false, func(tx *sqlx.Tx) error {
		if _, err := tx.NamedExecContext(ctx, `INSERT INTO cabinet_links (`+cabinetColumns+`)
			VALUES (:id, :client_id, :created_at, :created_by, :expires_at, :revoked_at, :last_used_at, :note)`, l); err != nil {
			return err
		}
		return audit(ctx, tx, AuditEntry{At: l.CreatedAt, Actor: l.CreatedBy, Action: "cabinet_link", Subject: "client:" + l.ClientID,
			Detail: jsonObject(map[string]any{"link": l.ID, "expires_at": l.ExpiresAt.UTC()})})
	})
}

// CabinetLinkOf returns the link id (ok false when there is none).
func (s *Store) CabinetLinkOf(ctx context.Context, id string) (l CabinetLink, ok bool, err error) {
	err = s.db.GetContext(ctx, &l, s.db.Rebind(`SELECT `+cabinetColumns+` FROM cabinet_links WHERE id = ?`), id)
	if errors.Is(err, sql.ErrNoRows) {
		return l, false, nil
	}
	return l, err == nil, err
}

// CabinetLinks lists the links, of one client when client is set, newest
// first.
func (s *Store) CabinetLinks(ctx context.Context, client string) ([]CabinetLink, error) {
	q, args := `SELECT `+cabinetColumns+` FROM cabinet_links`, []any{}
	if client != "" {
		q += ` WHERE client_id = ?`
		args = append(args, client)
	}
	var out []CabinetLink
	err := s.db.SelectContext(ctx, &out, s.db.Rebind(q+` ORDER BY created_at DESC, id`), args...)
	return out, err
}

// RevokeCabinetLink ends a link; false when there is none.
func (s *Store) RevokeCabinetLink(ctx context.Context, id, by string, at time.Time) (bool, error) {
	found := false
	err := s.inTx(ctx, false, func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE cabinet_links SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL`), at.UTC(), id)
		if err != nil {
			return err
		}
		n, _ := res.RowsAffected()
		if found = n > 0; !found {
			return nil
		}
		return audit(ctx, tx, AuditEntry{At: at, Actor: by, Action: "cabinet_revoke", Subject: "cabinet:" + id})
	})
	return found, err
}

// TouchCabinetLink notes that a link was opened.
func (s *Store) TouchCabinetLink(ctx context.Context, id string, at time.Time) error {
	_, err := s.db.ExecContext(ctx, s.db.Rebind(`UPDATE cabinet_links SET last_used_at = ? WHERE id = ?`), at.UTC(), id)
	return err
}

// WebKey returns the store's key of the name, made by fresh (once, by
// whichever process asks first) when there is none.
func (s *Store) WebKey(ctx context.Context, name string, fresh func() (string, error)) (string, error) {
	var key string
	err := s.db.GetContext(ctx, &key, s.db.Rebind(`SELECT secret FROM web_keys WHERE name = ?`), name)
	if err == nil {
		return key, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return "", err
	}
	if key, err = fresh(); err != nil {
		return "", err
	}
	if _, err := s.db.ExecContext(ctx, s.db.Rebind(`INSERT INTO web_keys (name, secret, created_at) VALUES (?, ?, ?)
		ON CONFLICT (name) DO NOTHING`), name, key, s.Now().UTC()); err != nil {
		return "", err
	}
	err = s.db.GetContext(ctx, &key, s.db.Rebind(`SELECT secret FROM web_keys WHERE name = ?`), name)
	return key, err
}

// RotateWebKey replaces a key.
func (s *Store) RotateWebKey(ctx context.Context, name, key, by string) error {
	return s.inTx(ctx, false, func(tx *sqlx.Tx) error {
		now := s.Now().UTC()
		if _, err := tx.ExecContext(ctx, tx.Rebind(`DELETE FROM web_keys WHERE name = ?`), name); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO web_keys (name, secret, created_at) VALUES (?, ?, ?)`), name, key, now); err != nil {
			return err
		}
		return audit(ctx, tx, AuditEntry{At: now, Actor: by, Action: "rotate_key", Subject: "key:" + name})
	})
}

// ClockFilter picks stored clocks for the web pages.
type ClockFilter struct {
	// Clients limits the clocks to these clients; nil is every client.
	Clients []string
	States  []string
	// Policies limits the clocks to these policies; nil is every policy.
	Policies []string
	// From and To bound the clocks' start.
	From, To time.Time
	Limit    int
	// Newest lists the clocks started last first (an index walk that
	// stops at Limit), instead of soonest due first.
	Newest bool
}

// Clocks lists stored clocks but the withdrawn ones, soonest due first
// (clocks without a due instant last).
func (s *Store) Clocks(ctx context.Context, f ClockFilter) ([]ClockRow, error) {
	where, args := []string{"state <> 'withdrawn'"}, []any{}
	if f.Clients != nil {
		if len(f.Clients) == 0 {
			return nil, nil
		}
		where = append(where, "client_id IN (?)")
		args = append(args, f.Clients)
	}
	if len(f.States) > 0 {
		where = append(where, "state IN (?)")
		args = append(args, f.States)
	}
	if len(f.Policies) > 0 {
		where = append(where, "policy IN (?)")
		args = append(args, f.Policies)
	}
	if !f.From.IsZero() {
		where = append(where, "started_at >= ?")
		args = append(args, f.From.UTC())
	}
	if !f.To.IsZero() {
		where = append(where, "started_at < ?")
		args = append(args, f.To.UTC())
	}
	order := ` ORDER BY CASE WHEN due_at IS NULL THEN 1 ELSE 0 END, due_at, id`
	if f.Newest {
		order = ` ORDER BY started_at DESC, id`
	}
	q := `SELECT * FROM sla_clocks WHERE ` + strings.Join(where, " AND ") + order
	if f.Limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", f.Limit)
	}
	q, args, err := sqlx.In(q, args...)
	if err != nil {
		return nil, err
	}
	var out []ClockRow
	if err := s.db.SelectContext(ctx, &out, s.db.Rebind(q), args...); err != nil {
		return nil, fmt.Errorf("listing clocks: %w", err)
	}
	return out, nil
}

// Clock returns one stored clock.
func (s *Store) Clock(ctx context.Context, id string) (c ClockRow, ok bool, err error) {
	err = s.db.GetContext(ctx, &c, s.db.Rebind(`SELECT * FROM sla_clocks WHERE id = ?`), id)
	if errors.Is(err, sql.ErrNoRows) {
		return c, false, nil
	}
	return c, err == nil, err
}

// LastEvaluation is when the clocks were last evaluated in full (zero
// when never): what the web pages' clocks are as of.
func (s *Store) LastEvaluation(ctx context.Context) (time.Time, error) {
	var t time.Time
	err := s.db.GetContext(ctx, &t, `SELECT at FROM store_marks WHERE name = 'evaluated'`)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, nil
	}
	return t, err
}

func jsonObject(v map[string]any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// OpenTask is a task of a client not done or closed, with when it entered
// its status: what the client page lists by stage.
type OpenTask struct {
	SourceID     string     `db:"source_id"`
	ExternalID   string     `db:"external_id"`
	Title        string     `db:"title"`
	URL          string     `db:"url"`
	Status       string     `db:"status"`
	SourceStatus string     `db:"source_status"`
	AssigneeIDs  string     `db:"assignee_ids"`
	CreatedAt    time.Time  `db:"created_at"`
	DueAt        *time.Time `db:"due_at"`
	// EnteredAt is the task's last status move; nil when it never moved.
	EnteredAt *time.Time `db:"entered_at"`
}

// OpenTasks lists a client's tasks that are neither closed nor done.
func (s *Store) OpenTasks(ctx context.Context, client string) ([]OpenTask, error) {
	var rows []struct {
		OpenTask
		Entered sql.NullString `db:"entered"`
	}
	err := s.db.SelectContext(ctx, &rows, s.db.Rebind(`SELECT t.source_id, t.external_id, t.title, t.url, t.status, t.source_status,
		t.assignee_ids, t.created_at, t.due_at,
		(SELECT CAST(MAX(m.at) AS TEXT) FROM task_status_changes m WHERE m.source_id = t.source_id AND m.task_id = t.external_id
		 AND m.deleted_at IS NULL) AS entered
		FROM tasks t WHERE t.client_id = ? AND t.deleted_at IS NULL AND NOT t.closed AND t.status <> 'done'
		ORDER BY t.status, t.created_at, t.external_id`), client)
	if err != nil {
		return nil, fmt.Errorf("reading the open tasks of %s: %w", client, err)
	}
	out := make([]OpenTask, len(rows))
	for i, r := range rows {
		out[i] = r.OpenTask
		if r.Entered.Valid {
			if t, err := parseDBTime(r.Entered.String); err == nil {
				out[i].EnteredAt = &t
			}
		}
	}
	return out, nil
}

// parseDBTime reads a timestamp an aggregate returned as text: SQLite's
// stored text, or PostgreSQL's timestamptz cast to text.
func parseDBTime(s string) (time.Time, error) {
	for _, layout := range []string{"2006-01-02 15:04:05.999999999-07:00", "2006-01-02 15:04:05.999999999-07", time.RFC3339Nano} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("not a timestamp: %q", s)
}

// ClientMonths lists the months ("YYYY-MM") a client has time entries in,
// newest first.
func (s *Store) ClientMonths(ctx context.Context, client string) ([]string, error) {
	var out []string
	err := s.db.SelectContext(ctx, &out, s.db.Rebind(`SELECT DISTINCT substr(entry_date, 1, 7) AS m FROM time_entries
		WHERE client_id = ? AND deleted_at IS NULL ORDER BY m DESC`), client)
	return out, err
}
