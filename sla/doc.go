// Package sla checks an agency's promises to its clients in business time:
// "every client message answered within 6 business hours", "no task in
// Review longer than 2 business days".
//
// The package is pure: it does no I/O and imports only the standard library
// and github.com/rickar/cal/v2 (public holidays). It must not import other
// karkas packages, not even mapping or store; callers hand it plain values
// and a pinned "now", which keeps every answer reproducible in tests.
//
// # Business time
//
// A [Calendar] says when the agency works: weekly hours as intervals of the
// local day, a country's public holidays, extra holidays and extra working
// days. All of its arithmetic happens in the calendar's own time zone, never
// in the server's, so the same instants give the same answers everywhere.
//
// Business time is real elapsed time inside working intervals. An interval
// is written in wall-clock minutes, and on the days a zone changes its clock
// a wall-clock boundary can be missing or doubled, so each boundary is
// turned into an instant by one rule:
//
//   - a boundary that does not exist (it falls in the spring-forward gap)
//     moves to the first instant after the gap, the instant of the change;
//   - a boundary that occurs twice (the autumn fall-back overlap) takes its
//     first occurrence;
//   - the business time of an interval is the real time between those two
//     instants.
//
// So a 00:00-24:00 day is 23 hours long on the spring change in
// Europe/Berlin and 25 hours on the autumn one, a night shift 01:00-04:00 is
// 2 and 4 hours on those days, and a day whose midnight does not exist (as in
// America/Santiago, where clocks jump from 00:00 to 01:00) starts at 01:00.
// The rule is computed from the zone's transitions rather than left to
// time.Date, whose choice for repeated times is unspecified.
//
// # Calendar edits
//
// Admins edit calendars: the hours change, a holiday is added, the office
// moves to another zone. An edit takes effect from the instant karkas first
// saw it and never rewrites the past: business time before that instant is
// counted with the calendar then in force, business time after it with the
// new one. A clock that runs across the edit counts its earlier part in the
// old hours and its later part in the new hours; a clock that closed before
// the edit keeps its answer.
//
// For example, Berlin 09:00-18:00 becomes 10:00-16:00 on Monday 2026-11-16
// at 12:00. A client message of Friday 16:00 read on Tuesday 11:00 has
// waited 10 business hours: Friday 16:00-18:00 (2h), Monday 09:00-12:00 in
// the old hours (3h), Monday 12:00-16:00 in the new hours (4h) and Tuesday
// 10:00-11:00 (1h). The old calendar alone would say 13h, the new one
// alone 7h.
//
// [NewCalendarHistory] builds such a calendar from its versions, each with
// the instant it took effect; a calendar of one version is a plain
// [NewCalendar] calendar. The same rule holds for added holidays (a date
// made a holiday after it passed stays a working day in the past) and for
// a changed zone (days before the edit are the old zone's dates).
// Remembering the versions, and when karkas first saw each, is the
// caller's job: karkas keeps them in its store.
package sla
