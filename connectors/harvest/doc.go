// Package harvest is the Harvest (API v2) time-tracker source: it lists
// the whole account's time entries by date for the shared windowed pull
// of connectors/timetrack, and the entries updated since an instant for
// the cheaper pulls between window re-reads.
//
// It imports connectors, connectors/timetrack, record and vclock, and no
// other karkas package.
//
// # API facts it relies on
//
// (help.getharvest.com/api-v2: overview, authentication, pagination and
// the time entries reference.)
//
//   - Auth: "Authorization: Bearer <personal access token>" and
//     "Harvest-Account-Id: <account>" on every request, plus a User-Agent
//     naming the application: Harvest answers 400 without one. The account
//     option is required.
//   - GET /v2/time_entries?from=YYYY-MM-DD&to=YYYY-MM-DD&per_page=2000
//     lists every user's entries the token may see, spent_date inclusive.
//     per_page defaults to and tops out at 2000 (more is a 422). The answer
//     holds time_entries, page, total_pages, total_entries and
//     links{first,next,previous,last}; links.next is cursor based and is
//     followed as given (the client refuses a link to another host).
//   - updated_since=<RFC 3339> lists entries created or edited since then.
//     Harvest cannot list deleted entries: the window re-read of
//     timetrack soft-deletes them.
//   - Limit: 100 requests per 15 seconds per token (the client paces
//     itself to it); over it, 429 with Retry-After in seconds, waited out.
//     401 and 403 stop the source as unauthorized.
//
// # Mapping to record.TimeEntry
//
// id → ExternalID; user{id,name} → PersonID/PersonName; task{id,name} →
// TaskID/TaskName; project{id,name} → ProjectID/ProjectName; client.name →
// ClientName; spent_date → Date; hours (decimal) → Seconds, rounded to
// the nearest whole second; billable → Billable; notes → Note; is_locked
// (approved or invoiced) → Locked. Entries with is_running are left out
// until stopped. Harvest has no tags.
//
// An entry logged from Trello carries external_reference{id, group_id,
// permalink, service}. When the service names Trello or the permalink is
// a trello.com card link, TaskID becomes "tr:<short link>" (taken from the
// permalink's /c/<short link>/ path) or "tr:<id>", so the mapping links
// the hours to the card. [unverified] The exact service value the Trello
// power-up writes ("trello" is assumed, compared ignoring case) and
// whether id is the card's 24-hex id were not confirmed against a real
// account.
package harvest
