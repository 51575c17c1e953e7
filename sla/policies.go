package sla

import "time"

// Policies are the SLA policies, in the order people read them. A new
// policy is its row here (name, config key and rule, words in every
// language, clock function) and its clock function; nothing else lists
// policies (docs/architecture.md counts the places).
var Policies = []Policy{
	{Name: PolicyResponse, Key: "response", Doc: "every client message gets an agency reply within a target",
		WholeHistory: true, rule: ruleOf(checkResponse),
		Words: map[string]Words{
			"en": {"Reply to a message", "client waiting for a reply", "response"},
			"ru": {"Ответ на сообщение", "клиент ждёт ответа", "ответ на сообщение"},
			"bg": {"Отговор на съобщение", "клиентът чака отговор", "отговор на съобщение"},
			"de": {"Antwort auf eine Nachricht", "Kunde wartet auf Antwort", "Antwort"},
		},
		clocks: func(f Facts, r Rules, now time.Time) []Clock { return ResponseClocks(f.Messages, r, now) }},
	{Name: PolicyStageLimit, Key: "stage_limits", Doc: "normalized status -> the longest a task may stay in it (business time, e.g. 2d)",
		WholeHistory: true, rule: ruleOf(checkStages),
		Words: map[string]Words{
			"en": {"Time in a stage", "too long in one stage", "stage limit"},
			"ru": {"Время на этапе", "слишком долго на одном этапе", "время на этапе"},
			"bg": {"Време в етап", "твърде дълго в един етап", "време в етап"},
			"de": {"Zeit in einer Phase", "zu lange in einer Phase", "Zeit in einer Phase"},
		},
		clocks: func(f Facts, r Rules, now time.Time) []Clock { return StageClocks(f.Tasks, r, now) }},
	{Name: PolicyWaitingClient, Key: "waiting_client", Doc: "remind the client while work waits on them",
		WholeHistory: true, rule: ruleOf[*ReminderPolicy](nil),
		Words: map[string]Words{
			"en": {"Reminder while work waits on you", "client owes an answer: reminder due", "waiting client"},
			"ru": {"Напоминание, пока работа ждёт вас", "ждём ответа клиента: пора напомнить", "ждём клиента"},
			"bg": {"Напомняне, докато работата чака вас", "чакаме отговор от клиента: време е за напомняне", "чака клиента"},
			"de": {"Erinnerung, solange die Arbeit auf Sie wartet", "Antwort des Kunden fehlt: Erinnerung fällig", "wartet auf Kunden"},
		},
		clocks: func(f Facts, r Rules, now time.Time) []Clock {
			return mergeClocks([][]Clock{WaitingClocks(f.Tasks, r, now), ThreadWaitingClocks(f.Messages, r, now)})
		}},
	{Name: PolicyDueDate, Key: "due_date", Doc: "flag tasks near or past their due date",
		WholeHistory: true, rule: ruleOf[*DuePolicy](nil),
		Words: map[string]Words{
			"en": {"Due date", "due date", "due date"},
			"ru": {"Срок", "срок", "срок"},
			"bg": {"Краен срок", "краен срок", "краен срок"},
			"de": {"Fälligkeit", "Fälligkeit", "Fälligkeit"},
		},
		clocks: func(f Facts, r Rules, now time.Time) []Clock { return DueClocks(f.Tasks, r, now) }},
	{Name: PolicyBrief, Key: "brief", Doc: "no work starts without a brief",
		WholeHistory: true, rule: ruleOf[*BriefPolicy](nil),
		Words: map[string]Words{
			"en": {"Brief before work starts", "work started without a brief", "brief"},
			"ru": {"Бриф до начала работ", "работа начата без задания", "задание"},
			"bg": {"Задание преди началото на работата", "работата започна без задание", "задание"},
			"de": {"Briefing vor Arbeitsbeginn", "Arbeit ohne Briefing begonnen", "Briefing"},
		},
		clocks: func(f Facts, r Rules, now time.Time) []Clock { return BriefClocks(f.Tasks, r, now) }},
	{Name: PolicyHygiene, Key: "hygiene", Doc: "tasks in progress carry an assignee and a due date",
		WholeHistory: true, rule: ruleOf[*HygienePolicy](nil),
		Words: map[string]Words{
			"en": {"Assignee and due date", "task without assignee or due date", "hygiene"},
			"ru": {"Исполнитель и срок", "задача без исполнителя или срока", "исполнитель и срок"},
			"bg": {"Изпълнител и срок", "задача без изпълнител или краен срок", "изпълнител и срок"},
			"de": {"Verantwortliche und Fälligkeit", "Aufgabe ohne Zuständigen oder Fälligkeit", "Zuständigkeit und Fälligkeit"},
		},
		clocks: func(f Facts, r Rules, now time.Time) []Clock { return HygieneClocks(f.Tasks, r, now) }},
	// Client contact evaluates the current silence only, and keeps earlier
	// silences' clocks as they were.
	{Name: PolicyClientContact, Key: "client_contact", Doc: "no client goes long without an update",
		rule: ruleOf(checkContact),
		Words: map[string]Words{
			"en": {"Regular update", "no update to the client", "client contact"},
			"ru": {"Регулярная связь", "клиенту давно не писали", "связь с клиентом"},
			"bg": {"Редовна връзка", "клиентът отдавна не е получавал новини", "връзка с клиента"},
			"de": {"Regelmäßiger Kontakt", "kein Update an den Kunden", "Kundenkontakt"},
		},
		clocks: func(f Facts, r Rules, now time.Time) []Clock {
			contacts := f.Messages
			if f.Contacts != nil {
				contacts = f.Contacts
			}
			return ContactClocks(contacts, r, now)
		}},
	// The hour budget evaluates the current month only.
	{Name: PolicyHourBudget, Key: "hour_budget", Doc: "watch the monthly hour burn",
		Apart: true, rule: ruleOf(checkBudget).boundBy(bindBudget),
		Words: map[string]Words{
			"en": {"Hour budget", "hour budget", "hour budget"},
			"ru": {"Бюджет часов", "бюджет часов", "бюджет часов"},
			"bg": {"Бюджет от часове", "бюджет от часове", "бюджет от часове"},
			"de": {"Stundenbudget", "Stundenbudget", "Stundenbudget"},
		},
		clocks: func(f Facts, r Rules, now time.Time) []Clock { return BudgetClocks(f.TimeEntries, r, now) }},
	{Name: PolicyUntracked, Key: "untracked_work", Doc: "flag tasks done with no time logged",
		WholeHistory: true, Apart: true, rule: ruleOf[UntrackedWork](nil),
		Words: map[string]Words{
			"en": {"Done with no time logged", "done with no time logged", "untracked work"},
			"ru": {"Сделано без учёта времени", "сделано, но время не учтено", "без учёта времени"},
			"bg": {"Готово без отчетено време", "готово, без отчетено време", "без отчетено време"},
			"de": {"Erledigt ohne erfasste Zeit", "erledigt ohne erfasste Zeit", "ohne erfasste Zeit"},
		},
		clocks: func(f Facts, r Rules, now time.Time) []Clock { return UntrackedClocks(f.Tasks, r, now) }},
}
