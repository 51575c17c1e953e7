package mailtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// DovecotPassword is the one password the test Dovecot accepts, for any
// user name.
const DovecotPassword = "secret"

// IMAPServer is a throwaway Dovecot on a loopback port. Every user name
// logs in with Password; a user's mail lives under the server's temporary
// folder and is gone when the test ends. INBOX and a Sent folder (marked
// \Sent) exist for every user.
type IMAPServer struct {
	// Addr is host:port of the plain-text IMAP listener (no TLS).
	Addr string
	// Host and Port are Addr split.
	Host string
	Port int
	// Password logs in any user.
	Password string
	// TLSPort is the imaps port, with DovecotTLS; 0 otherwise.
	TLSPort int
	// CAFile is the PEM certificate the server presents, with DovecotTLS.
	CAFile string

	root   string
	conf   string
	owner  dovecotUser // who the mail files belong to
	cmd    *exec.Cmd
	exited chan error    // the master's exit, once
	out    *bytes.Buffer // the master's own stdout and stderr

	mu      sync.Mutex
	clients map[string]*imapclient.Client

	folders     string            // extra mailbox blocks of the inbox namespace
	oauth2      string            // the oauth2 passdb's config, when on
	tokens      map[string]string // bearer token -> user; under mu
	tokenChecks int               // under mu
}

// dovecotConf is the checked recipe of shared/docs/dovecot-for-tests.md,
// with the user running the mail processes left open: nobody as root,
// the current user otherwise.
const dovecotConf = `protocols = imap
listen = 127.0.0.1
base_dir = {{ROOT}}/run
state_dir = {{ROOT}}/state
log_path = {{ROOT}}/dovecot.log
{{SSL}}
disable_plaintext_auth = no
auth_mechanisms = plain login{{OAUTH2_MECHS}}
auth_failure_delay = 0
default_internal_user = {{USER}}
default_internal_group = {{GROUP}}
default_login_user = {{USER}}
first_valid_uid = 1
passdb {
  driver = static
  args = password={{PASSWORD}}
  mechanisms = plain login
}
{{OAUTH2_PASSDB}}userdb {
  driver = static
  args = uid={{UID}} gid={{GID}} home={{ROOT}}/home/%u allow_all_users=yes
}
mail_location = maildir:~/Maildir
# A throwaway server: an fsync per message costs the benchmarks minutes.
mail_fsync = never
namespace inbox {
  inbox = yes
  separator = /
  mailbox Sent {
    special_use = \Sent
    auto = create
  }
{{FOLDERS}}}
service imap-login {
  chroot =
  inet_listener imap {
    address = 127.0.0.1
    port = {{PORT}}
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = {{TLSPORT}}
  }
}
service anvil {
  chroot =
}
service stats {
  unix_listener stats-writer {
    mode = 0666
  }
}
`

// oauth2Passdb checks XOAUTH2 and OAUTHBEARER bearer tokens with an HTTP
// tokeninfo endpoint, the way Dovecot fronts Google or Microsoft accounts.
const oauth2Passdb = `passdb {
  driver = oauth2
  args = {{ROOT}}/oauth2.conf
  mechanisms = xoauth2 oauthbearer
}
`

// DovecotOption changes the test Dovecot.
type DovecotOption func(*dovecotOptions)

type dovecotOptions struct {
	oauth2  bool
	tls     bool
	folders string
}

// DovecotTLS gives the server a self-signed certificate for 127.0.0.1:
// TLSPort speaks TLS from the first byte (imaps), and Port offers
// STARTTLS. CAFile is the certificate, for clients to trust.
func DovecotTLS() DovecotOption { return func(o *dovecotOptions) { o.tls = true } }

// DovecotFolder gives every user a folder named name (a path with "/"
// for a subfolder, e.g. "[Gmail]/All Mail") marked with a special-use
// attribute such as \All, as Gmail's folders are.
func DovecotFolder(name string, attr imap.MailboxAttr) DovecotOption {
	return func(o *dovecotOptions) {
		o.folders += fmt.Sprintf("  mailbox %s {\n    special_use = %s\n    auto = create\n  }\n", strconv.Quote(name), attr)
	}
}

