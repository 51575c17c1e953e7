// Package clockify is the Clockify time-tracker source: it lists every
// member's time entries in a workspace by date for the shared windowed
// pull of connectors/timetrack.
//
// It imports connectors, connectors/timetrack, record and vclock, and no
// other karkas package.
//
// # API facts it relies on
//
// (docs.clockify.me for API v1; the R clockify package and clients
// generated from the OpenAPI for paging; [unverified] where said.)
//
//   - Auth: "X-Api-Key: <key>". The workspace id (account option) is
//     required.
//   - GET /v1/workspaces/{ws}/users?page=&page-size= lists the members
//     with settings.timeZone, the zone their days are counted in.
//   - GET /v1/workspaces/{ws}/user/{userId}/time-entries?start=&end=
//     &hydrated=true&page=&page-size= lists one member's entries started
//     between start and end (yyyy-MM-ddThh:mm:ssZ); hydrated adds
//     project{id,name,clientName}, task{id,name} and tags[{name}].
//     Paging is page (from 1) and page-size (default 50; 1000 is asked,
//     under the 5000 clients generated from the OpenAPI allow
//     [unverified]); there is no total, so a short page is the last.
//   - Why per member and not the team-wide detailed report: the report
//     lives on another host (reports.api.clockify.me) that base_url
//     cannot name, and with a page size of 1000 the per-member route costs
//     one request for the members plus one per member and month for all
//     but the busiest, which is as few as the report would take for a
//     small agency.
//   - Paging is by offset: an entry deleted while a member's listing is
//     between pages shifts the later pages by one, and the entry that
//     slid onto the page already read is missed for that pull (the window
//     scope then soft-deletes it until the next pull lists it again). A
//     member's entries usually fit in one page of 1000 a month, where
//     this cannot happen.
//   - Clockify cannot list deleted entries: the window re-read of
//     timetrack soft-deletes them. Nor does it list changes since a time,
//     so this source does not implement timetrack.Changes.
//   - Limit: about 50 requests a second per key [unverified]; the client
//     keeps to 10 a second and waits out a 429 (Retry-After when sent, else
//     a second). 401 and 403 stop the source as unauthorized.
//
// # Mapping to record.TimeEntry
//
// id → ExternalID; userId and the member's name and email → PersonID/
// PersonName/PersonEmail; task → TaskID/TaskName; project → ProjectID/
// ProjectName, its clientName → ClientName; timeInterval.start → Start,
// and its date in the member's zone → Date; timeInterval.duration (an
// ISO-8601 duration such as "PT1H30M", "PT45S" or "P1DT2H", parsed by
// hand) → Seconds, rounded to whole seconds; billable → Billable;
// description → Note; tag names → Tags; isLocked [unverified name] →
// Locked. Entries in progress (no end) are left out until stopped.
package clockify
