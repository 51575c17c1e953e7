package planfix

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// The JSON of PlanFix's REST API v2, field for field as its OpenAPI spec
// (https://help.planfix.com/restapidocs/swagger.json, version 1.3.3, as
// kept in github.com/popstas/planfix-api-client) names them. What the
// spec does not settle is marked [unverified] where it is used.

// TimePoint is PlanFix's date object: {"date":"01-06-2022","time":"12:25",
// "datetime":"2022-06-01T12:25Z"}; live answers add dateTimeUtcSeconds
// ("2026-05-23T14:30:00+0000"), which spec 1.3.3 lacks (clients
// github.com/whatcrm/go-planfix and galogen-ringostat/planfix-mcp read it).
type TimePoint struct {
	Date               string `json:"date,omitempty"`
	Time               string `json:"time,omitempty"`
	DateTime           string `json:"datetime,omitempty"`
	DateTimeUTCSeconds string `json:"dateTimeUtcSeconds,omitempty"`
}

// Parse is the instant: dateTimeUtcSeconds first, then datetime (UTC, to
// the minute; [unverified] that it is UTC and not the employee's zone,
// which one client assumes too), then date and time read in zone.
func (p *TimePoint) Parse(zone *time.Location) (time.Time, bool) {
	if p == nil {
		return time.Time{}, false
	}
	if t, err := time.Parse("2006-01-02T15:04:05-0700", p.DateTimeUTCSeconds); err == nil {
		return t.UTC(), true
	}
	for _, layout := range []string{"2006-01-02T15:04Z", time.RFC3339, "2006-01-02T15:04:05Z"} {
		if t, err := time.Parse(layout, p.DateTime); err == nil {
			return t.UTC(), true
		}
	}
	if p.Date != "" {
		s, layout := p.Date, "02-01-2006"
		if p.Time != "" {
			s, layout = s+" "+p.Time, layout+" 15:04"
		}
		if t, err := time.ParseInLocation(layout, s, zone); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// NewTimePoint writes t as PlanFix does.
func NewTimePoint(t time.Time) *TimePoint {
	t = t.UTC()
	return &TimePoint{Date: t.Format("02-01-2006"), Time: t.Format("15:04"), DateTime: t.Format("2006-01-02T15:04Z"),
		DateTimeUTCSeconds: t.Format("2006-01-02T15:04:05-0700")}
}

// Ref is a PersonResponse: {"id":"user:5","name":"Alex"}. Inside tasks
// and comments ids are prefixed ("user:", "contact:", "group:").
type Ref struct {
	ID   string `json:"id"`
	Name string `json:"name,omitempty"`
}

// People is a PeopleResponse: users (and contacts) and groups.
type People struct {
	Users  []Ref `json:"users,omitempty"`
	Groups []struct {
		ID   json.Number `json:"id"`
		Name string      `json:"name"`
	} `json:"groups,omitempty"`
}

// Entity is a BaseEntity ({"id":5}); name is not in the schema but some
// answers carry it [unverified].
type Entity struct {
	ID   json.Number `json:"id"`
	Name string      `json:"name,omitempty"`
}

// Status is a task's status as a task carries it, and a TaskStatus of a
// process's statuses.
type Status struct {
	ID       json.Number `json:"id"`
	Name     string      `json:"name"`
	IsActive *bool       `json:"isActive,omitempty"`
}

// Task is a TaskResponse.
type Task struct {
	ID               json.Number `json:"id"`
	Name             string      `json:"name"`
	Description      string      `json:"description,omitempty"`
	Status           *Status     `json:"status,omitempty"`
	ProcessID        json.Number `json:"processId,omitempty"`
	Assigner         *Ref        `json:"assigner,omitempty"`
	Assignees        *People     `json:"assignees,omitempty"`
	Project          *Entity     `json:"project,omitempty"`
	Counterparty     *Ref        `json:"counterparty,omitempty"`
	DateTime         *TimePoint  `json:"dateTime,omitempty"`
	EndDateTime      *TimePoint  `json:"endDateTime,omitempty"`
	HasEndDate       bool        `json:"hasEndDate,omitempty"`
	DateOfLastUpdate *TimePoint  `json:"dateOfLastUpdate,omitempty"`
	IsDeleted        bool        `json:"isDeleted,omitempty"`
	// Comments is not PlanFix's: an export (and the fake's world) keeps
	// each task's comments with it.
	Comments []Comment `json:"comments,omitempty"`
}

// TaskFields are the fields asked of every task list.
const TaskFields = "id,name,description,status,processId,assigner,assignees,project,counterparty,dateTime,endDateTime,hasEndDate,dateOfLastUpdate,isDeleted"

// ChangeStatus is a comment's status change.
type ChangeStatus struct {
	NewStatusID json.Number `json:"newStatusId"`
	OldStatusID json.Number `json:"oldStatusId"`
}

// Comment is a CommentResponse. Description is HTML.
type Comment struct {
	ID           json.Number   `json:"id"`
	DateTime     *TimePoint    `json:"dateTime,omitempty"`
	Type         string        `json:"type,omitempty"` // Comment, Reminder, None
	FromType     string        `json:"fromType,omitempty"`
	Description  string        `json:"description"`
	Owner        *Ref          `json:"owner,omitempty"`
	IsDeleted    bool          `json:"isDeleted,omitempty"`
	ChangeStatus *ChangeStatus `json:"changeStatus,omitempty"`
}

// CommentFields are the fields asked of every comment list.
const CommentFields = "id,dateTime,type,fromType,description,owner,isDeleted,changeStatus"

// Project is a ProjectResponse.
type Project struct {
	ID        json.Number `json:"id"`
	Name      string      `json:"name"`
	Status    *Entity     `json:"status,omitempty"`
	IsDeleted bool        `json:"isDeleted,omitempty"`
}

// ProjectFields are the fields asked of the project list.
const ProjectFields = "id,name,status,isDeleted"

// User is a UserResponse (an employee); Contact a ContactResponse. The
// lists give plain integer ids unless asked for prefixedId, which the
// pull asks for; both are read.
type User struct {
	ID        json.RawMessage `json:"id"`
	Name      string          `json:"name"`
	Midname   string          `json:"midname,omitempty"`
	Lastname  string          `json:"lastname,omitempty"`
	Login     string          `json:"login,omitempty"`
	Email     string          `json:"email,omitempty"`
	IsDeleted bool            `json:"isDeleted,omitempty"`
	IsCompany bool            `json:"isCompany,omitempty"`
}

// UserFields and ContactFields are asked of those lists.
const (
	UserFields    = "id,name,midname,lastname,login,email,isDeleted"
	ContactFields = "id,name,midname,lastname,email,isDeleted,isCompany"
)

// Prefixed is the user's id as tasks and comments spell it: "user:5".
func (u User) Prefixed(prefix string) string {
	s := strings.Trim(string(u.ID), `"`)
	if strings.Contains(s, ":") {
		return s
	}
	return prefix + ":" + s
}

// FullName is the name, surname last, as PlanFix shows it.
func (u User) FullName() string {
	return strings.Join(strings.Fields(u.Name+" "+u.Lastname), " ")
}

// Filter is a ComplexTaskFilter.
type Filter struct {
	Type     int    `json:"type"`
	Operator string `json:"operator"`
	Value    any    `json:"value"`
}

// Task filter types (the help's "Complex task filters" table).
const (
	FilterProject           = 5
	FilterChangedOrComented = 79 // the date of the last change or comment
)

// DateValue is a filter's date value; PlanFix reads its dates in the zone
// of the token's employee.
type DateValue struct {
	DateType  string `json:"dateType"`
	DateValue string `json:"dateValue,omitempty"`
	DateFrom  string `json:"dateFrom,omitempty"`
	DateTo    string `json:"dateTo,omitempty"`
}

// ListRequest is the body of every */list POST.
type ListRequest struct {
	Offset     int      `json:"offset"`
	PageSize   int      `json:"pageSize"`
	Fields     string   `json:"fields,omitempty"`
	Filters    []Filter `json:"filters,omitempty"`
	TypeList   string   `json:"typeList,omitempty"`
	ResultOrd  []Order  `json:"resultOrder,omitempty"`
	PrefixedID bool     `json:"prefixedId,omitempty"`
	IsCompany  *bool    `json:"isCompany,omitempty"`
}

// Order is one key of a comment list's resultOrder.
type Order struct {
	Field     string `json:"field"`
	Direction string `json:"direction"`
}

// Envelope is what every answer carries: result "success" or "fail",
// and on failure a code and an error text.
type Envelope struct {
	Result string `json:"result"`
	Code   int    `json:"code,omitempty"`
	Error  string `json:"error,omitempty"`
}

// Failed is the envelope's failure as an error, nil on success.
func (e Envelope) Failed() error {
	if e.Result == "" || e.Result == "success" {
		return nil
	}
	return fmt.Errorf("PlanFix: code %d: %s", e.Code, e.Error)
}

// CodeDailyLimit is the error code of a spent daily request quota (the
// help's error code table).
const CodeDailyLimit = 22

// idString is a json.Number's text, "" for none.
func idString(n json.Number) string { return string(n) }