// DovecotOAuth2 makes the server take XOAUTH2 and OAUTHBEARER logins: a
// bearer token is good for the user AllowToken registered it for. The
// server checks it at each login with an HTTP tokeninfo endpoint that
// the test runs, as Dovecot does in front of Google or Microsoft
// accounts; a refused token gets the real protocol's answer (a
// continuation with a JSON error, then NO).
func DovecotOAuth2() DovecotOption { return func(o *dovecotOptions) { o.oauth2 = true } }

// Dovecot starts a Dovecot for the test and stops it, by its own pid, when
// the test ends; a failed test gets the server's log. Without the dovecot
// binary the test is skipped, or failed with CI=true (see Missing).
func Dovecot(t testing.TB, opts ...DovecotOption) *IMAPServer {
	t.Helper()
	var o dovecotOptions
	for _, opt := range opts {
		opt(&o)
	}
	bin, err := exec.LookPath("dovecot")
	if err != nil {
		Missing(t, "Dovecot", "run scripts/dovecot.sh, or apt-get install dovecot-imapd")
		return nil
	}
	// Not t.TempDir(): Dovecot's unix sockets live under base_dir, and a
	// socket path must fit in 108 bytes, which long test names overflow.
	root, err := os.MkdirTemp("", "dovecot")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(root) })
	// The mail processes run as another user that must reach home/.
	if err := os.Chmod(root, 0o755); err != nil {
		t.Fatal(err)
	}

	owner, err := dovecotOwner()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"run", "state", "home"} {
		if err := os.Mkdir(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chown(filepath.Join(root, "home"), owner.uid, owner.gid); err != nil {
		t.Fatal(err)
	}

	s := &IMAPServer{Host: "127.0.0.1", Password: DovecotPassword, root: root, conf: filepath.Join(root, "dovecot.conf"),
		clients: map[string]*imapclient.Client{}, folders: o.folders, owner: owner}
	if o.tls {
		s.CAFile = filepath.Join(root, "tls.crt")
		if _, err := selfSigned("dovecot test", s.CAFile, filepath.Join(root, "tls.key")); err != nil {
			t.Fatal(err)
		}
	}
	if o.oauth2 {
		s.tokens = map[string]string{}
		ts := httptest.NewServer(http.HandlerFunc(s.tokenInfo))
		t.Cleanup(ts.Close)
		s.oauth2 = "tokeninfo_url = " + ts.URL + "/tokeninfo?access_token=\nusername_attribute = email\n"
	}
	// A free port can be taken between asking and binding: try again.
	for attempt := 1; ; attempt++ {
		err = s.start(bin, owner)
		if err == nil || attempt == 3 {
			break
		}
	}
	if err != nil {
		s.dumpLog(t)
		t.Fatalf("starting Dovecot: %v", err)
	}
	t.Cleanup(func() {
		s.closeClients()
		if err := s.stop(); err != nil {
			t.Errorf("stopping Dovecot: %v", err)
		}
		if t.Failed() {
			s.dumpLog(t)
		}
	})
	return s
}

type dovecotUser struct {
	name, group string
	uid, gid    int
}

// dovecotOwner is who owns the mail: Dovecot refuses uid 0 for mail access, so
// root hands it to nobody.
func dovecotOwner() (dovecotUser, error) {
	if os.Geteuid() == 0 {
		u, err := user.Lookup("nobody")
		if err != nil {
			return dovecotUser{}, fmt.Errorf("looking up user nobody: %w", err)
		}
		g, err := user.LookupGroupId(u.Gid)
		if err != nil {
			return dovecotUser{}, fmt.Errorf("looking up nobody's group: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		return dovecotUser{name: u.Username, group: g.Name, uid: uid, gid: gid}, nil
	}
	u, err := user.Current()
	if err != nil {
		return dovecotUser{}, err
	}
	g, err := user.LookupGroupId(u.Gid)
	if err != nil {
		return dovecotUser{}, err
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return dovecotUser{name: u.Username, group: g.Name, uid: uid, gid: gid}, nil
}

func dovecotPort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func (s *IMAPServer) start(bin string, owner dovecotUser) error {
	port, err := dovecotPort()
	if err != nil {
		return err
	}
	mechs, passdb := "", ""
	if s.oauth2 != "" {
		mechs, passdb = " xoauth2 oauthbearer", oauth2Passdb
		if err := os.WriteFile(filepath.Join(s.root, "oauth2.conf"), []byte(s.oauth2), 0o644); err != nil {
			return err
		}
	}
	ssl, tlsPort := "ssl = no", 0
	if s.CAFile != "" {
		ssl = fmt.Sprintf("ssl = yes\nssl_cert = <%s\nssl_key = <%s", s.CAFile, filepath.Join(s.root, "tls.key"))
		if tlsPort, err = dovecotPort(); err != nil {
			return err
		}
	}
	conf := strings.NewReplacer("{{OAUTH2_MECHS}}", mechs, "{{OAUTH2_PASSDB}}", passdb, "{{FOLDERS}}", s.folders,
		"{{SSL}}", ssl, "{{TLSPORT}}", strconv.Itoa(tlsPort)).Replace(dovecotConf)
	conf = strings.NewReplacer(
		"{{ROOT}}", s.root, "{{PORT}}", strconv.Itoa(port), "{{PASSWORD}}", s.Password,
		"{{USER}}", owner.name, "{{GROUP}}", owner.group,
		"{{UID}}", strconv.Itoa(owner.uid), "{{GID}}", strconv.Itoa(owner.gid),
	).Replace(conf)
	if err := os.WriteFile(s.conf, []byte(conf), 0o644); err != nil {
		return err
	}
	// -F keeps the master in the foreground: its pid is ours to stop.
	s.out = &bytes.Buffer{}
	s.cmd = exec.Command(bin, "-F", "-c", s.conf)
	s.cmd.Stdout, s.cmd.Stderr = s.out, s.out
	if err := s.cmd.Start(); err != nil {
		return err
	}
	exited := make(chan error, 1)
	go func(cmd *exec.Cmd) { exited <- cmd.Wait() }(s.cmd)

	s.Port, s.TLSPort = port, tlsPort
	s.Addr = net.JoinHostPort(s.Host, strconv.Itoa(port))
	// Wait until the listener answers with a greeting, or the master dies.
	deadline := time.Now().Add(15 * time.Second)
	for {
		select {
		case err := <-exited:
			s.cmd = nil
			return fmt.Errorf("dovecot exited at start (%v): %s", err, strings.TrimSpace(s.out.String()))
		default:
		}
		if imapGreeted(s.Addr) {
			s.exited = exited
			return nil
		}
		if time.Now().After(deadline) {
			_ = s.cmd.Process.Kill()
			<-exited
			s.cmd = nil
			return fmt.Errorf("dovecot did not accept on %s within 15s", s.Addr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// imapGreeted reports whether an IMAP greeting comes from addr.
func imapGreeted(addr string) bool {
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(2 * time.Second))
	buf := make([]byte, 4)
	_, err = io.ReadFull(conn, buf)
	return err == nil && string(buf) == "* OK"
}

// stop ends the master by its pid (SIGTERM; SIGKILL after 10 s). The
// master stops its own children.
func (s *IMAPServer) stop() error {
	if s.cmd == nil {
		return nil
	}
	cmd := s.cmd
	s.cmd = nil
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
		return nil
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		<-s.exited
		return errors.New("dovecot ignored SIGTERM for 10s and was killed")
	}
}

// Log returns what Dovecot has logged so far.
func (s *IMAPServer) Log() string {
	b, _ := os.ReadFile(filepath.Join(s.root, "dovecot.log"))
	return string(b)
}

func (s *IMAPServer) dumpLog(t testing.TB) {
	t.Helper()
	log := s.Log()
	if s.out != nil && s.out.Len() > 0 {
		log = s.out.String() + log
	}
	lines := strings.Split(strings.TrimRight(log, "\n"), "\n")
	if len(lines) > 200 {
		lines = lines[len(lines)-200:]
	}
	t.Logf("dovecot log (last %d lines):\n%s", len(lines), strings.Join(lines, "\n"))
}

// Dial returns a new client of user, logged in; the test closes it when it
// ends. For the test's own IMAP conversation (checking flags, say).
func (s *IMAPServer) Dial(t testing.TB, user string) *imapclient.Client {
	t.Helper()
	c, err := s.login(user)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func (s *IMAPServer) login(user string) (*imapclient.Client, error) {
	c, err := imapclient.DialInsecure(s.Addr, nil)
	if err != nil {
		return nil, fmt.Errorf("dialing dovecot: %w", err)
	}
	if err := c.Login(user, s.Password).Wait(); err != nil {
		c.Close()
		return nil, fmt.Errorf("logging in to dovecot as %s: %w", user, err)
	}
	return c, nil
}

// client returns the helpers' shared connection of user, locked; call the
// returned unlock when done.
func (s *IMAPServer) client(t testing.TB, user string) (*imapclient.Client, func()) {
	t.Helper()
	s.mu.Lock()
	c := s.clients[user]
	if c != nil {
		select {
		case <-c.Closed():
			c = nil
		default:
		}
	}
	if c == nil {
		var err error
		if c, err = s.login(user); err != nil {
			s.mu.Unlock()
			t.Fatal(err)
		}
		s.clients[user] = c
	}
	return c, s.mu.Unlock
}

func (s *IMAPServer) closeClients() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for u, c := range s.clients {
		_ = c.Logout().Wait()
		c.Close()
		delete(s.clients, u)
	}
}

// Append stores raw in user's folder with date as its INTERNALDATE (the
// current time when zero) and flags, and returns its UID.
func (s *IMAPServer) Append(t testing.TB, user, folder string, raw []byte, date time.Time, flags ...imap.Flag) imap.UID {
	t.Helper()
	c, unlock := s.client(t, user)
	defer unlock()
	uid, err := imapAppend(c, folder, raw, date, flags)
	if err != nil {
		t.Fatalf("appending to %s of %s: %v", folder, user, err)
	}
	return uid
}

func imapAppend(c *imapclient.Client, folder string, raw []byte, date time.Time, flags []imap.Flag) (imap.UID, error) {
	cmd := c.Append(folder, int64(len(raw)), &imap.AppendOptions{Flags: flags, Time: date})
	if _, err := cmd.Write(raw); err != nil {
		cmd.Close()
		return 0, err
	}
	if err := cmd.Close(); err != nil {
		return 0, err
	}
	data, err := cmd.Wait()
	if err != nil {
		return 0, err
	}
	return data.UID, nil
}

// Deliver puts every message of raws into user's folder the way a local
// delivery agent does, as files in the folder's maildir: thousands a
// second, where APPEND manages a few hundred. Dovecot gives them UIDs, in
// the order of raws, when a client next opens the folder. INBOX and
// folders directly under it (Sent, Archive) only.
func (s *IMAPServer) Deliver(t testing.TB, user, folder string, raws [][]byte) {
	t.Helper()
	if strings.ContainsAny(folder, "/.") {
		t.Fatalf("Deliver: %q is not INBOX or a top-level folder", folder)
	}
	before := s.count(t, user, folder)
	dir := filepath.Join(s.root, "home", user, "Maildir")
	if !strings.EqualFold(folder, "INBOX") {
		dir = filepath.Join(dir, "."+folder)
	}
	for _, sub := range []string{"", "cur", "new", "tmp"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(filepath.Join(dir, sub), s.owner.uid, s.owner.gid); err != nil {
			t.Fatal(err)
		}
	}
	// Seconds in the names keep them sorted as raws is: Dovecot numbers
	// new files in name order.
	base := time.Now().Unix()
	for i, raw := range raws {
		name := fmt.Sprintf("%d.M%09dP%d.mailtest", base, i, os.Getpid())
		tmp := filepath.Join(dir, "tmp", name)
		if err := os.WriteFile(tmp, raw, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(tmp, s.owner.uid, s.owner.gid); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, filepath.Join(dir, "new", name)); err != nil {
			t.Fatal(err)
		}
	}
	if after := s.count(t, user, folder); after != before+len(raws) {
		t.Fatalf("Deliver: %s of %s holds %d messages, want %d", folder, user, after, before+len(raws))
	}
}

// count returns the number of messages in user's folder.
func (s *IMAPServer) count(t testing.TB, user, folder string) int {
	t.Helper()
	c, unlock := s.client(t, user)
	defer unlock()
	data, err := c.Status(folder, &imap.StatusOptions{NumMessages: true}).Wait()
	if err != nil {
		t.Fatalf("status of %s of %s: %v", folder, user, err)
	}
	return int(*data.NumMessages)
}

// CreateFolder creates folder for user, marked with the special-use
// attributes given (\Sent, \All, ...).
func (s *IMAPServer) CreateFolder(t testing.TB, user, folder string, specialUse ...imap.MailboxAttr) {
	t.Helper()
	c, unlock := s.client(t, user)
	defer unlock()
	var opts *imap.CreateOptions
	if len(specialUse) > 0 {
		opts = &imap.CreateOptions{SpecialUse: specialUse}
	}
	if err := c.Create(folder, opts).Wait(); err != nil {
		t.Fatalf("creating %s of %s: %v", folder, user, err)
	}
}

// DeleteFolder deletes folder of user with its mail.
func (s *IMAPServer) DeleteFolder(t testing.TB, user, folder string) {
	t.Helper()
	c, unlock := s.client(t, user)
	defer unlock()
	if err := c.Delete(folder).Wait(); err != nil {
		t.Fatalf("deleting %s of %s: %v", folder, user, err)
	}
}

// Recreate empties folder of user and gives it a new UIDVALIDITY, as a
// server migration or a restored backup does, and returns the new
// UIDVALIDITY. Other folders are deleted and created again over IMAP;
// INBOX cannot be deleted, so its messages are expunged and doveadm sets
// a new UIDVALIDITY.
func (s *IMAPServer) Recreate(t testing.TB, user, folder string) uint32 {
	t.Helper()
	old := s.UIDValidity(t, user, folder)
	if strings.EqualFold(folder, "INBOX") {
		s.expungeAll(t, user, folder)
		s.closeClient(user) // it has INBOX selected
		next := uint32(time.Now().Unix())
		if next <= old {
			next = old + 1
		}
		out, err := exec.Command("doveadm", "-c", s.conf, "mailbox", "update", "-u", user,
			"--uid-validity", strconv.FormatUint(uint64(next), 10), folder).CombinedOutput()
		if err != nil {
			t.Fatalf("doveadm mailbox update: %v: %s", err, out)
		}
	} else {
		s.DeleteFolder(t, user, folder)
		s.CreateFolder(t, user, folder, s.specialUse(folder)...)
	}
	now := s.UIDValidity(t, user, folder)
	if now == old {
		t.Fatalf("recreating %s of %s kept UIDVALIDITY %d", folder, user, old)
	}
	return now
}

// specialUse gives the recreated Sent folder its attribute back.
func (s *IMAPServer) specialUse(folder string) []imap.MailboxAttr {
	if folder == "Sent" {
		return []imap.MailboxAttr{imap.MailboxAttrSent}
	}
	return nil
}

func (s *IMAPServer) closeClient(user string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.clients[user]; c != nil {
		_ = c.Logout().Wait()
		c.Close()
		delete(s.clients, user)
	}
}

func (s *IMAPServer) expungeAll(t testing.TB, user, folder string) {
	t.Helper()
	c, unlock := s.client(t, user)
	defer unlock()
	data, err := c.Select(folder, nil).Wait()
	if err != nil {
		t.Fatalf("selecting %s of %s: %v", folder, user, err)
	}
	if data.NumMessages > 0 {
		all := imap.SeqSet{}
		all.AddRange(1, 0)
		if err := c.Store(all, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagDeleted}, Silent: true}, nil).Close(); err != nil {
			t.Fatalf("flagging %s of %s deleted: %v", folder, user, err)
		}
		if err := c.Expunge().Close(); err != nil {
			t.Fatalf("expunging %s of %s: %v", folder, user, err)
		}
	}
	if err := c.Unselect().Wait(); err != nil {
		t.Fatalf("closing %s of %s: %v", folder, user, err)
	}
}

// UIDValidity returns the UIDVALIDITY of user's folder.
func (s *IMAPServer) UIDValidity(t testing.TB, user, folder string) uint32 {
	t.Helper()
	c, unlock := s.client(t, user)
	defer unlock()
	data, err := c.Status(folder, &imap.StatusOptions{UIDValidity: true}).Wait()
	if err != nil {
		t.Fatalf("status of %s of %s: %v", folder, user, err)
	}
	return data.UIDValidity
}

// Flags returns the flags of every message in user's folder by UID.
func (s *IMAPServer) Flags(t testing.TB, user, folder string) map[imap.UID][]imap.Flag {
	t.Helper()
	c, unlock := s.client(t, user)
	defer unlock()
	if _, err := c.Select(folder, &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
		t.Fatalf("examining %s of %s: %v", folder, user, err)
	}
	all := imap.UIDSet{}
	all.AddRange(1, 0)
	msgs, err := c.Fetch(all, &imap.FetchOptions{UID: true, Flags: true}).Collect()
	if err != nil {
		t.Fatalf("fetching flags of %s of %s: %v", folder, user, err)
	}
	if err := c.Unselect().Wait(); err != nil {
		t.Fatalf("closing %s of %s: %v", folder, user, err)
	}
	out := map[imap.UID][]imap.Flag{}
	for _, m := range msgs {
		out[m.UID] = m.Flags
	}
	return out
}

// AllowToken makes token a good bearer token for user (DovecotOAuth2).
func (s *IMAPServer) AllowToken(token, user string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens[token] = user
}

// RevokeToken makes token a bad one again.
func (s *IMAPServer) RevokeToken(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.tokens, token)
}

// TokenChecks counts the bearer tokens the server has checked.
func (s *IMAPServer) TokenChecks() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tokenChecks
}

// tokenInfo answers Dovecot's oauth2 passdb like Google's tokeninfo: the
// token's user as "email", or 401.
func (s *IMAPServer) tokenInfo(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.tokenChecks++
	user, ok := s.tokens[r.URL.Query().Get("access_token")]
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if !ok {
		w.WriteHeader(http.StatusUnauthorized)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": "invalid_token"})
		return
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"email": user, "active": true})
}

// Expunge deletes the message of that UID from user's folder, as a mail
// program does: flagged \Deleted, then expunged.
func (s *IMAPServer) Expunge(t testing.TB, user, folder string, uid imap.UID) {
	t.Helper()
	c, unlock := s.client(t, user)
	defer unlock()
	if _, err := c.Select(folder, nil).Wait(); err != nil {
		t.Fatalf("selecting %s of %s: %v", folder, user, err)
	}
	set := imap.UIDSetNum(uid)
	if err := c.Store(set, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagDeleted}, Silent: true}, nil).Close(); err != nil {
		t.Fatalf("flagging UID %d of %s/%s deleted: %v", uid, user, folder, err)
	}
	if err := c.UIDExpunge(set).Close(); err != nil {
		t.Fatalf("expunging UID %d of %s/%s: %v", uid, user, folder, err)
	}
	if err := c.Unselect().Wait(); err != nil {
		t.Fatalf("closing %s of %s: %v", folder, user, err)
	}
}
