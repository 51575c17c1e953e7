// Package everhourfake is a fake of Everhour's REST API for tests and
// benchmarks: an httptest server holding an in-memory world of users,
// clients, projects (native "ev:" ones and Trello-linked "tr:" ones),
// tasks and time records, served with Everhour's routes, field names and
// JSON shapes (a time record's user is an int id, its task a full Task
// object), limit/page paging in the server's fixed order, the limit of
// about 20 requests per 10 s per API key answered with 429, Retry-After
// and a JSON error body, and fault switches.
//
// A test builds a World (NewWorld, then its mutators, or World.Generate
// for a synthetic agency), serves it (New or NewServer), points the
// client under test at BaseURL with APIKey in X-Api-Key, changes the
// world between syncs (AddEntry, EditEntry, DeleteEntry, LockEntry,
// SetLabels), and arms faults (5xx, hangs, truncated bodies, 401, 404,
// 429 storms) or a page hook that changes the world between two pages. The request log and
// counts let a test or benchmark compare the requests made with the
// minimum.
//
// Time comes from a Clock. With a vclock.Virtual shared with the client,
// a benchmark runs a long backfill under the real limit in milliseconds:
// every request is counted against the window of the virtual moment it
// arrives at, and virtual time moves only when the client waits.
//
// Sources: Everhour's API description (developers.everhour.com and the
// apiary-derived OpenAPI file that api-evangelist/everhour keeps).
// Behaviour the fake had to choose without a source says so where it is
// implemented, marked [unverified].
//
// It imports no karkas package but internal/vclock and internal/fakeapi,
// and nothing but tests, benchmarks and cmd/trackerfake should import
// it.
package everhourfake
