// Package planfix is the PlanFix source (kind planfix, REST API v2), its
// export (kind planfix_export: the API's answers saved in one file) and
// its push (a marked comment on a task).
//
// In PlanFix a task is also the conversation: its comment feed holds the
// client's messages (a contact's, often relayed from email), the
// manager's answers and the specialists' notes, and records each status
// change as a comment. karkas reads projects as containers
// (clients[].planfix_projects maps them), tasks with status, assignees,
// creator (assigner), deadline (endDateTime) and last change, every
// comment as a message on channel planfix_comment, the comments that
// carry a changeStatus as status moves, and employees ("user:N") and
// contacts ("contact:N") as people, whom people[].planfix names.
//
// # What the API is, and where that was read
//
// From the OpenAPI spec (help.planfix.com/restapidocs/swagger.json, 1.3.3,
// a copy in github.com/popstas/planfix-api-client) and the help pages
// (planfix.com/help/REST_API_Introduction, REST_API_Authorization, the
// Russian "Сложные фильтры задач" and "Коды ошибок"):
//
//   - https://{account}.planfix.com/rest/, Authorization: Bearer <token>;
//     a token acts as one employee and sees what they see.
//   - Lists are POSTs with a JSON body {offset, pageSize (at most 100),
//     fields, filters}; the answer {"result":"success","tasks":[...]} has
//     no total, so a short page is the last.
//   - GET /ping is the cheapest authenticated request; an unknown token
//     is 401 {"result":"fail","code":1,"error":"Access denied, unknown
//     token"}.
//   - Task filters are {type, operator, value}: 5 the project, 79 the date
//     of the last change or comment ({"dateType":"otherDate",
//     "dateValue":"dd-MM-yyyy"}, read in the token's employee's zone).
//   - POST /task/{id}/comments/list with typeList All lists deleted
//     comments and status changes too; POST /task/{id}/comments/ adds
//     one (201 {"result":"success","id":N}).
//   - Dates are TimePoints {date, time, datetime}; live answers add
//     dateTimeUtcSeconds (github.com/whatcrm/go-planfix reads it).
//   - One request a second; 20 000 to 100 000 a day by plan, error code
//     22 when spent, X-RateLimit-Remaining in answers.
//
// Unverified, and so handled both ways or cautiously: the status of a
// spent daily quota (any status with code 22 is a rate limit), PlanFix's
// answer past one request a second (429 is waited out), the order of
// lists (the pull does not rely on it), whether datetime is UTC
// (dateTimeUtcSeconds is preferred), whether every status change is
// recorded as a comment (the source claims no field history), and
// whether a status's isActive false means a final status (such tasks are
// closed).
//
// # The pull
//
// Every pull reads the statuses, employees, contacts and projects, then
// each selected project's tasks: all of them on the first pull and every
// reconcile_every (default 24 h), in one batch per project that completes
// its tasks (a task deleted in PlanFix is deleted here); between, only
// the tasks changed or commented since two days before the last pull
// (filter 79 compares days in a zone karkas does not know). Each task's
// comments are read whole and complete its messages and status moves, so
// a deleted comment goes. The cursor moves only after every project was
// read; a pull killed before starts again from the last one.
package planfix
