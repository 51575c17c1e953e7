// Package everhour is the Everhour time-tracker source (kind "everhour"):
// it lists the whole team's time records by date through Everhour's REST
// API and hands them to the shared time-tracker pull (connectors/timetrack),
// which backfills by month and re-reads a trailing window so that edits and
// deletions upstream reach the store.
//
// # API facts relied on
//
//   - Auth: the X-Api-Key header carries the key from the user's profile
//     page; X-Accept-Version: 1.2 pins the version this package was written
//     against. 401 (and 403) stop the source with connectors.ErrUnauthorized.
//   - GET /team/time?from=&to=&limit=&page= lists the team's records dated
//     from..to, both inclusive, in an order the server fixes (there is no
//     sort parameter). page counts from 1; there is no total, so the
//     listing ends at a page shorter than limit. The API description gives
//     time endpoints a limit of up to 50,000, which this package asks for:
//     a month of a large agency is one request. [unverified against a real
//     account: the exact cap and the answer above it.]
//   - A record: id (int), time (int seconds), user (an int user id, not an
//     object), date ("YYYY-MM-DD"), task (a full Task object: id
//     "<platform>:<id>", name, projects [ids], labels, unbillable),
//     isLocked, isInvoiced, comment. A task's labels are an array of
//     strings (the API description's Task schema; a webhook sample shows
//     "labels": []) [unverified: that they hold the names the app and the
//     export's Tags column show, not ids].
//   - GET /team/users gives user names (and emails [unverified: one API
//     description lists email, another does not]); GET /projects gives
//     project names and each project's client id; GET /clients gives client
//     names (and each client's project ids, used when a project does not name
//     its client). Whether /projects has a default limit is [unverified]: it
//     is asked without one.
//   - Rate limit: about 20 requests per 10 s per key; above it 429 with
//     Retry-After in seconds and a JSON {code, message} body. The client
//     paces itself to 20 per 10 s and waits out a 429.
//
// # Requests per pull
//
// Each call of Entries (one per backfill month, one for the window) reads
// its pages; the three name lists are read once, lazily (a range with no
// records needs none), and reused for ten minutes, which covers a whole
// pull of a large agency (12 months of backfill are 12 pages plus the 3
// lists, under one rate-limit window). A record naming a user or project
// the lists do not know makes them be read again, at most once a minute.
//
// # Mapping to record.TimeEntry
//
// id → ExternalID (decimal); user → PersonID, with PersonName and
// PersonEmail from /team/users; task.id → TaskID as is, so that a
// Trello-linked task "tr:<card id or short link>" links to the synced card
// (mapping strips the "tr:"); task.name → TaskName; task.labels → Tags
// (trimmed, empty ones and repeats dropped), so that a time_categories
// rule by tag classifies a record as it does the same entry in the CSV
// export, whose Tags column shows the task's labels; the task's first
// project → ProjectID and ProjectName; that project's client → ClientName;
// date → Date; time → Seconds; comment → Note; !task.unbillable →
// Billable (left unset for a record without a task); isLocked or isInvoiced
// → Locked. A record without an id, with a bad date or a negative time
// becomes a Problem and is skipped.
//
// Running timers are not time records (they live under /team/timers) and
// are not read; their time arrives as a record once stopped [unverified:
// whether a running timer's time already shows in /team/time].
//
// # No change listing
//
// Everhour has no "modified since" listing of team time records (only
// webhooks, which a pull-based source cannot receive), so this package does
// not implement timetrack.Changes: every sync re-reads the window, and
// deletions are caught by the window's Complete scope.
//
// # Paging hazard
//
// Paging is by offset. A record added between two pages in front of the
// offset repeats one record on the next page (dropped here as a duplicate);
// a record removed there shifts one record past the client, which the
// window's scope would then soft-delete until the next sync reads it again.
// With 50,000 records a page, a listing needs a second page only past
// 50,000 records in one month, so the hazard is confined to the largest
// accounts.
//
// This package imports connectors, connectors/timetrack, record and
// internal/vclock, and nothing else of karkas.
package everhour
