package sinks

import (
	"context"
	"errors"
	netmail "net/mail"

	"github.com/karkas/karkas/connectors"
	"github.com/karkas/karkas/connectors/email"
	"github.com/karkas/karkas/mapping"
)

// Email sends one mail per delivery through an SMTP server: internal
// notices to the agency's people, reminders to a client's contacts. The
// Message-ID derives from the delivery id (email.DeliveryMessageID) and
// the Date is the time the delivery was due, so that a resend after a
// crash is the same message, which a mailbox keeps once.
type Email struct {
	s *email.Sender
}

// NewEmail builds an email sink from SMTP options.
func NewEmail(o email.SMTPOptions, env connectors.Env, opts ...email.SenderOption) (*Email, error) {
	s, err := email.NewSender(o, env, opts...)
	if err != nil {
		return nil, err
	}
	return &Email{s: s}, nil
}

// EmailKind is the email sink kind: mail to the people a rule names,
// reminders to a client's contacts, reports with a cabinet link.
func EmailKind() Kind {
	k := newKind("email", "SMTP", email.DefaultSMTPOptions, func(o email.SMTPOptions, env connectors.Env) (*Email, error) {
		return NewEmail(o, env)
	})
	k.Digests, k.ClientReminders, k.Addressed, k.Reports = true, true, true, true
	k.Bind = func(_ Binding, t *Target) string {
		for _, p := range t.People {
			if p.Email != "" {
				return ""
			}
		}
		return "nobody with an email address"
	}
	k.BindReport = func(_ mapping.Client, rs mapping.ReportSchedule, r *Report) { r.CabinetLink = rs.CabinetLink }
	k.Handle = func(p Person) string { return p.Email }
	return k
}

// Summarizes is true: a digest or a summary is one mail.
func (s *Email) Summarizes() bool { return true }

// Deliver sends the mail. A 5xx answer or an invalid address is
// permanent; anything else is retried later with the same Message-ID.
func (s *Email) Deliver(ctx context.Context, d Delivery) (Result, error) {
	if d.Message.Kind == KindReport {
		return s.deliverReport(ctx, d)
	}
	var to []netmail.Address
	for _, p := range d.Target.People {
		if p.Email != "" {
			to = append(to, netmail.Address{Name: Plain(p.Name), Address: p.Email})
		}
	}
	if len(to) == 0 {
		return Result{Skipped: "nobody to write to: no email address among the people addressed"}, nil
	}
	client := ""
	if len(d.Message.Items) > 0 {
		client = d.Message.Items[0].Client
	}
	headers := map[string]string{"X-Karkas-Delivery": d.ID}
	if client != "" && d.Message.Kind == KindNotice {
		headers["X-Karkas-Client"] = client
	}
	return s.send(ctx, email.Mail{DeliveryID: d.ID, To: to, Subject: d.Message.Title(d.Target),
		Text: d.Message.Text(d.Target), HTML: d.Message.HTML(d.Target), Date: d.Due, Headers: headers})
}

// send sends a mail, sorting its failure.
func (s *Email) send(ctx context.Context, m email.Mail) (Result, error) {
	res, err := s.s.Send(ctx, m)
	if err != nil {
		var se *email.SendError
		if errors.As(err, &se) && se.Permanent {
			return Result{}, Permanent(err)
		}
		return Result{}, Temporary(err, 0)
	}
	return Result{Ref: res.MessageID}, nil
}
