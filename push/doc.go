// Package push works the outbox: it routes the SLA transitions the
// evaluation queued (outbox rows of sink "route") into deliveries through
// the sinks the config names, folds them into digests and rate-capped
// summaries, and delivers them, each once.
//
// # Routing
//
// The config's routing block (mapping.Routing) names sinks and rules. Every
// rule a transition matches (policy, state entered, client) sends it to the
// rule's sink, addressed to the rule's people; rules sending to the same
// sink in the same way merge into one delivery. A transition whose clock is
// no longer in the state it entered (at risk, then breached before anyone
// was told) is not news and is dropped, as is one whose clock was waived.
// A reminder to a client's people waits for the client's business hours; a
// rule with after: waits that much business time and sends only if the
// clock is still in that state (escalation); a rule with digest: holds its
// deliveries until the next digest time, when they go out as one.
//
// # Planning and rate caps
//
// Planning (Planner.Run) reads and writes the outbox in one transaction
// that replicas take one at a time (store.PlanOutbox). A sink with a rate
// cap never sends more than its max in its period: a backlog larger than
// what is left (the first sync finds months of breaches) goes out as one
// summary per set of recipients, or, through a trello sink, as labels
// without comments; when nothing is left, the backlog waits for the period
// to free a slot. Deliveries planned for a sink the config no longer
// names (removed or renamed in routing.sinks) are skipped at the next
// planning, with that reason, and never sent.
//
// # Delivering once
//
// A Worker claims one due delivery at a time under a lease
// (store.ClaimDelivery; FOR UPDATE SKIP LOCKED on PostgreSQL), which
// records the attempt before the sink is called, calls the sink, and
// records the answer. A worker killed between the sink's answer and the
// record leaves the row leased. The worker that holds the lock every
// deliverer takes (Worker.Sole) knows such a lease is a dead run's and
// takes the row over at once; another waits for the lease to end. Either
// way the sink sees the same delivery id, which it recognises (see the
// sinks package): no second comment, issue or file; the same mail, the
// same webhook-id, sent again. Temporary failures are retried with
// a doubling backoff; permanent ones, and deliveries out of attempts, are
// kept as failed for `karkas status` and `karkas deliveries retry`.
//
// # Scheduled reports
//
// routing.reports names reports delivered on a schedule (reports.go):
// planning queues one delivery per client and sink, keyed
// report:hours:<client>:<month>:<sink>, once the first business hour of
// the month's first working day has come in the client's calendar; the
// worker makes the report from the store just before it hands it to the
// sink (a mail with the HTML report and its Markdown as text, a comment on
// the client's pinned report card, a file).
//
// Push sits beside sync/evaluate: it imports mapping, store, sla, report
// (the scheduled reports), sync/evaluate (the Notice queued and, for dry
// runs, the evaluation),
// push/sinks, and connectors and connectors/email for the sinks' options;
// only cmd imports it.
package push
