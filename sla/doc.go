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
package sla
