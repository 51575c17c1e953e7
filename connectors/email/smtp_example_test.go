package email_test

import (
	"context"
	"errors"
	"fmt"
	netmail "net/mail"

	"github.com/karkas/karkas/connectors"
	"github.com/karkas/karkas/connectors/email"
	"github.com/karkas/karkas/internal/secret"
)

// A notification to a PM, answering the client's thread, and what an
// outbox does with each kind of failure. (Compiled, not run: it needs a
// server.)
func ExampleSender_Send() {
	o := email.DefaultSMTPOptions()
	o.Host, o.Username, o.Password = "smtp.agency.example", "sla@agency.example", secret.Inline("app-password")
	o.From, o.FromName = "sla@agency.example", "Агентство SLA"
	sender, err := email.NewSender(*o, connectors.Env{})
	if err != nil {
		fmt.Println(err)
		return
	}
	res, err := sender.Send(context.Background(), email.Mail{
		DeliveryID: "sla:breach:42",
		To:         []netmail.Address{{Name: "Мария", Address: "pm@agency.example"}},
		Subject:    "SLA нарушен: «Ромашка» ждёт ответа",
		Text:       "Клиент ждёт ответа 5 часов: https://trello.com/c/AbCd1234",
		HTML:       `<p>Клиент ждёт ответа 5 часов: <a href="https://trello.com/c/AbCd1234">карточка</a></p>`,
		InReplyTo:  "CAB+client.1@mail.client.example",
	})
	var se *email.SendError
	switch {
	case err == nil:
		fmt.Println("sent", res.MessageID) // karkas.sla=breach=42@agency.example
	case errors.As(err, &se) && se.Permanent:
		fmt.Println("report, do not retry:", se)
	case errors.As(err, &se) && se.MayHaveReached:
		fmt.Println("look for", res.MessageID, "in Sent before sending again:", se)
	default:
		fmt.Println("retry later:", err)
	}
}
