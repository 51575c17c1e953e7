package mailtest

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"go/build"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// MailpitHint tells a developer how to get Mailpit.
const MailpitHint = "run scripts/mailpit.sh, or make test, to install it"

// SMTPServer is a running Mailpit: a real SMTP server that keeps what it
// receives and shows it through its HTTP API.
type SMTPServer struct {
	// Host and Port are where SMTP listens (127.0.0.1 and a free port).
	Host string
	Port int
	// APIURL is the root of the HTTP API, e.g. http://127.0.0.1:40123.
	APIURL string
	// Username and Password are the only credentials accepted when the
	// server was started with MailpitAuth; empty otherwise.
	Username, Password string

	rootCAs *x509.CertPool
	cmd     *exec.Cmd
	exited  chan struct{} // closed when the process has been reaped
	logPath string
	http    *http.Client
}

// SMTPAddr returns host:port of the SMTP listener.
func (s *SMTPServer) SMTPAddr() string { return net.JoinHostPort(s.Host, strconv.Itoa(s.Port)) }

// RootCAs holds the self-signed certificate of a server started with
// MailpitSTARTTLS or MailpitTLS (valid for 127.0.0.1 and localhost); nil
// otherwise.
func (s *SMTPServer) RootCAs() *x509.CertPool { return s.rootCAs }

// MailpitOption changes how Mailpit is started.
type MailpitOption func(*mailpitConfig)

type mailpitConfig struct {
	user, password   string
	startTLS, tls    bool
	chaos            bool
	allowRecipients  string
	ignoreDuplicates bool
}

// MailpitAuth makes the server require SMTP AUTH and accept only user with
// password. Without TLS options it allows PLAIN and LOGIN on the clear
// connection, as a local relay would.
func MailpitAuth(user, password string) MailpitOption {
	return func(c *mailpitConfig) { c.user, c.password = user, password }
}

// MailpitSTARTTLS makes the server offer and require STARTTLS with a
// self-signed certificate (see RootCAs).
func MailpitSTARTTLS() MailpitOption { return func(c *mailpitConfig) { c.startTLS = true } }

// MailpitTLS makes the server speak TLS from the first byte (SMTPS, the
// "port 465" mode) with a self-signed certificate (see RootCAs).
func MailpitTLS() MailpitOption { return func(c *mailpitConfig) { c.tls = true } }

// MailpitChaos enables Mailpit's fault injection, which SetChaos then
// configures: a chosen 4xx or 5xx answer to MAIL FROM, RCPT TO or AUTH.
func MailpitChaos() MailpitOption { return func(c *mailpitConfig) { c.chaos = true } }

// MailpitAllowRecipients makes the server refuse, with "550 5.1.0", every
// RCPT TO address the regular expression does not match.
func MailpitAllowRecipients(re string) MailpitOption {
	return func(c *mailpitConfig) { c.allowRecipients = re }
}

// MailpitIgnoreDuplicateIDs makes the server drop a message whose
// Message-ID it already holds (it still answers 250).
func MailpitIgnoreDuplicateIDs() MailpitOption {
	return func(c *mailpitConfig) { c.ignoreDuplicates = true }
}

// mailpitBinary finds mailpit on PATH or where scripts/mailpit.sh installs it.
func mailpitBinary() (string, bool) {
	if p, err := exec.LookPath("mailpit"); err == nil {
		return p, true
	}
	var dirs []string
	if gobin := os.Getenv("GOBIN"); gobin != "" {
		dirs = append(dirs, gobin)
	}
	for _, gp := range filepath.SplitList(build.Default.GOPATH) {
		dirs = append(dirs, filepath.Join(gp, "bin"))
	}
	for _, d := range dirs {
		p := filepath.Join(d, "mailpit")
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p, true
		}
	}
	return "", false
}

