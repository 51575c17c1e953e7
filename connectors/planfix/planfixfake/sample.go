package planfixfake

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/karkas/karkas/connectors/planfix"
)

// Sample is a small account as of now: two employees, two contacts
// (one at each client), four statuses, two projects and tasks with
// comment feeds in Russian and English, HTML, a status change recorded as
// a comment, a reminder and a deleted comment. Tasks are numbered from 1;
// task 1 is Бетта's, its client writes first and the manager answers.
func Sample(now time.Time) World {
	yes, no := true, false
	tp := planfix.NewTimePoint
	ref := func(id, name string) *planfix.Ref { return &planfix.Ref{ID: id, Name: name} }
	user := func(id int, name, last, login, email string) planfix.User {
		return planfix.User{ID: json.RawMessage(strconv.Itoa(id)), Name: name, Lastname: last, Login: login, Email: email}
	}
	w := World{
		Users: []planfix.User{
			user(1, "Ольга", "Петрова", "olga", "olga@northwind.agency"),
			user(2, "Dmitri", "Volkov", "dmitri", "dmitri@northwind.agency"),
		},
		Contacts: []planfix.User{
			user(11, "Игорь", "Смирнов", "", "igor@betta-stroy.ru"),
			user(12, "Jane", "Doe", "", "jane@acme.example"),
		},
		Statuses: []planfix.Status{
			{ID: "1", Name: "Новая", IsActive: &yes}, {ID: "2", Name: "В работе", IsActive: &yes},
			{ID: "3", Name: "Ждёт клиента", IsActive: &yes}, {ID: "4", Name: "Завершённая", IsActive: &no},
		},
		Projects: []planfix.Project{{ID: "101", Name: "Бетта Строй — сайт"}, {ID: "102", Name: "Acme support"}},
	}
	day := now.Add(-72 * time.Hour).Truncate(time.Hour)
	at := func(h int) *planfix.TimePoint { return tp(day.Add(time.Duration(h) * time.Hour)) }
	st := func(id string) *planfix.Status {
		for _, s := range w.Statuses {
			if string(s.ID) == id {
				c := s
				c.IsActive = nil
				return &c
			}
		}
		panic("no status " + id)
	}
	olga, dmitri := ref("user:1", "Ольга Петрова"), ref("user:2", "Dmitri Volkov")
	igor, jane := ref("contact:11", "Игорь Смирнов"), ref("contact:12", "Jane Doe")
	w.Tasks = []planfix.Task{
		{ID: "1", Name: "Форма заявки не отправляется", Description: "<p>Клиент пишет, что форма <b>не работает</b>.</p>",
			Status: st("2"), ProcessID: "1", Assigner: olga, Assignees: &planfix.People{Users: []planfix.Ref{*dmitri}},
			Project: &planfix.Entity{ID: "101"}, Counterparty: igor, DateTime: at(0), DateOfLastUpdate: at(5),
			EndDateTime: at(48), HasEndDate: true,
			Comments: []planfix.Comment{
				{ID: "501", DateTime: at(1), Type: "Comment", FromType: "Email", Description: "<p>Добрый день! Форма заявки снова не отправляется.<br>Посмотрите, пожалуйста.</p>", Owner: igor},
				{ID: "502", DateTime: at(2), Type: "Comment", Description: "", Owner: olga, ChangeStatus: &planfix.ChangeStatus{OldStatusID: "1", NewStatusID: "2"}},
				{ID: "503", DateTime: at(3), Type: "Comment", Description: "<p>Игорь, добрый день! Уже смотрим, ответим сегодня.</p>", Owner: olga},
				{ID: "504", DateTime: at(4), Type: "Comment", Description: "<p>черновик</p>", Owner: dmitri, IsDeleted: true},
				{ID: "505", DateTime: at(5), Type: "Reminder", Description: "<p>Напомнить клиенту о доступах</p>", Owner: olga},
			}},
		{ID: "2", Name: "Обновить прайс-лист", Status: st("3"), ProcessID: "1", Assigner: olga,
			Project: &planfix.Entity{ID: "101"}, DateTime: at(6), DateOfLastUpdate: at(7),
			Comments: []planfix.Comment{
				{ID: "506", DateTime: at(7), Type: "Comment", Description: "<p>Ждём от вас новый прайс в Excel.</p>", Owner: olga},
			}},
		{ID: "3", Name: "Login page is slow", Status: st("4"), ProcessID: "1", Assigner: dmitri,
			Assignees: &planfix.People{Users: []planfix.Ref{*dmitri}}, Project: &planfix.Entity{ID: "102"}, Counterparty: jane,
			DateTime: at(8), DateOfLastUpdate: at(12),
			Comments: []planfix.Comment{
				{ID: "507", DateTime: at(9), Type: "Comment", Description: "<p>Hi, the login page takes &gt; 10 s to load.</p>", Owner: jane},
				{ID: "508", DateTime: at(11), Type: "Comment", Description: "<p>Fixed: a missing index. Please check.</p>", Owner: dmitri},
				{ID: "509", DateTime: at(12), Type: "Comment", Owner: dmitri, ChangeStatus: &planfix.ChangeStatus{OldStatusID: "2", NewStatusID: "4"}},
			}},
	}
	return w
}

