package sinks_test

import (
	"strings"
	"testing"
	"time"

	"github.com/karkas/karkas/push/sinks"
)

// A delivery is written in its target's language: a reminder to a Russian
// client, a breach comment on a Bulgarian client's card, a German digest,
// and English when none is set.
func TestDeliveryLanguages(t *testing.T) {
	t.Parallel()
	due := time.Date(2026, 10, 9, 15, 0, 0, 0, time.UTC)
	item := sinks.Item{ClockID: "c1", Policy: "due_date", To: "breached", Client: "betta", ClientName: "Бетта Строй",
		Subject:   sinks.Subject{Kind: "task", Title: "Баннер для Директа", URL: "https://trello.com/c/abc"},
		StartedAt: due.Add(-50 * time.Hour), DueAt: &due, BusinessSeconds: 3*3600 + 5*60, Zone: "Europe/Moscow"}
	notice := sinks.Message{Kind: sinks.KindNotice, Agency: "Northwind", Items: []sinks.Item{item}}
	reminder := notice
	reminder.Items = []sinks.Item{item}
	reminder.Items[0].Policy = "waiting_client"

	for _, tc := range []struct {
		name   string
		msg    sinks.Message
		target sinks.Target
		render func(sinks.Message, sinks.Target) string
		want   []string
		not    []string
	}{
		{"reminder in Russian, mail text", reminder, sinks.Target{ClientFacing: true, Language: "ru"}, sinks.Message.Text,
			[]string{"Здравствуйте!", "Чтобы продолжить работу, нам нужен ваш ответ.", "Баннер для Директа"}, []string{"Hello", "SLA"}},
		{"reminder in Russian, subject", reminder, sinks.Target{ClientFacing: true, Language: "ru"}, sinks.Message.Title,
			[]string{"Ждём вашего ответа: Баннер для Директа"}, nil},
		{"reminder in Russian, mail HTML", reminder, sinks.Target{ClientFacing: true, Language: "ru"}, sinks.Message.HTML,
			[]string{`<html lang="ru">`, "<p>Здравствуйте!</p>"}, []string{"Hello"}},
		{"breach on a Bulgarian card", notice, sinks.Target{Card: "abc", Language: "bg"},
			func(m sinks.Message, t sinks.Target) string { return m.Markdown(t, nil) },
			[]string{"**SLA е нарушено** · краен срок", "Клиент: Бетта Строй", "Срок: 2026-10-09 18:00 MSK", "Работно време: 3 ч 05 мин"},
			[]string{"Client:", "breached"}},
		{"German digest subject", sinks.Message{Kind: sinks.KindDigest, Agency: "Northwind", Items: []sinks.Item{item, item}},
			sinks.Target{Language: "de"}, sinks.Message.Title, []string{"SLA-Übersicht: 2 Meldungen"}, nil},
		{"English by default", notice, sinks.Target{}, sinks.Message.Text,
			[]string{"SLA breached: due date: Баннер для Директа", "Business time: 3h 05m", "karkas for Northwind"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.render(tc.msg, tc.target)
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("missing %q in:\n%s", w, got)
				}
			}
			for _, n := range tc.not {
				if strings.Contains(got, n) {
					t.Errorf("%q in:\n%s", n, got)
				}
			}
		})
	}
	if got := sinks.SlackBody(sinks.Delivery{Message: notice, Target: sinks.Target{Language: "ru"}}); !strings.Contains(got["text"].(string), "SLA нарушен") {
		t.Errorf("slack text %v", got["text"])
	}
}
