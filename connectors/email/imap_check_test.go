package email

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/karkas/karkas/connectors"
	"github.com/karkas/karkas/internal/mailtest"
	"github.com/karkas/karkas/internal/secret"
)

// Check logs in to every account of a real Dovecot and lists its folders:
// the right passwords pass; a wrong password, a folder the account does
// not have and a server nobody listens on are one error each, naming the
// account and never the password; a refused login is ErrUnauthorized.
func TestIMAPCheck(t *testing.T) {
	t.Parallel()
	srv := mailtest.Dovecot(t)
	srv.Append(t, anna, "INBOX", testMail("a@client.example", olga, anna, "x", "Mon, 27 May 2024 09:00:00 +0000", "x"), time.Time{})
	good := dovecotAccount(srv, anna)
	if err := openTestIMAP(t, nil, good, dovecotAccount(srv, boris)).Check(context.Background()); err != nil {
		t.Fatalf("two right logins: %v", err)
	}

	wrong := dovecotAccount(srv, boris)
	wrong.Name, wrong.Password = "boris", secret.Inline("wrong-password-123")
	folder := dovecotAccount(srv, olga)
	folder.Name, folder.Folders = "olga", []string{"INBOX", "Клиенты/Acme"}
	closed := dovecotAccount(srv, anna)
	closed.Name, closed.Port = "nobody", closedPort(t)
	err := openTestIMAP(t, func(o *IMAPOptions) { o.Timeout = 5 * time.Second }, good, wrong, folder, closed).Check(context.Background())
	if !errors.Is(err, connectors.ErrUnauthorized) {
		t.Errorf("a wrong password is not ErrUnauthorized: %v", err)
	}
	msg := err.Error()
	for _, want := range []string{
		"account boris: " + srv.Addr + " refused the password login of " + boris + ": [AUTHENTICATIONFAILED]",
		`account olga: no folder "Клиенты/Acme" on ` + srv.Addr + " (folders: INBOX, Sent)",
		"account nobody: connecting to 127.0.0.1:" + strconv.Itoa(closed.Port) + ": ",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("the error lacks %q:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "wrong-password-123") || strings.Contains(msg, srv.Password) || strings.Contains(msg, "account "+anna) {
		t.Errorf("the error shows a password, or the right account:\n%s", msg)
	}
	if n := len(strings.Split(msg, "\n")); n != 3 {
		t.Errorf("%d lines for three failing accounts:\n%s", n, msg)
	}
}

// closedPort is a loopback port nobody listens on.
func closedPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return port
}
