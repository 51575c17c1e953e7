package demogen

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/karkas/karkas/connectors/planfix"
)

// The fourth client, Дельта Логистик, works with the agency in PlanFix:
// its project "Дельта Логистик — CRM" holds the tasks, and each task's
// comment feed is the conversation (the contact Павел Орлов writes
// there, Anna and Elena answer). The file planfix/delta.json is the
// account as the REST API answers it (a planfix_export); its hours are
// in time/delta.csv, an Everhour report of the project.
const (
	deltaProject     = "Дельта Логистик — CRM"
	deltaProjectID   = "301"
	deltaClient      = "Дельта Логистик"
	deltaContactID   = "contact:21"
	deltaContactName = "Павел Орлов"
)

// planfixUsers are the agency's employees in PlanFix, by person index.
var planfixUsers = map[int]string{pAnna: "user:1", pBoris: "user:2", pDmitri: "user:4", pElena: "user:5"}

func writePlanfix(w *bufio.Writer, st *Stats) error {
	yes, no := true, false
	ex := planfix.Export{
		Statuses: []planfix.Status{
			{ID: "1", Name: "Новая", IsActive: &yes}, {ID: "2", Name: "В работе", IsActive: &yes},
			{ID: "3", Name: "На проверке", IsActive: &yes}, {ID: "4", Name: "Ждём клиента", IsActive: &yes},
			{ID: "5", Name: "Завершённая", IsActive: &no},
		},
		Projects: []planfix.Project{{ID: deltaProjectID, Name: deltaProject}},
		Contacts: []planfix.User{{ID: json.RawMessage(`"contact:21"`), Name: "Павел", Lastname: "Орлов", Email: "pavel@delta-logistic.ru"}},
	}
	for _, who := range []int{pAnna, pBoris, pDmitri, pElena} {
		p := people[who]
		ex.Users = append(ex.Users, planfix.User{ID: json.RawMessage(strconv.Quote(planfixUsers[who])), Name: p.name, Email: p.email, Login: p.username})
	}
	msk := func(day, hour, minute int) time.Time { return time.Date(2026, 11, day, hour, minute, 0, 0, moscow) }
	ref := func(who int) *planfix.Ref { return &planfix.Ref{ID: planfixUsers[who], Name: people[who].name} }
	pavel := &planfix.Ref{ID: deltaContactID, Name: deltaContactName}
	status := func(id string) *planfix.Status {
		for _, s := range ex.Statuses {
			if string(s.ID) == id {
				return &planfix.Status{ID: s.ID, Name: s.Name}
			}
		}
		panic("demogen: no PlanFix status " + id)
	}
	nextComment := 9001
	type say struct {
		at       time.Time
		who      *planfix.Ref
		text     string
		old, new string // a status change
	}
	task := func(id, name, desc, stID string, assignee int, created time.Time, due *time.Time, feed ...say) planfix.Task {
		t := planfix.Task{ID: json.Number(id), Name: name, Description: desc, Status: status(stID), ProcessID: "1",
			Assigner: ref(pAnna), Assignees: &planfix.People{Users: []planfix.Ref{*ref(assignee)}},
			Project: &planfix.Entity{ID: deltaProjectID, Name: deltaProject}, Counterparty: pavel,
			DateTime: planfix.NewTimePoint(created), DateOfLastUpdate: planfix.NewTimePoint(created)}
		if due != nil {
			t.EndDateTime, t.HasEndDate = planfix.NewTimePoint(*due), true
		}
		for _, s := range feed {
			c := planfix.Comment{ID: json.Number(strconv.Itoa(nextComment)), DateTime: planfix.NewTimePoint(s.at), Type: "Comment",
				FromType: "Planfix", Owner: s.who}
			nextComment++
			if s.text != "" {
				c.Description = "<p>" + s.text + "</p>"
			}
			if s.new != "" {
				c.ChangeStatus = &planfix.ChangeStatus{OldStatusID: json.Number(s.old), NewStatusID: json.Number(s.new)}
			}
			t.Comments = append(t.Comments, c)
			t.DateOfLastUpdate = planfix.NewTimePoint(s.at)
			st.PlanFixComments++
		}
		return t
	}
	due := func(t time.Time) *time.Time { return &t }
	brief := "<p>Что нужно: %s</p><p>Готово, когда клиент подтвердит на тестовом стенде.</p>"
	ex.Tasks = []planfix.Task{
		task("4101", "Импорт заявок из 1С", fmt.Sprintf(brief, "ночной импорт заявок из 1С в CRM"), "5", pDmitri, msk(2, 11, 0), due(msk(9, 19, 0)),
			say{at: msk(2, 11, 5), who: pavel, text: "Добрый день! Заявки из 1С перестали попадать в CRM после обновления."},
			say{at: msk(2, 12, 40), who: ref(pAnna), text: "Павел, добрый день! Проверяем, Дмитрий уже смотрит логи."},
			say{at: msk(2, 12, 41), who: ref(pAnna), old: "1", new: "2"},
			say{at: msk(5, 16, 0), who: ref(pDmitri), text: "Исправили формат даты в выгрузке, импорт снова идёт."},
			say{at: msk(5, 16, 1), who: ref(pDmitri), old: "2", new: "3"},
			say{at: msk(6, 10, 30), who: pavel, text: "Проверили, всё работает. Спасибо!"},
			say{at: msk(6, 10, 55), who: ref(pAnna), text: "Спасибо, Павел! Закрываем задачу."},
			say{at: msk(6, 11, 0), who: ref(pAnna), old: "3", new: "5"}),
		task("4102", "Отчёт по водителям за месяц", fmt.Sprintf(brief, "отчёт по рейсам водителей с фильтром по месяцу"), "3", pElena, msk(9, 10, 0), due(msk(13, 19, 0)),
			say{at: msk(9, 10, 20), who: ref(pAnna), old: "1", new: "2"},
			say{at: msk(10, 17, 0), who: ref(pElena), text: "Отчёт готов на тестовом стенде, посмотрите, пожалуйста."},
			say{at: msk(10, 17, 1), who: ref(pElena), old: "2", new: "3"}),
		task("4103", "Доступы к API перевозчика", "<p>Нужны ключи API перевозчика для интеграции.</p>", "4", pDmitri, msk(11, 10, 0), nil,
			say{at: msk(11, 10, 30), who: ref(pAnna), text: "Павел, пришлите, пожалуйста, ключи API перевозчика — без них интеграцию не начать."},
			say{at: msk(11, 10, 31), who: ref(pAnna), old: "1", new: "4"}),
		task("4104", "Ошибка при печати накладных", "<p>Накладная печатается без номера заказа.</p>", "2", pDmitri, msk(16, 10, 0), due(msk(18, 19, 0)),
			say{at: msk(16, 10, 2), who: pavel, text: "Накладные печатаются без номера заказа, склад стоит. Посмотрите срочно."},
			say{at: msk(16, 11, 15), who: ref(pAnna), text: "Павел, приняли, чиним в первую очередь."},
			say{at: msk(16, 11, 16), who: ref(pAnna), old: "1", new: "2"}),
		task("4105", "Новые статусы заказов", fmt.Sprintf(brief, "статусы «Погружен» и «В пути» в карточке заказа"), "2", pElena, msk(17, 12, 0), due(msk(27, 19, 0)),
			say{at: msk(17, 12, 30), who: ref(pAnna), old: "1", new: "2"},
			say{at: msk(18, 12, 0), who: pavel, text: "Добавьте ещё статус «Доставлен частично», пожалуйста."}),
		task("4106", "Выгрузка в Excel", "", "1", pElena, msk(19, 17, 0), nil,
			say{at: msk(19, 17, 0), who: pavel, text: "Нужна выгрузка списка заказов в Excel. Это можно сделать до конца месяца?"},
			say{at: msk(20, 15, 0), who: ref(pElena), text: "Павел, да, успеем — пришлём оценку в понедельник."}),
	}
	st.PlanFixTasks += len(ex.Tasks)
	enc := json.NewEncoder(w)
	enc.SetIndent("", " ")
	enc.SetEscapeHTML(false)
	return enc.Encode(ex)
}