// Generate is an account for benchmarks: users employees and as many
// contacts, projects projects, tasks tasks spread over them and comments
// comments spread over the tasks (every fifth a contact's, every tenth a
// status change), all dated in the 90 days before now, ids ascending.
func Generate(now time.Time, users, projects, tasks, comments int) World {
	yes, no := true, false
	w := World{Statuses: []planfix.Status{{ID: "1", Name: "Новая", IsActive: &yes}, {ID: "2", Name: "В работе", IsActive: &yes},
		{ID: "3", Name: "Завершённая", IsActive: &no}}}
	for i := 1; i <= users; i++ {
		w.Users = append(w.Users, planfix.User{ID: json.RawMessage(strconv.Itoa(i)), Name: "Сотрудник", Lastname: strconv.Itoa(i),
			Email: "u" + strconv.Itoa(i) + "@northwind.agency"})
		w.Contacts = append(w.Contacts, planfix.User{ID: json.RawMessage(strconv.Itoa(1000 + i)), Name: "Контакт", Lastname: strconv.Itoa(i),
			Email: "c" + strconv.Itoa(i) + "@client" + strconv.Itoa(i%max(projects, 1)) + ".example"})
	}
	for i := 1; i <= projects; i++ {
		w.Projects = append(w.Projects, planfix.Project{ID: json.Number(strconv.Itoa(100 + i)), Name: "Проект " + strconv.Itoa(i)})
	}
	start := now.Add(-90 * 24 * time.Hour)
	step := 90 * 24 * time.Hour / time.Duration(max(tasks, 1))
	cid := 100000
	for i := range tasks {
		at := start.Add(time.Duration(i) * step)
		u := strconv.Itoa(1 + i%max(users, 1))
		t := planfix.Task{ID: json.Number(strconv.Itoa(i + 1)), Name: "Задача " + strconv.Itoa(i+1), Description: "<p>Описание задачи</p>",
			Status: &planfix.Status{ID: "2", Name: "В работе"}, ProcessID: "1", Assigner: &planfix.Ref{ID: "user:" + u},
			Assignees: &planfix.People{Users: []planfix.Ref{{ID: "user:" + u}}},
			Project:   &planfix.Entity{ID: w.Projects[i%len(w.Projects)].ID}, DateTime: planfix.NewTimePoint(at), DateOfLastUpdate: planfix.NewTimePoint(at)}
		n := comments / max(tasks, 1)
		if i < comments%max(tasks, 1) {
			n++
		}
		for j := range n {
			cat := at.Add(time.Duration(j+1) * time.Hour)
			c := planfix.Comment{ID: json.Number(strconv.Itoa(cid)), DateTime: planfix.NewTimePoint(cat), Type: "Comment",
				Description: "<p>Комментарий " + strconv.Itoa(cid) + "</p>", Owner: &planfix.Ref{ID: "user:" + u}}
			switch {
			case j%10 == 9:
				c.Description, c.ChangeStatus = "", &planfix.ChangeStatus{OldStatusID: "1", NewStatusID: "2"}
			case j%5 == 0:
				c.Owner = &planfix.Ref{ID: "contact:" + strconv.Itoa(1000+1+i%max(users, 1))}
			}
			t.Comments = append(t.Comments, c)
			t.DateOfLastUpdate = planfix.NewTimePoint(cat)
			cid++
		}
		w.Tasks = append(w.Tasks, t)
	}
	return w
}
