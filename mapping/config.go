// Package mapping is the agency's model: the karkas.yaml config (types,
// loading with ${ENV} expansion, validation with file:line:col positions, the
// JSON Schema) and the pure resolution of neutral records onto clients,
// people and sides, normalized statuses and time categories.
//
// It never does I/O beyond reading the config file, and imports no karkas
// package but record.
package mapping

import (
	"time"

	"github.com/karkas/karkas/internal/secret"
	"github.com/karkas/karkas/sla"
	"gopkg.in/yaml.v3"
)

// Normalized statuses a source status maps to.
const (
	StatusBacklog       = "backlog"
	StatusTodo          = "todo"
	StatusInProgress    = "in_progress"
	StatusReview        = "review"
	StatusWaitingClient = "waiting_client"
	StatusDone          = "done"
	StatusArchived      = "archived"
)

// Sides a person is on.
const (
	SideAgency  = "agency"
	SideClient  = "client"
	SideUnknown = "unknown"
)

// Time categories.
const (
	CategoryProduction    = "production"
	CategoryCommunication = "communication"
	CategoryMeeting       = "meeting"
	CategoryNonBillable   = "non_billable"
)

// Config is a whole karkas.yaml.
type Config struct {
	Agency         Agency               `yaml:"agency" required:"true" doc:"the agency itself"`
	Store          Store                `yaml:"store" doc:"where karkas keeps its data"`
	Calendars      map[string]Calendar  `yaml:"calendars" doc:"business calendars by name"`
	People         []Person             `yaml:"people" doc:"everyone on both sides, with their identities in each tool"`
	Clients        []Client             `yaml:"clients" doc:"the agency's clients and what belongs to them"`
	Statuses       []StatusRule         `yaml:"statuses" doc:"source statuses (list names, issue states) to normalized statuses; first match wins"`
	TimeCategories []CategoryRule       `yaml:"time_categories" doc:"time entry categories; first match wins, production otherwise"`
	PolicySets     map[string]PolicySet `yaml:"policy_sets" doc:"named sets of SLA policies a client can use"`
	Sources        []Source             `yaml:"sources" doc:"where records are pulled from"`
	Routing        *Routing             `yaml:"routing" doc:"who hears of SLA transitions and through what: sinks and the rules that pick them"`
	Serve          *Serve               `yaml:"serve" doc:"how karkas serve runs: its listener, public URL and schedules"`

	// File is the path the config was read from; BaseDir its folder.
	File    string `yaml:"-" json:"-"`
	BaseDir string `yaml:"-" json:"-"`
}

// Serve is how `karkas serve` runs.
type Serve struct {
	Listen          string        `yaml:"listen" doc:"address of the webhooks, health and metrics listener (default 127.0.0.1:8080; --listen overrides)"`
	MetricsListen   string        `yaml:"metrics_listen" doc:"a separate address for /metrics, /healthz and /readyz (default: on listen)"`
	PublicURL       string        `yaml:"public_url" doc:"the https URL at which Trello and GitHub reach listen, for karkas webhooks register (e.g. https://karkas.example.com)"`
	DefaultSchedule time.Duration `yaml:"default_schedule" doc:"how often a source with no schedule is pulled (default 15m)"`
	AttentionAfter  int           `yaml:"attention_after" doc:"failed pulls in a row after which a source is marked as needing attention in karkas status (default 3)"`
	JobTimeout      time.Duration `yaml:"job_timeout" doc:"limit of one job (default 10m): a pull cut by it goes on from its cursor next time; a job of a killed replica is taken over after one and a half times this"`
	Web             *Web          `yaml:"web" doc:"the web UI's sign-in and client cabinet"`
}

// Web is how the web UI of karkas serve signs agency people in and what
// the client cabinet shows.
type Web struct {
	OIDC    *OIDC    `yaml:"oidc" doc:"sign-in through an OpenID Connect provider (Google Workspace, Microsoft Entra ID), beside passwords"`
	Cabinet *Cabinet `yaml:"cabinet" doc:"what the client cabinet shows"`
}

// OIDC is an OpenID Connect provider agency people sign in through. An
// account is matched by its email (karkas users add --email); the
// provider proves the address, the store's account gives the role.
type OIDC struct {
	Issuer       string       `yaml:"issuer" required:"true" doc:"the provider's issuer URL: https://accounts.google.com, or https://login.microsoftonline.com/TENANT-ID/v2.0"`
	ClientID     string       `yaml:"client_id" required:"true" doc:"the OAuth client id the provider gave karkas"`
	ClientSecret secret.Value `yaml:"client_secret" doc:"its client secret, usually ${OIDC_CLIENT_SECRET} (or client_secret_file)"`
	Label        string       `yaml:"label" doc:"the sign-in button's text (default: Sign in with single sign-on)"`
	Domains      []string     `yaml:"domains" doc:"email domains whose addresses may sign in (default: agency.domains)"`
}