// Mailpit starts a Mailpit on free loopback ports with its own database in
// t.TempDir(), waits until it answers, and stops it by its pid when the test
// ends (printing its log if the test failed). Without the binary the test is
// skipped, or failed with CI=true (see Missing).
func Mailpit(t testing.TB, opts ...MailpitOption) *SMTPServer {
	t.Helper()
	bin, ok := mailpitBinary()
	if !ok {
		Missing(t, "mailpit", MailpitHint)
		return nil
	}
	var cfg mailpitConfig
	for _, o := range opts {
		o(&cfg)
	}
	dir := t.TempDir()
	base := []string{
		"--database", filepath.Join(dir, "mailpit.db"),
		"--disable-version-check",
		"--smtp-disable-rdns",
		"--max", "0", // keep every message: tests count them
		"--verbose",
	}
	var rootCAs *x509.CertPool
	if cfg.startTLS || cfg.tls {
		cert, key := filepath.Join(dir, "smtp.crt"), filepath.Join(dir, "smtp.key")
		pool, err := selfSigned("mailtest", cert, key)
		if err != nil {
			t.Fatalf("mailpit: making a certificate: %v", err)
		}
		rootCAs = pool
		base = append(base, "--smtp-tls-cert", cert, "--smtp-tls-key", key)
		if cfg.tls {
			base = append(base, "--smtp-require-tls")
		} else {
			base = append(base, "--smtp-require-starttls")
		}
	}
	if cfg.user != "" {
		authFile := filepath.Join(dir, "smtp-auth")
		if err := os.WriteFile(authFile, []byte(cfg.user+":"+cfg.password+"\n"), 0o600); err != nil {
			t.Fatalf("mailpit: %v", err)
		}
		base = append(base, "--smtp-auth-file", authFile)
		if !cfg.startTLS && !cfg.tls {
			base = append(base, "--smtp-auth-allow-insecure")
		}
	}
	if cfg.chaos {
		base = append(base, "--enable-chaos")
	}
	if cfg.allowRecipients != "" {
		base = append(base, "--smtp-allowed-recipients", cfg.allowRecipients)
	}
	if cfg.ignoreDuplicates {
		base = append(base, "--ignore-duplicate-ids")
	}

	// Free ports are picked by binding and releasing them, so another
	// process may take one in between; a start that fails is retried on
	// fresh ports.
	var lastErr error
	for try := 0; try < 3; try++ {
		s, err := startMailpit(t, bin, dir, base)
		if err == nil {
			s.Username, s.Password = cfg.user, cfg.password
			s.rootCAs = rootCAs
			return s
		}
		lastErr = err
	}
	t.Fatalf("mailpit did not start: %v", lastErr)
	return nil
}

func startMailpit(t testing.TB, bin, dir string, base []string) (*SMTPServer, error) {
	smtpPort, err := mailpitFreePort()
	if err != nil {
		return nil, err
	}
	httpPort, err := mailpitFreePort()
	if err != nil {
		return nil, err
	}
	logPath := filepath.Join(dir, fmt.Sprintf("mailpit-%d.log", smtpPort))
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	args := append([]string{
		"--smtp", "127.0.0.1:" + strconv.Itoa(smtpPort),
		"--listen", "127.0.0.1:" + strconv.Itoa(httpPort),
	}, base...)
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.Dir = dir
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("starting %s: %w", bin, err)
	}
	s := &SMTPServer{
		Host:    "127.0.0.1",
		Port:    smtpPort,
		APIURL:  "http://127.0.0.1:" + strconv.Itoa(httpPort),
		cmd:     cmd,
		exited:  make(chan struct{}),
		logPath: logPath,
		http:    &http.Client{Timeout: 10 * time.Second},
	}
	go func() {
		_ = cmd.Wait()
		logFile.Close()
		close(s.exited)
	}()
	if err := s.waitReady(15 * time.Second); err != nil {
		s.stop()
		return nil, fmt.Errorf("%w\n%s", err, s.logTail())
	}
	t.Cleanup(func() {
		s.stop()
		if t.Failed() {
			t.Logf("mailpit log (%s):\n%s", logPath, s.logTail())
		}
	})
	return s, nil
}

// waitReady polls /readyz and the SMTP port until both answer, the process
// exits, or the deadline passes.
func (s *SMTPServer) waitReady(limit time.Duration) error {
	deadline := time.Now().Add(limit)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		if s.ready() {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("mailpit did not answer within %s", limit)
		}
		select {
		case <-s.exited:
			return errors.New("mailpit exited during start-up")
		case <-tick.C:
		}
	}
}

func (s *SMTPServer) ready() bool {
	c := &http.Client{Timeout: time.Second}
	resp, err := c.Get(s.APIURL + "/readyz")
	if err != nil {
		return false
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return false
	}
	conn, err := net.DialTimeout("tcp", s.SMTPAddr(), time.Second)
	if err != nil {
		return false
	}
	conn.Close()
	return true
}

