// Package toggl is the Toggl Track time-tracker source: it lists a whole
// workspace's time entries by date for the shared windowed pull of
// connectors/timetrack, through the Reports API v3 detailed search.
//
// It imports connectors, connectors/timetrack, record and vclock, and no
// other karkas package.
//
// # API facts it relies on
//
// (engineering.toggl.com docs for the Reports API v3 and the API v9;
// support.toggl.com on the API limits; third-party clients for the paging
// headers and row fields, which agree with one another.)
//
//   - Auth: HTTP Basic with the API token as user and "api_token" as
//     password. The workspace id (account option) is required.
//   - POST /reports/api/v3/workspace/{wid}/search/time_entries with a JSON
//     body {start_date, end_date (YYYY-MM-DD, inclusive), page_size,
//     order_by, order_dir, enrich_response, grouped}. A page that has more
//     after it answers X-Next-ID and X-Next-Row-Number headers; the next
//     request sends them back as first_id and first_row_number. page_size
//     is 50 [unverified: the largest value Toggl accepts].
//   - Rows carry user_id, project_id, task_id, description, tag_ids,
//     billable and time_entries[{id, seconds, start, stop, at}]; with
//     enrich_response the names too: username, user_email, project_name,
//     client_name, task_name, tag_names [unverified: user_email; the
//     others are read by several third-party clients]. Names come from the
//     report itself rather than from the workspace routes (users,
//     projects, clients, tags), which would cost four more requests of a
//     quota as small as 30 an hour.
//   - The Reports API lists the whole team (as far as the token's user
//     may see it) but not deleted entries: the window re-read of timetrack
//     soft-deletes them. It has no "changed since" search, so this source
//     does not implement timetrack.Changes (API v9's /me/time_entries?since
//     lists the token owner's own entries only).
//   - Limits: an hourly request quota per user and organization (Free
//     30, Starter 240, Premium 600); past it Toggl answers 402, not 429.
//     The client waits X-Toggl-Quota-Resets-In seconds [unverified header
//     name, read by third-party clients] or QuotaWait when it is missing,
//     so a sync slows down instead of failing. Toggl also asks for about a
//     request a second: the client paces to that, and waits out 429s.
//     401 and 403 stop the source as unauthorized.
//
// # Mapping to record.TimeEntry
//
// time entry id → ExternalID; user_id/username/user_email → PersonID/
// PersonName/PersonEmail; task_id/task_name → TaskID/TaskName;
// project_id/project_name → ProjectID/ProjectName; client_name →
// ClientName; start (shown in the member's zone [unverified]) → Start and
// its date → Date; seconds → Seconds; billable → Billable; description →
// Note; tag_names → Tags. Running timers (negative seconds or no stop)
// are left out until stopped. Toggl's report has no locked flag (locking
// is a workspace lock date), so Locked stays false.
package toggl
