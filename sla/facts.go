package sla

import "time"

// Normalized task statuses (the config maps source statuses onto these).
const (
	StatusBacklog       = "backlog"
	StatusTodo          = "todo"
	StatusInProgress    = "in_progress"
	StatusReview        = "review"
	StatusWaitingClient = "waiting_client"
	StatusDone          = "done"
	StatusArchived      = "archived"
)

// Move is one change of a task's normalized status.
type Move struct {
	At   time.Time
	From string // "" for the task's creation
	To   string
}

// Task is what the task policies need to know of a task.
type Task struct {
	Key      string // "source/external id"
	ClientID string
	Subject  Subject
	// Status is the task's normalized status now (at the evaluation
	// instant, the last Move at or before it wins).
	Status         string
	CreatedAt      time.Time
	DescriptionLen int      // in characters
	Checklists     []string // names
	Assignees      int      // the people it is assigned to, mapped or not
	DueAt          *time.Time
	DueDone        bool
	// Moves is the status history, oldest first.
	Moves []Move
	// LoggedSeconds is the time logged on the task (live entries).
	LoggedSeconds int64
	// Contacts are when the agency's people wrote to the client about the
	// task (human messages on its conversation, any channel), oldest
	// first: while the task waits on the client, each is a reminder given.
	Contacts []time.Time
	// Changes are the recorded changes of the fields above (description,
	// checklists, assignees, due date), oldest first. The fields hold the
	// values as last read; a policy judging an earlier instant undoes the
	// changes after it.
	Changes []FieldChange
	// History says how far back Changes reach.
	History History
	// UpdatedAt is the task's last activity its source reports (zero when
	// unknown): current values are what the task carried since then.
	UpdatedAt time.Time
}

// TimeEntry is what the hour budget needs to know of a time entry.
type TimeEntry struct {
	ClientID string
	Date     string // YYYY-MM-DD
	Seconds  int64
	Billable bool
}
