package email

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"net/textproto"
	"regexp"
	"strings"

	gomail "github.com/wneessen/go-mail"
	gosmtp "github.com/wneessen/go-mail/smtp"
	"golang.org/x/oauth2"
)

// Stages of a send, as SendError.Stage names them.
const (
	StageCompose    = "composing the message"
	StageToken      = "getting an OAuth2 token"
	StageConnect    = "connecting"
	StageLogin      = "logging in"
	StageMailFrom   = "MAIL FROM"
	StageRcptTo     = "RCPT TO"
	StageData       = "DATA"
	StageMessage    = "sending the message"
	StageMessageEnd = "end of message"
)

// SendError is a failed Send. The outbox reads Permanent and
// MayHaveReached to decide what happens to the delivery:
//
//   - Permanent: the server refused for good (a 5xx answer, wrong
//     credentials, a TLS or login setup it does not support) or the mail
//     itself is invalid. Report it; sending again will not help.
//   - MayHaveReached: the connection was lost after the whole message was
//     sent and before the server answered. It may be stored and on its way;
//     a resend is the same message (same Message-ID), which most clients
//     show once, but it is a second mail.
//   - neither: a temporary failure (a 4xx answer, a refused or dropped
//     connection, a timeout) that outlasted Send's own retries; try later.
type SendError struct {
	DeliveryID string
	// Server is host:port.
	Server string
	// Stage is where it failed: one of the Stage constants.
	Stage string
	// Code is the server's SMTP reply code, 0 when there was no answer.
	Code int
	// EnhancedCode is the RFC 3463 status in the answer, e.g. "5.7.8".
	EnhancedCode string
	// Refused lists the recipients the server refused at RCPT TO.
	Refused        []string
	Permanent      bool
	MayHaveReached bool
	// Attempts counts the tries made.
	Attempts int
	Err      error
}

func (e *SendError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "sending delivery %q via %s: %s", e.DeliveryID, e.Server, e.Stage)
	if len(e.Refused) > 0 {
		fmt.Fprintf(&b, " refused %s", strings.Join(e.Refused, ", "))
	}
	if e.Err != nil {
		b.WriteString(": " + e.Err.Error())
	}
	var notes []string
	switch {
	case e.Permanent:
		notes = append(notes, "permanent")
	case e.MayHaveReached:
		notes = append(notes, "the server may have taken the message")
	default:
		notes = append(notes, "temporary")
	}
	if e.Attempts > 0 {
		notes = append(notes, fmt.Sprintf("%d attempt(s)", e.Attempts))
	}
	b.WriteString(" (" + strings.Join(notes, ", ") + ")")
	return b.String()
}

func (e *SendError) Unwrap() error { return e.Err }

var enhancedCodeRe = regexp.MustCompile(`^([245]\.\d{1,3}\.\d{1,3})\b`)

// isSMTPReply says err carries an answer of the server.
func isSMTPReply(err error) bool {
	var tpe *textproto.Error
	return errors.As(err, &tpe)
}

// classify turns an error of stage into a SendError: the server's 5xx
// answers and setups that cannot work are permanent, everything else
// (4xx, network, timeouts) temporary. MayHaveReached is the caller's.
func classify(stage string, err error) *SendError {
	se := &SendError{Stage: stage, Err: err}
	if stage == StageConnect && isLoginError(err) {
		se.Stage = StageLogin
	}
	var tpe *textproto.Error
	var re *oauth2.RetrieveError
	switch {
	case errors.As(err, &tpe):
		se.Code = tpe.Code
		se.Permanent = tpe.Code >= 500
		if m := enhancedCodeRe.FindStringSubmatch(tpe.Msg); m != nil {
			se.EnhancedCode = m[1]
		}
	case errors.As(err, &re):
		// A refused refresh token or client (400, 401) stays refused until
		// someone fixes the config; a busy token endpoint is temporary.
		se.Permanent = re.Response != nil && re.Response.StatusCode >= 400 && re.Response.StatusCode < 500 &&
			re.Response.StatusCode != http.StatusTooManyRequests && re.Response.StatusCode != http.StatusRequestTimeout
	case isSetupError(err), isTLSError(err):
		se.Permanent = true
	}
	return se
}

// isLoginError says err came from SMTP AUTH or from choosing a mechanism.
func isLoginError(err error) bool {
	return strings.HasPrefix(err.Error(), "SMTP AUTH failed") ||
		errors.Is(err, gomail.ErrXOauth2AuthNotSupported) ||
		errors.Is(err, gomail.ErrPlainAuthNotSupported) ||
		errors.Is(err, gomail.ErrLoginAuthNotSupported) ||
		errors.Is(err, gomail.ErrNoSupportedAuthDiscovered) ||
		strings.Contains(err.Error(), "does not support SMTP AUTH")
}

// isSetupError says the configuration and the server do not fit: retrying
// cannot help.
func isSetupError(err error) bool {
	return errors.Is(err, gomail.ErrXOauth2AuthNotSupported) ||
		errors.Is(err, gomail.ErrPlainAuthNotSupported) ||
		errors.Is(err, gomail.ErrLoginAuthNotSupported) ||
		errors.Is(err, gomail.ErrNoSupportedAuthDiscovered) ||
		errors.Is(err, gosmtp.ErrUnencrypted) ||
		errors.Is(err, gosmtp.ErrWrongHostname) ||
		strings.Contains(err.Error(), "does not support SMTP AUTH") ||
		strings.Contains(err.Error(), "does not support STARTTLS")
}

// isTLSError says the TLS handshake failed on the certificate or the
// protocol (a tls: tls setting against a plain port, say).
func isTLSError(err error) bool {
	var (
		cve *tls.CertificateVerificationError
		rhe tls.RecordHeaderError
		ae  tls.AlertError
		uae x509.UnknownAuthorityError
		he  x509.HostnameError
		cie x509.CertificateInvalidError
	)
	return errors.As(err, &cve) || errors.As(err, &rhe) || errors.As(err, &ae) ||
		errors.As(err, &uae) || errors.As(err, &he) || errors.As(err, &cie)
}
