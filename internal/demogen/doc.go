// Package demogen writes the demo world of karkas: the files a small agency
// would export from Trello, its time tracker and its mailboxes, so that
// `make demo` shows the whole product offline and the benchmarks get the
// same data at 10x and 100x.
//
// # The world
//
// Northwind Digital (northwind.agency, Europe/Berlin, Mon–Fri 09:00–18:00)
// works for three clients, one Trello board each:
//
//	client       board id                  short link  board name                 zone              budget
//	Acme Foods   64b0000000000000000a0001  AcmeWb01    Acme Foods — Website       Europe/Berlin     60 h/month
//	Betta Stroy  64b0000000000000000a0002  BettaMk2    Бетта Строй — Маркетинг    Europe/Moscow     40 h/month
//	Cobalt Labs  64b0000000000000000a0003  CobaltA3    Cobalt Labs — App          America/New_York  80 h/month
//
// Lists, in order (the last one closed):
//
//	Acme:   Backlog, To Do, Doing, Review, Waiting for client, Done, Old ideas
//	Betta:  Бэклог, К работе, В работе, На проверке, Ждём клиента, Готово, Архив идей
//	Cobalt: Backlog, Sprint, In Progress, Code Review, Blocked on Client, Shipped, Old ideas
//
// People (Trello member id, username, email):
//
//	Anna Petrova     PM        5f1a00000000000000000001 annapetrova  anna@northwind.agency
//	Boris Ivanov     lead      5f1a00000000000000000002 borisivanov  boris@northwind.agency
//	Chloé Martin     designer  5f1a00000000000000000003 chloemartin  chloe@northwind.agency
//	Dmitri Sokolov   developer 5f1a00000000000000000004 dsokolov     dmitri@northwind.agency
//	Елена Кузнецова  content   5f1a00000000000000000005 elenak       elena@northwind.agency
//	John Carter      Acme      5f1a00000000000000000006 johncarter   john.carter@acmefoods.com
//	Ольга Смирнова   Betta     5f1a00000000000000000007 olgasmirnova olga@bettastroy.ru
//	Игорь Волков     Betta     (no Trello account)                   igor.volkov@bettastroy.ru
//	Maya Chen        Cobalt    5f1a00000000000000000008 mayachen     maya@cobaltlabs.io
//
// Anna is PM of Acme (with Chloé and Dmitri) and Betta (with Elena and
// Chloé); Boris leads every board and is PM of Cobalt (with Dmitri). Each
// client contact with a Trello account is a member of their board. Labels
// on every board: "urgent" red, "out of scope" orange, "bug" purple,
// "design" blue and an unnamed green one; Betta also has "контент" yellow.
//
// # The history
//
// From Monday 2026-08-24 to Friday 2026-11-20 18:00 Berlin. At scale 1 each
// board gets 50 cards created at a steady pace (15% by the client, 10%
// without a description, 60% with a due date, about a fifth sent back from
// review to work, some stuck for days in review or waiting on the client,
// a few archived) plus two cards in the closed list that predate the
// history and so have no actions. Comments come from both sides, Russian
// on Betta's board; client comments are mostly answered within a few
// business hours, some late, some never; a few comments are edited. Work
// happens in the actor's business hours, with a small share in evenings
// and on a weekend.
//
// The time report holds about 1,500 entries: Acme near 60 h a month, Betta
// over its 40 h in October and on pace to overrun in November, Cobalt
// under its 80 h, plus internal non-billable time on "Northwind — Internal".
// Hours are prorated for the partial first and last months.
//
// About 300 mails in threads between client contacts and agency people:
// client mail in mail/inbox.mbox, agency mail in mail/sent.mbox (and also
// in the inbox when a colleague is in Cc), mail before 2026-09-07 in
// mail/archive/*.eml. About 15% of Betta's mail is in windows-1251 or
// KOI8-R. There are HTML-only and multipart/alternative bodies, small
// attachments, links to Trello cards, a Gmail vacation reply
// (Auto-Submitted), an Exchange "Automatic reply:" with no other marker, a
// weekly newsletter (List-Unsubscribe, Precedence: bulk), one bounce from
// MAILER-DAEMON (Return-Path: <>) and, in the archive, one message with a
// broken header block that readers must report and skip.
//
// # Scale and determinism
//
// Options.Scale multiplies cards, comments, time entries and mail threads
// over the same boards and period; the special mails stay one of each, and
// budgets only make sense at scale 1. Trello's own export stops at 1,000
// actions; these files hold every action, which importers must accept.
// Everything is drawn from PCG streams of math/rand/v2 keyed by the seed
// and a name per file, with no map-order, clock or goroutine influence:
// the same seed gives byte-identical files. Plans are kept small (a card
// or a message is a few hundred bytes) and files are written as streams,
// so scale 100 (15,000 cards, 140,000 time entries, 27,000 mails) runs in
// seconds in well under 100 MB.
//
// This package is for the demo and benchmarks only: it imports no other
// karkas package, and nothing but commands and tests should import it.
package demogen