// writePlanfixHours is the Everhour report of the PlanFix project: work
// on its tasks by Elena and Dmitri, and Anna's calls, about 30 h a month
// from September.
func writePlanfixHours(w *bufio.Writer, seed uint64, st *Stats) error {
	r := newRnd(seed, "planfix-time", 0)
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	if err := cw.Write(everhourHeader); err != nil {
		return err
	}
	tasks := []string{"Импорт заявок из 1С", "Отчёт по водителям за месяц", "Доступы к API перевозчика", "Ошибка при печати накладных", "Новые статусы заказов", "Поддержка CRM"}
	start := time.Date(2026, 9, 1, 0, 0, 0, 0, berlin)
	for day := start; day.Before(historyEnd); day = day.AddDate(0, 0, 1) {
		if !isWorkday(day) {
			continue
		}
		for _, who := range []int{pDmitri, pElena, pAnna} {
			if !r.chance(45) {
				continue
			}
			minutes, tags, task := pick(r, []int{30, 45, 60, 90, 120}), "", pick(r, tasks)
			if who == pAnna {
				minutes, tags, task = pick(r, []int{15, 30}), "communication", "Созвон с клиентом"
			}
			rec := []string{day.Format(time.DateOnly), people[who].name, people[who].email, deltaClient, deltaProject, task, "",
				tags, "", fmt.Sprintf("%d:%02d", minutes/60, minutes%60), "yes"}
			if err := cw.Write(rec); err != nil {
				return err
			}
			st.PlanFixTimeEntries++
		}
	}
	cw.Flush()
	return cw.Error()
}
