package timecsv

// fields are the names a columns override may use.
var fields = []string{
	"id", "date", "start", "person", "first_name", "last_name", "email",
	"client", "project", "project_id", "task", "task_id", "tags", "note",
	"duration", "billable", "locked",
}

// preset is the column layout of one tracker's export.
type preset struct {
	// columns maps a field to the headers it may have; the first header
	// present in a file wins. Headers match case-insensitively.
	columns map[string][]string
	// dates are the date layouts tried in order when date_format is empty.
	// Month-first before day-first only where the tracker writes US dates.
	dates []string
}

// Layouts use single-digit verbs (1, 2) so that both "2024-01-05" and
// Excel's re-saved "2024-1-5" parse.
var (
	isoFirst = []string{"2006-1-2", "2.1.2006", "1/2/2006"}
	usFirst  = []string{"1/2/2006", "2006-1-2", "2.1.2006"}
)

// presets are the column names of each tracker's detailed export, written
// from the trackers' documentation and sample exports as remembered, not
// from a captured file: check them against a real export of each tracker
// (the headers change between product versions) and fix the preset or use
// `columns:` where they differ. Alternatives after the first header cover
// renames seen across versions.
var presets = map[string]preset{
	// Everhour report export, as the demo generator writes it:
	// Date,Member,Email,Client,Project,Task,Task ID,Tags,Comment,Time,Billable
	// Time is H:MM; Task ID is "tr:<card id or short link>", "ev:123" or empty.
	"everhour": {
		columns: map[string][]string{
			"id":       {"Time ID", "Entry ID"},
			"date":     {"Date"},
			"person":   {"Member", "User"},
			"email":    {"Email"},
			"client":   {"Client"},
			"project":  {"Project"},
			"task":     {"Task"},
			"task_id":  {"Task ID"},
			"tags":     {"Tags"},
			"note":     {"Comment", "Note", "Notes"},
			"duration": {"Time", "Hours"},
			"billable": {"Billable"},
			"locked":   {"Locked"},
		},
		dates: isoFirst,
	},
	// Toggl Track detailed report CSV:
	// User,Email,Client,Project,Task,Description,Billable,Start date,Start time,
	// End date,End time,Duration,Tags,Amount (USD)
	// Duration is HH:MM:SS; newer exports say Member and Stop date/time.
	"toggl": {
		columns: map[string][]string{
			"date":     {"Start date", "Start Date"},
			"start":    {"Start time", "Start Time"},
			"person":   {"User", "Member"},
			"email":    {"Email"},
			"client":   {"Client"},
			"project":  {"Project"},
			"task":     {"Task"},
			"tags":     {"Tags"},
			"note":     {"Description"},
			"duration": {"Duration"},
			"billable": {"Billable"},
		},
		dates: isoFirst,
	},
	// Clockify detailed report CSV:
	// Project,Client,Description,Task,User,Group,Email,Tags,Billable,
	// Start Date,Start Time,End Date,End Time,Duration (h),Duration (decimal),
	// Billable Rate (USD),Billable Amount (USD)
	// Dates follow the workspace's format, MM/DD/YYYY by default (set
	// date_format for day-first workspaces); times may carry AM/PM.
	"clockify": {
		columns: map[string][]string{
			"date":     {"Start Date"},
			"start":    {"Start Time"},
			"person":   {"User"},
			"email":    {"Email"},
			"client":   {"Client"},
			"project":  {"Project"},
			"task":     {"Task"},
			"tags":     {"Tags"},
			"note":     {"Description"},
			"duration": {"Duration (h)", "Duration (decimal)"},
			"billable": {"Billable"},
			"locked":   {"Locked"},
		},
		dates: usFirst,
	},
	// Harvest detailed time report CSV:
	// Date,Client,Project,Project Code,Task,Notes,Hours,Hours Rounded,
	// Billable?,Invoiced?,Approved?,First Name,Last Name,Roles,Employee?,
	// Billable Rate,Billable Amount,Cost Rate,Cost Amount,Currency,
	// External Reference URL
	// Hours are decimal; the person is First Name + Last Name; an invoiced
	// entry can no longer be edited, so it counts as locked. The external
	// reference is where Harvest's Trello integration puts the card URL.
	"harvest": {
		columns: map[string][]string{
			"date":       {"Date", "Spent Date"},
			"first_name": {"First Name", "First name"},
			"last_name":  {"Last Name", "Last name"},
			"person":     {"Person", "User"},
			"email":      {"Email"},
			"client":     {"Client"},
			"project":    {"Project"},
			"task":       {"Task"},
			"task_id":    {"External Reference URL"},
			"note":       {"Notes"},
			"duration":   {"Hours"},
			"billable":   {"Billable?"},
			"locked":     {"Invoiced?"},
		},
		dates: isoFirst,
	},
}

func presetNames() []string { return sortedKeys(presets) }
