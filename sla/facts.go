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

// PolicySet is the promises that apply to one client.
type PolicySet struct {
	Response      *ResponsePolicy
	StageLimits   map[string]Duration // normalized status -> longest stay
	WaitingClient *ReminderPolicy
	DueDate       *DuePolicy
	Brief         *BriefPolicy
	Hygiene       *HygienePolicy
	ClientContact *ContactPolicy
	HourBudget    *BudgetPolicy
	UntrackedWork bool
}

// ReminderPolicy reminds the client every RemindEvery while work waits on
// them.
type ReminderPolicy struct{ RemindEvery Duration }

// DuePolicy puts a task at risk WarnBefore its due time.
type DuePolicy struct{ WarnBefore Duration }

// BriefPolicy defines a brief: a description of at least MinDescription
// characters, or a checklist named Checklist.
type BriefPolicy struct {
	MinDescription int
	Checklist      string
}

// HygienePolicy lists what a task in progress must carry.
type HygienePolicy struct{ RequireAssignee, RequireDue bool }

// ContactPolicy bounds, in calendar days, the silence towards a client.
type ContactPolicy struct{ MaxDays int }

// BudgetPolicy watches a client's monthly hours.
type BudgetPolicy struct {
	BudgetRule
	Thresholds     []float64 // fractions of the budget, e.g. 0.8, 1.0
	WarnUnused     float64   // fraction still unused in the month's last week
	ProjectOverrun bool
}
