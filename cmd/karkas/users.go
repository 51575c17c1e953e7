package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/karkas/karkas/mapping"
	"github.com/karkas/karkas/store"
	"github.com/karkas/karkas/web"
)

func newUsersCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "users",
		Short: "Agency accounts of the web UI: add, passwd, remove, list",
		Long: `users manages who signs in to the web UI of karkas serve. Accounts live in the store.

Roles: admin (everything), pm and lead (their clients: those whose pm or lead their
--person is, plus --clients, or every client with --all-clients; they may waive clocks
and retry deliveries of those clients), viewer (every page, no action).

A password is never a flag (it would stay in the shell's history and show in ps): it
is asked for twice on a terminal, read from the first line of standard input with
--password-stdin, or made up and printed once with --generate-password. Passwords are
kept as argon2id hashes; changing one signs the account out everywhere.

With serve.web.oidc in the config, people may also sign in through the provider: the
address it proves names the account (--email), and the first such sign-in binds the
account to that provider identity: later ones must be the same identity, so an address
the provider gives someone else does not open it (--update --unbind-oidc releases it; a
new --email does too). An account added with --no-password signs in only that way.`,
	}
	cmd.AddCommand(newUsersAddCmd(g), newUsersPasswdCmd(g), newUsersRemoveCmd(g), newUsersListCmd(g))
	return cmd
}

var userIDRe = regexp.MustCompile(`^[a-z0-9][a-z0-9._@-]{0,63}$`)

type passwordFlags struct {
	stdin, generate bool
}

func (p *passwordFlags) add(cmd *cobra.Command) {
	cmd.Flags().BoolVar(&p.stdin, "password-stdin", false, "read the password from the first line of standard input")
	cmd.Flags().BoolVar(&p.generate, "generate-password", false, "make up a password and print it once")
}

// read returns the new password, and whether it was made up (and is to be
// printed).
func (p *passwordFlags) read(cmd *cobra.Command, g *globals) (string, bool, error) {
	switch {
	case p.stdin && p.generate:
		return "", false, withCode(exitUsage, errors.New("--password-stdin and --generate-password exclude each other"))
	case p.generate:
		return generatePassword(), true, nil
	case p.stdin:
		line, err := bufio.NewReader(io.LimitReader(cmd.InOrStdin(), 4096)).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return "", false, withCode(exitUsage, fmt.Errorf("reading the password: %w", err))
		}
		pw := strings.TrimRight(line, "\r\n")
		return pw, false, checkPassword(pw)
	}
	f, ok := cmd.InOrStdin().(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return "", false, withCode(exitUsage, errors.New("no terminal to ask for the password: use --password-stdin or --generate-password"))
	}
	fmt.Fprint(g.stderr, "New password: ")
	a, err := term.ReadPassword(int(f.Fd()))
	fmt.Fprintln(g.stderr)
	if err != nil {
		return "", false, err
	}
	fmt.Fprint(g.stderr, "Again: ")
	b, err := term.ReadPassword(int(f.Fd()))
	fmt.Fprintln(g.stderr)
	if err != nil {
		return "", false, err
	}
	if string(a) != string(b) {
		return "", false, withCode(exitUsage, errors.New("the two passwords differ"))
	}
	return string(a), false, checkPassword(string(a))
}

func checkPassword(pw string) error {
	if len([]rune(pw)) < web.MinPassword {
		return withCode(exitUsage, web.ErrWeakPassword)
	}
	return nil
}

// generatePassword is 20 characters from an alphabet without look-alikes
// (about 110 bits).
func generatePassword() string {
	const alphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	b := []byte(web.RandomString(20, alphabet))
	return string(b)
}