// Cabinet is what the client cabinet shows.
type Cabinet struct {
	Notes string `yaml:"notes" doc:"the month's time entries with their notes: none (default: totals and tasks only), billable (the billable entries), all"`
}

// Cabinet note settings.
const (
	CabinetNotesNone     = "none"
	CabinetNotesBillable = "billable"
	CabinetNotesAll      = "all"
)

// Agency names the agency and how to recognise its people.
type Agency struct {
	Name     string   `yaml:"name" required:"true" doc:"the agency's name, shown in reports"`
	Domains  []string `yaml:"domains" doc:"email domains of the agency: senders from them are on the agency side"`
	Calendar string   `yaml:"calendar" doc:"name of the agency's business calendar"`
	Language string   `yaml:"language" doc:"the language of what karkas writes, where a client names none (BCP 47: en, ru, bg, de; default en)"`
}

// Store says where the data lives.
type Store struct {
	URL string `yaml:"url" secret:"url" doc:"sqlite:PATH (relative to the config file; the default is karkas.db next to it) or postgres://user:pass@host/db"`
}

// Calendar is a business calendar: the hours that count as business time.
type Calendar struct {
	TimeZone string `yaml:"time_zone" required:"true" doc:"IANA time zone, e.g. Europe/Berlin"`
	// Hours maps days (mon, tue, ..., or ranges like mon-fri) to intervals.
	Hours       map[string][]string `yaml:"hours" doc:"working intervals by day: {mon-fri: [\"09:00-13:00\", \"14:00-18:00\"]}"`
	Holidays    []string            `yaml:"holidays" doc:"extra non-working dates, YYYY-MM-DD"`
	Country     string              `yaml:"country" doc:"ISO country code whose public holidays are non-working"`
	WorkingDays []string            `yaml:"working_days" doc:"dates that are working days although they fall on a weekend or holiday, YYYY-MM-DD"`
}

// Person is someone on the agency's or a client's side.
type Person struct {
	ID     string `yaml:"id" required:"true" doc:"short stable id used elsewhere in the config"`
	Name   string `yaml:"name" required:"true" doc:"full name"`
	Side   string `yaml:"side" required:"true" enum:"agency,client" doc:"agency or client"`
	Role   string `yaml:"role" enum:"pm,lead,specialist,manager,contact,bot" doc:"what they do"`
	Client string `yaml:"client" doc:"for client-side people: the client id"`

	// The fields tagged identity: are the namespaces of source person ids
	// (identity.go): a source whose Kind.Identity names a new namespace
	// adds one such field.
	Emails      []string `yaml:"emails" identity:"email" doc:"email addresses"`
	Trello      []string `yaml:"trello" identity:"trello" doc:"Trello member ids or usernames"`
	GitHub      []string `yaml:"github" identity:"github" doc:"GitHub logins"`
	TimeTracker []string `yaml:"time_tracker" identity:"time_tracker,names" doc:"time-tracker user ids, names or emails as the tracker or its export shows them"`
	PlanFix     []string `yaml:"planfix" identity:"planfix" doc:"PlanFix ids: user:N for an employee, contact:N for a contact"`
	Calendar    string   `yaml:"calendar" doc:"the person's calendar, when it differs from their side's"`
	// Capacity is nil when the config leaves it out (a whole calendar).
	Capacity *float64 `yaml:"capacity" doc:"the share of the person's calendar hours they can give clients, more than 0 and at most 1 (default 1; 0.5 for half time)"`
}

// CapacityShare is the share of their calendar hours a person works: 1
// unless the config says less.
func (p Person) CapacityShare() float64 {
	if p.Capacity == nil {
		return 1
	}
	return *p.Capacity
}