// stop ends the process by its pid: SIGTERM, then SIGKILL if it lingers.
func (s *SMTPServer) stop() {
	select {
	case <-s.exited:
		return
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(5 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
}

func (s *SMTPServer) logTail() string {
	b, err := os.ReadFile(s.logPath)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	if len(b) > 8<<10 {
		b = b[len(b)-8<<10:]
	}
	return string(b)
}

func mailpitFreePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// TLSConfig returns a client configuration that trusts the server's
// certificate; nil for a server without TLS.
func (s *SMTPServer) TLSConfig() *tls.Config {
	if s.rootCAs == nil {
		return nil
	}
	return &tls.Config{RootCAs: s.rootCAs, ServerName: s.Host, MinVersion: tls.VersionTLS12}
}

// Address is a name and an address as Mailpit reports them (decoded).
type Address struct {
	Name    string
	Address string
}

// MessageSummary is one entry of Mailpit's message list.
type MessageSummary struct {
	ID        string // Mailpit's database id, for Message and Raw
	MessageID string // the Message-ID header without angle brackets
	From      *Address
	To, Cc    []Address
	Bcc       []Address
	Subject   string
	Created   time.Time
	Size      int64
	Snippet   string
}

// Message is one message with its decoded headers and bodies.
type Message struct {
	ID          string
	MessageID   string
	From        *Address
	To, Cc, Bcc []Address
	ReplyTo     []Address
	ReturnPath  string
	Subject     string
	Date        time.Time
	Text        string
	HTML        string
	Size        int64
	Attachments []struct{ FileName, ContentType string }
	// Headers are the message's header fields by canonical name, as
	// Mailpit's /headers endpoint returns them: unfolded, but RFC 2047
	// encoded words left as they are (decode with mime.WordDecoder).
	Headers map[string][]string
}

// Messages lists what the server received, newest first.
func (s *SMTPServer) Messages(t testing.TB) []MessageSummary {
	t.Helper()
	var out struct {
		Total    int              `json:"total"`
		Messages []MessageSummary `json:"messages"`
	}
	s.getJSON(t, "/api/v1/messages?limit=1000", &out)
	if out.Total > len(out.Messages) {
		t.Fatalf("mailpit holds %d messages, more than one page of %d", out.Total, len(out.Messages))
	}
	return out.Messages
}

// Message returns one message with its headers.
func (s *SMTPServer) Message(t testing.TB, id string) Message {
	t.Helper()
	var m Message
	s.getJSON(t, "/api/v1/message/"+url.PathEscape(id), &m)
	s.getJSON(t, "/api/v1/message/"+url.PathEscape(id)+"/headers", &m.Headers)
	return m
}

// Raw returns the message's source as received.
func (s *SMTPServer) Raw(t testing.TB, id string) []byte {
	t.Helper()
	return s.get(t, "/api/v1/message/"+url.PathEscape(id)+"/raw")
}

// ChaosTrigger makes Mailpit answer one SMTP stage with ErrorCode (400 to
// 599) in Probability percent of the cases (0 to 100).
type ChaosTrigger struct {
	ErrorCode   int
	Probability int
}

// Chaos configures the failures of a server started with MailpitChaos.
// A zero trigger is off.
type Chaos struct {
	Sender         ChaosTrigger // MAIL FROM
	Recipient      ChaosTrigger // RCPT TO
	Authentication ChaosTrigger // AUTH
}

// SetChaos replaces the server's fault triggers; SetChaos(t, Chaos{})
// turns them all off.
func (s *SMTPServer) SetChaos(t testing.TB, c Chaos) {
	t.Helper()
	if err := s.PutChaos(c); err != nil {
		t.Fatal(err)
	}
}

// PutChaos is SetChaos for callers without a testing.TB at hand (a hook
// running inside the code under test); it returns what went wrong.
func (s *SMTPServer) PutChaos(c Chaos) error {
	body, err := json.Marshal(c)
	if err != nil {
		return err
	}
	req, err := http.NewRequest(http.MethodPut, s.APIURL+"/api/v1/chaos", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.http.Do(req)
	if err != nil {
		return fmt.Errorf("mailpit: setting chaos: %w", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("mailpit: setting chaos: %s: %s (started without MailpitChaos?)", resp.Status, strings.TrimSpace(string(b)))
	}
	return nil
}

func (s *SMTPServer) get(t testing.TB, path string) []byte {
	t.Helper()
	resp, err := s.http.Get(s.APIURL + path)
	if err != nil {
		t.Fatalf("mailpit: GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("mailpit: GET %s: reading: %v", path, err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("mailpit: GET %s: %s: %s", path, resp.Status, strings.TrimSpace(string(b)))
	}
	return b
}

func (s *SMTPServer) getJSON(t testing.TB, path string, v any) {
	t.Helper()
	if err := json.Unmarshal(s.get(t, path), v); err != nil {
		t.Fatalf("mailpit: GET %s: decoding: %v", path, err)
	}
}