func newUsersAddCmd(g *globals) *cobra.Command {
	var u store.WebUser
	var clients []string
	var pw passwordFlags
	var update, noPassword, unbind bool
	cmd := &cobra.Command{
		Use:   "add ID",
		Short: "Add an account (or, with --update, change one)",
		Example: `  karkas users add anna --role pm --person anna --name "Anna Petrova" --email anna@northwind.agency
  echo "$PASSWORD" | karkas users add ops --role admin --password-stdin
  karkas users add demo --role admin --generate-password --update
  karkas users add boris --role lead --person boris --email boris@northwind.agency --no-password`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			u.ID = strings.ToLower(args[0])
			if !userIDRe.MatchString(u.ID) {
				return withCode(exitUsage, fmt.Errorf("%q: an account id is lowercase letters, digits and . _ @ -, up to 64", args[0]))
			}
			l, st, err := g.usersStore(cmd.Context())
			if err != nil {
				return err
			}
			defer st.Close()
			if err := checkUser(l.Config, &u, clients); err != nil {
				return withCode(exitUsage, err)
			}
			old, exists, err := st.WebUser(cmd.Context(), u.ID)
			if err != nil {
				return withCode(exitStore, err)
			}
			if exists && !update {
				return withCode(exitUsage, fmt.Errorf("account %s exists: --update changes it, karkas users passwd its password", u.ID))
			}
			var hash *string
			password, made := "", false
			switch {
			case noPassword:
				if u.Email == "" {
					return withCode(exitUsage, errors.New("--no-password needs --email: the account signs in only through serve.web.oidc, which matches it by its address"))
				}
				if pw.stdin || pw.generate {
					return withCode(exitUsage, errors.New("--no-password excludes --password-stdin and --generate-password"))
				}
				none := ""
				hash = &none
			case !exists || pw.stdin || pw.generate:
				if password, made, err = pw.read(cmd, g); err != nil {
					return err
				}
				h := web.HashPassword(password)
				hash = &h
			}
			if exists {
				u.CreatedAt = old.CreatedAt
			}
			if unbind && !exists {
				return withCode(exitUsage, fmt.Errorf("--unbind-oidc: no account %s", u.ID))
			}
			if err := st.PutWebUser(cmd.Context(), u, clients, hash); err != nil {
				return withCode(exitStore, err)
			}
			if unbind {
				if err := st.UnbindOIDC(cmd.Context(), u.ID); err != nil {
					return withCode(exitStore, err)
				}
				st.Audit(cmd.Context(), store.AuditEntry{At: time.Now(), Actor: cliActor(), Action: "oidc_unbind", Subject: "user:" + u.ID})
			}
			st.Audit(cmd.Context(), store.AuditEntry{At: time.Now(), Actor: cliActor(), Action: map[bool]string{false: "user_add", true: "user_update"}[exists],
				Subject: "user:" + u.ID})
			verb := "added"
			if exists {
				verb = "updated"
			}
			fmt.Fprintf(g.stdout, "%s account %s (%s)\n", verb, u.ID, u.Role)
			if made {
				fmt.Fprintf(g.stdout, "password: %s\n", password)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&u.Role, "role", "", "admin, pm, lead or viewer (required)")
	cmd.Flags().StringVar(&u.Name, "name", "", "the name shown (default: the --person's)")
	cmd.Flags().StringVar(&u.Email, "email", "", "the address to sign in with besides the id (and through OIDC)")
	cmd.Flags().StringVar(&u.PersonID, "person", "", "the config's agency person this account is (a pm or lead sees the clients they are pm or lead of)")
	cmd.Flags().BoolVar(&u.AllClients, "all-clients", false, "a pm or lead sees every client")
	cmd.Flags().StringSliceVar(&clients, "clients", nil, "clients a pm or lead sees besides their own")
	cmd.Flags().BoolVar(&update, "update", false, "change the account if it exists (its password only with --password-stdin or --generate-password)")
	cmd.Flags().BoolVar(&unbind, "unbind-oidc", false, "with --update: release the provider identity the account is bound to (it signed in through OIDC as it first); its next OIDC sign-in binds it anew")
	cmd.Flags().BoolVar(&noPassword, "no-password", false, "the account has no password and signs in only through the OIDC provider (serve.web.oidc), by its --email")
	pw.add(cmd)
	return cmd
}

// checkUser checks an account against the config and fills its name.
func checkUser(cfg *mapping.Config, u *store.WebUser, clients []string) error {
	if !web.ValidRole(u.Role) {
		return fmt.Errorf("--role: %q is not one of %s", u.Role, strings.Join(store.WebRoles, ", "))
	}
	if u.PersonID != "" {
		i := slices.IndexFunc(cfg.People, func(p mapping.Person) bool { return p.ID == u.PersonID })
		if i < 0 {
			return fmt.Errorf("--person: no person %q in the config", u.PersonID)
		}
		if cfg.People[i].Side != "agency" {
			return fmt.Errorf("--person: %s is on the client's side; accounts are for agency people (clients get cabinet links)", u.PersonID)
		}
		if u.Name == "" {
			u.Name = cfg.People[i].Name
		}
		if u.Email == "" && len(cfg.People[i].Emails) > 0 {
			u.Email = cfg.People[i].Emails[0]
		}
	}
	for _, c := range clients {
		if !slices.ContainsFunc(cfg.Clients, func(k mapping.Client) bool { return k.ID == c }) {
			return fmt.Errorf("--clients: no client %q in the config", c)
		}
	}
	if (u.Role == store.RolePM || u.Role == store.RoleLead) && u.PersonID == "" && !u.AllClients && len(clients) == 0 {
		return fmt.Errorf("a %s sees the clients of their --person, --clients or --all-clients: give one", u.Role)
	}
	return nil
}

func newUsersPasswdCmd(g *globals) *cobra.Command {
	var pw passwordFlags
	cmd := &cobra.Command{
		Use:   "passwd ID",
		Short: "Set an account's password (signs it out everywhere)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			_, st, err := g.usersStore(cmd.Context())
			if err != nil {
				return err
			}
			defer st.Close()
			u, ok, err := st.WebUser(cmd.Context(), strings.ToLower(args[0]))
			if err != nil {
				return withCode(exitStore, err)
			}
			if !ok {
				return withCode(exitUsage, fmt.Errorf("no account %s (karkas users list shows them)", args[0]))
			}
			password, made, err := pw.read(cmd, g)
			if err != nil {
				return err
			}
			h := web.HashPassword(password)
			if err := st.PutWebUser(cmd.Context(), u, u.Clients(), &h); err != nil {
				return withCode(exitStore, err)
			}
			st.Audit(cmd.Context(), store.AuditEntry{At: time.Now(), Actor: cliActor(), Action: "user_passwd", Subject: "user:" + u.ID})
			fmt.Fprintf(g.stdout, "password of %s set; its sessions are ended\n", u.ID)
			if made {
				fmt.Fprintf(g.stdout, "password: %s\n", password)
			}
			return nil
		},
	}
	pw.add(cmd)
	return cmd
}

func newUsersRemoveCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "remove ID",
		Short: "Remove an account and end its sessions",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			_, st, err := g.usersStore(cmd.Context())
			if err != nil {
				return err
			}
			defer st.Close()
			id := strings.ToLower(args[0])
			found, err := st.RemoveWebUser(cmd.Context(), id)
			if err != nil {
				return withCode(exitStore, err)
			}
			if !found {
				return withCode(exitUsage, fmt.Errorf("no account %s (karkas users list shows them)", args[0]))
			}
			st.Audit(cmd.Context(), store.AuditEntry{At: time.Now(), Actor: cliActor(), Action: "user_remove", Subject: "user:" + id})
			fmt.Fprintf(g.stdout, "removed account %s\n", id)
			return nil
		},
	}
}

func newUsersListCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the accounts",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, st, err := g.usersStore(cmd.Context())
			if err != nil {
				return err
			}
			defer st.Close()
			users, err := st.WebUsers(cmd.Context())
			if err != nil {
				return withCode(exitStore, err)
			}
			if len(users) == 0 {
				fmt.Fprintln(g.stdout, "no accounts (karkas users add makes one)")
				return nil
			}
			tw := tabwriter.NewWriter(g.stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "id\trole\tname\temail\tperson\tclients\tpassword")
			for _, u := range users {
				clients := strings.Join(u.Clients(), ",")
				if u.AllClients || u.Role == store.RoleAdmin || u.Role == store.RoleViewer {
					clients = "all"
				} else if u.PersonID != "" {
					clients = strings.Trim("theirs,"+clients, ",")
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", u.ID, u.Role, u.Name, u.Email, u.PersonID, clients,
					map[bool]string{true: "set", false: "none (OIDC only)"}[u.PasswordHash != ""])
			}
			return tw.Flush()
		},
	}
}

func (g *globals) usersStore(ctx context.Context) (*mapping.Loaded, *store.Store, error) {
	l, err := g.mustConfig()
	if err != nil {
		return nil, nil, err
	}
	st, err := g.openStore(ctx, l.Config)
	if err != nil {
		return nil, nil, err
	}
	return l, st, nil
}

func newCabinetCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "cabinet",
		Short: "Client cabinet links: link, list, revoke, rotate-key",
		Long: `cabinet manages the links that open a client's cabinet in karkas serve's web UI: one
client's hours this month (live) and past months' reports, what waits on them, and how
the agency answers them. A link is signed with a key the store keeps, expires, and can
be revoked; it shows only its client.`,
	}
	cmd.AddCommand(newCabinetLinkCmd(g), newCabinetListCmd(g), newCabinetRevokeCmd(g), newCabinetRotateCmd(g))
	return cmd
}

func newCabinetLinkCmd(g *globals) *cobra.Command {
	var client, expires, note, base string
	cmd := &cobra.Command{
		Use:     "link",
		Short:   "Print a new link to a client's cabinet",
		Example: `  karkas cabinet link --client acme --expires 90d --note "for John"`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			d, err := mapping.ParseSpan(expires)
			if err != nil {
				return withCode(exitUsage, fmt.Errorf("--expires: %w", err))
			}
			l, st, err := g.usersStore(cmd.Context())
			if err != nil {
				return err
			}
			defer st.Close()
			if base == "" && l.Config.Serve != nil {
				base = l.Config.Serve.PublicURL
			}
			url, link, err := web.NewCabinetLink(cmd.Context(), st, l.Config, client, d, cliActor(), note, base)
			if err != nil {
				return withCode(exitUsage, err)
			}
			fmt.Fprintln(g.stdout, url)
			fmt.Fprintf(g.stderr, "link %s to the cabinet of %s, open until %s (karkas cabinet revoke %s ends it)\n",
				link.ID, client, link.ExpiresAt.Format(time.RFC3339), link.ID)
			return nil
		},
	}
	cmd.Flags().StringVar(&client, "client", "", "the client's id (required)")
	cmd.MarkFlagRequired("client")
	cmd.Flags().StringVar(&expires, "expires", "90d", "how long the link opens: days (90d) or a Go duration (36h)")
	cmd.Flags().StringVar(&note, "note", "", "who the link is for, shown by karkas cabinet list")
	cmd.Flags().StringVar(&base, "base-url", "", "the address the link starts with (default serve.public_url, else http://127.0.0.1:8080)")
	return cmd
}

func newCabinetListCmd(g *globals) *cobra.Command {
	var client string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the cabinet links",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, st, err := g.usersStore(cmd.Context())
			if err != nil {
				return err
			}
			defer st.Close()
			links, err := st.CabinetLinks(cmd.Context(), client)
			if err != nil {
				return withCode(exitStore, err)
			}
			tw := tabwriter.NewWriter(g.stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "link\tclient\tmade\tby\topens until\tstate\tlast opened\tnote")
			now := time.Now()
			for _, l := range links {
				state := "open"
				switch {
				case l.RevokedAt != nil:
					state = "revoked " + l.RevokedAt.UTC().Format(time.DateOnly)
				case now.After(l.ExpiresAt):
					state = "expired"
				}
				last := "never"
				if l.LastUsedAt != nil {
					last = l.LastUsedAt.UTC().Format("2006-01-02 15:04")
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", l.ID, l.ClientID, l.CreatedAt.UTC().Format(time.DateOnly), l.CreatedBy,
					l.ExpiresAt.UTC().Format(time.DateOnly), state, last, l.Note)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVar(&client, "client", "", "only this client's links")
	return cmd
}

func newCabinetRevokeCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "revoke LINK",
		Short: "End a cabinet link (karkas cabinet list shows their ids)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			_, st, err := g.usersStore(cmd.Context())
			if err != nil {
				return err
			}
			defer st.Close()
			found, err := st.RevokeCabinetLink(cmd.Context(), args[0], cliActor(), time.Now())
			if err != nil {
				return withCode(exitStore, err)
			}
			if !found {
				return withCode(exitUsage, fmt.Errorf("no open link %s (karkas cabinet list shows them)", args[0]))
			}
			fmt.Fprintf(g.stdout, "revoked link %s\n", args[0])
			return nil
		},
	}
}

func newCabinetRotateCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "rotate-key",
		Short: "Replace the key cabinet links are signed with: every link made before stops opening",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, st, err := g.usersStore(cmd.Context())
			if err != nil {
				return err
			}
			defer st.Close()
			if err := web.RotateCabinetKey(cmd.Context(), st, cliActor()); err != nil {
				return withCode(exitStore, err)
			}
			fmt.Fprintln(g.stdout, "cabinet key replaced: every earlier link no longer opens (karkas cabinet link makes new ones)")
			return nil
		},
	}
}