// Client is one of the agency's clients.
type Client struct {
	ID        string   `yaml:"id" required:"true" doc:"short stable id"`
	Name      string   `yaml:"name" required:"true" doc:"the client's name"`
	Domains   []string `yaml:"domains" container:"" doc:"email domains of the client"`
	Contacts  []string `yaml:"contacts" doc:"person ids of the client's contacts"`
	PM        string   `yaml:"pm" doc:"person id of the agency's PM for this client"`
	Lead      string   `yaml:"lead" doc:"person id of the team lead escalations go to"`
	Calendar  string   `yaml:"calendar" doc:"calendar name (the client's zone); the agency's by default"`
	PolicySet string   `yaml:"policy_set" doc:"name of the policy set that applies"`
	Budget    Budget   `yaml:"budget" doc:"hour budget"`
	Language  string   `yaml:"language" doc:"the language the client reads: hour reports in it (BCP 47: en, ru, bg, de; default the agency's)"`
	// OutOfScopeLabels is nil when the config leaves it out: the
	// report's default then applies.
	OutOfScopeLabels []string `yaml:"out_of_scope_labels" doc:"card labels and time-entry tags that mark work outside the contract, compared ignoring case, '-' and '_' (default [\"out of scope\"])"`

	// The fields tagged container: name the containers of one kind that
	// belong to the client (identity.go).
	Boards    []string `yaml:"boards" container:"board" doc:"Trello board ids, short links or names"`
	Repos     []string `yaml:"repos" container:"repo" doc:"GitHub repositories, owner/name"`
	Projects  []string `yaml:"projects" container:"tracker_project" doc:"time-tracker project ids or names"`
	Mailboxes []string `yaml:"mailboxes" container:"mailbox" doc:"mailbox folders that belong only to this client"`
	// PlanFixProjects name planfix.ContainerKind containers.
	PlanFixProjects []string `yaml:"planfix_projects" container:"planfix_project" doc:"PlanFix project ids or names"`
}

// Budget is a client's monthly hours.
type Budget struct {
	MonthlyHours float64 `yaml:"monthly_hours" doc:"hours per month the client pays for"`
	Rollover     bool    `yaml:"rollover" doc:"unused hours carry over to the next month (one month, never compounding)"`
	RolloverMax  float64 `yaml:"rollover_max" doc:"with rollover: at most this many hours carry over, either way (default: no cap)"`
	CarryOverrun bool    `yaml:"carry_overrun" doc:"with rollover: a month's overrun is taken from the next month's budget"`
	Start        string  `yaml:"start" doc:"the first month the budget counts (YYYY-MM): none before it, nothing carried into it (default: the client's first month with time logged)"`
}

// LanguageOf is the language a client reads: its own language:, else the
// agency's ("" is English).
func (c *Config) LanguageOf(client *Client) string {
	if client != nil && client.Language != "" {
		return client.Language
	}
	return c.Agency.Language
}

// Rule is the budget as the SLA engine and the reports count it.
func (b Budget) Rule() sla.BudgetRule {
	return sla.BudgetRule{MonthlyHours: b.MonthlyHours, Rollover: b.Rollover, RolloverMax: b.RolloverMax,
		CarryOverrun: b.CarryOverrun, Start: b.Start}
}

// StatusRule maps source statuses to a normalized status.
type StatusRule struct {
	Source  string   `yaml:"source" doc:"source id or kind this rule is limited to; all sources when empty"`
	Match   []string `yaml:"match" doc:"source status names, compared ignoring case and surrounding spaces"`
	Pattern string   `yaml:"pattern" doc:"a regular expression over the source status instead of names"`
	Status  string   `yaml:"status" required:"true" enum:"backlog,todo,in_progress,review,waiting_client,done,archived" doc:"normalized status"`
}

// CategoryRule assigns a time category to matching time entries.
type CategoryRule struct {
	Category    string   `yaml:"category" required:"true" enum:"production,communication,meeting,non_billable" doc:"category"`
	Tags        []string `yaml:"tags" doc:"entry tags (any of them)"`
	TaskPattern string   `yaml:"task_pattern" doc:"regular expression over the task name"`
	Projects    []string `yaml:"projects" doc:"tracker project ids or names"`
	Labels      []string `yaml:"labels" doc:"labels of the linked card"`
}

// PolicySet is a named set of SLA policies: a rule per policy, under the
// policy's key (response, stage_limits, ...). The keys, their rules and
// their checks are sla.Policies'; the decoder reads them from there.
type PolicySet = sla.PolicySet

// Source is one place records are pulled from.
type Source struct {
	ID       string    `yaml:"id" required:"true" doc:"short stable id; cursors and rows are keyed by it"`
	Kind     string    `yaml:"kind" required:"true" doc:"the connector: trello_export, time_csv, mail_files, ..."`
	Schedule string    `yaml:"schedule" doc:"how often karkas serve pulls it, e.g. 15m"`
	Disabled bool      `yaml:"disabled" doc:"skip this source"`
	Options  yaml.Node `yaml:"options" doc:"the connector's own options"`
}
