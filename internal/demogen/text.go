package demogen

import (
	"fmt"
	"strings"
)

// Card names are built from a subject and a piece of work, per board.
var cardSubjects = map[string][]string{
	"acme": {"Homepage", "Recipe pages", "Product catalogue", "Checkout", "Store locator",
		"Newsletter signup", "Blog", "About us", "Autumn campaign landing", "Nutrition table",
		"Cookie banner", "Search", "Footer", "Mobile menu", "Careers page", "Product page"},
	"betta": {"Лендинг «Дома из бруса»", "Пост ВКонтакте", "Статья в блог", "Рассылка",
		"Баннер для Яндекс.Директ", "Буклет для выставки", "Кейс «Коттедж в Истре»", "Прайс-лист",
		"Отзывы клиентов", "Видео для Telegram", "Карточки для Авито", "Сайт: раздел «Ипотека»",
		"Landing page (EN)", "Презентация для банка"},
	"cobalt": {"Onboarding", "Auth", "Payments", "Push notifications", "Settings screen", "API",
		"Android", "iOS", "Dashboard", "Sync engine", "Crash reporting", "Dark mode", "Billing page"},
}

var cardWork = map[string][]string{
	"acme": {"redesign hero section", "fix layout on mobile", "update copy", "add filters",
		"compress images", "Spanish translation", "A/B test headline", "fix broken links",
		"new photo set", "accessibility pass", "SEO meta tags", "GA4 tracking events",
		"add print button", "fix price rounding", "lazy-load videos"},
	"betta": {"подготовить текст", "согласовать макет", "обновить фото", "сверстать",
		"исправить опечатки", "добавить цены на 2027 год", "сделать сторис", "выгрузить в CRM",
		"перевести на английский", "собрать семантику", "подобрать изображения", "написать анонс"},
	"cobalt": {"email verification flow", "fix crash on launch", "retry on 503", "pagination for history",
		"upgrade SDK", "unit tests for reducer", "refresh token rotation", "empty state illustrations",
		"deep links", "rate limit handling", "offline mode", "fix memory leak", "migrate to new endpoint"},
}

// cardPrefixes decorate a few names the way real boards do.
var cardPrefixes = []string{"", "", "", "", "", "", "", "", "Bug: ", "🔥 Hotfix: ", "[Q4] ", "v2 — "}

func cardName(r rnd, b *board) string {
	prefix := pick(r, cardPrefixes)
	if b.russian && r.chance(50) {
		prefix = ""
	}
	return prefix + pick(r, cardSubjects[b.key]) + ": " + pick(r, cardWork[b.key])
}

var descGoals = map[string][]string{
	"en": {"Make the page load under 2 s on 4G.", "The client wants this live before the campaign starts.",
		"Follow the brand book v3 (colours, type scale).", "Agreed on the call on Monday.",
		"Keep the current URLs, marketing has links out there.", "Needs sign-off from legal."},
	"ru": {"Согласовано на созвоне в понедельник.", "Нужно успеть до начала рекламной кампании.",
		"Использовать новый фирменный стиль (брендбук v3).", "Тексты — от Игоря, фото — с объекта.",
		"Цены уточнить у отдела продаж.", "Ссылки на старые страницы не ломать."},
}

var descItems = map[string][]string{
	"en": {"desktop + mobile mock-ups", "copy from the client", "tracking plan", "QA on Safari",
		"alt texts for images", "redirects for old URLs", "release notes", "screenshots for the store"},
	"ru": {"макет для десктопа и мобильных", "текст от клиента", "фото объекта", "проверка в Safari",
		"alt-тексты для картинок", "UTM-метки", "согласование с юристом", "выгрузка в CRM"},
}

func cardDesc(r rnd, b *board) string {
	lang := b.lang()
	var s strings.Builder
	if lang == "ru" {
		s.WriteString("**Задача:** ")
	} else {
		s.WriteString("**Goal:** ")
	}
	s.WriteString(pick(r, descGoals[lang]))
	s.WriteString("\n\n")
	for range r.between(1, 4) {
		s.WriteString("- ")
		s.WriteString(pick(r, descItems[lang]))
		s.WriteString("\n")
	}
	if r.chance(30) {
		fmt.Fprintf(&s, "\nBrief: https://docs.google.com/document/d/%s/edit", r.alnum(20))
	}
	return strings.TrimRight(s.String(), "\n")
}

var checkItems = map[string][]string{
	"en": {"Mock-up", "Copy approved", "Implementation", "QA desktop", "QA mobile", "Client sign-off", "Deploy", "Analytics check"},
	"ru": {"Макет", "Текст согласован", "Вёрстка", "Проверка на десктопе", "Проверка на телефоне", "Согласование с клиентом", "Публикация"},
}

// Comment texts by situation and language. %s is a mention of the client.
var commentTexts = map[string]map[string][]string{
	"progress": {
		"en": {"Started on this, first draft by tomorrow.", "Half done, waiting for the final photos.",
			"Pushed a first version to staging.", "Found an edge case with long product names, fixing.",
			"Blocked by the API change, talked to Boris.", "Done on desktop, mobile next."},
		"ru": {"Взяла в работу, черновик завтра.", "Готово наполовину, ждём фото с объекта.",
			"Первая версия на тестовом сайте.", "Нашла опечатку в прайсе, поправила.",
			"Текст готов, отдаю на вёрстку."},
	},
	"sendback": {
		"en": {"Not quite: the spacing on mobile is off, see screenshot.", "Please fix the typos in the second paragraph.",
			"Tests fail on CI, sending back.", "Colours don't match the brand book, please redo.",
			"Missing the empty state, back to Doing."},
		"ru": {"Нужно поправить отступы на мобильной версии.", "В тексте опечатки, верните, пожалуйста, в работу.",
			"Цены не совпадают с прайсом, переделать.", "Фото не то, нужно с объекта в Истре."},
	},
	"ask": {
		"en": {"%s could you have a look and approve?", "%s this is ready for your review on staging.",
			"%s we need the final copy from you to continue.", "%s please confirm the prices before we publish."},
		"ru": {"%s посмотрите, пожалуйста, и согласуйте.", "%s готово к проверке, ссылка в описании.",
			"%s нужен финальный текст от вас, без него не можем продолжить.", "%s подтвердите цены, пожалуйста."},
	},
	"approve": {
		"en": {"Looks great, approved!", "OK from my side, go ahead.", "Approved, but please change the headline to \"Fresh every day\".",
			"Thanks, looks good."},
		"ru": {"Всё отлично, согласовано!", "Ок, можно публиковать.", "Согласовано, только заголовок поменяйте на «Дома под ключ».",
			"Спасибо, принято."},
	},
	"question": {
		"en": {"When can we expect this to go live?", "Can we also add the new logo here?", "Is this included in our monthly hours?",
			"Why is this taking so long? Our campaign starts Monday.", "Quick question: will this work on the old iPads in our stores?",
			"Could we see a preview before Friday?"},
		"ru": {"Когда будет готово?", "А можно добавить сюда новый логотип?", "Это входит в наши часы по договору?",
			"Почему так долго? Выставка уже в понедельник.", "Можно посмотреть черновик до пятницы?"},
	},
	"answer": {
		"en": {"%s yes, we can do that by Thursday.", "%s good question: it's part of the monthly hours, no extra cost.",
			"%s sorry for the delay, the preview is on staging now.", "%s we'll add it, it's a small change.",
			"%s this one is outside the contract, I'll send an estimate."},
		"ru": {"%s да, успеем к четвергу.", "%s входит в часы по договору.", "%s извините за задержку, черновик уже на тестовом сайте.",
			"%s добавим, это быстро.", "%s это вне договора, пришлю оценку."},
	},
	"note": {
		"en": {"Moved here from the call notes.", "Low priority, let's revisit next month.", "Needs estimate."},
		"ru": {"Из заметок со созвона.", "Не срочно, вернёмся в следующем месяце.", "Нужна оценка."},
	},
}

func commentText(r rnd, kind string, russian bool, mention string) string {
	lang := "en"
	if russian {
		lang = "ru"
	}
	t := pick(r, commentTexts[kind][lang])
	if strings.Contains(t, "%s") {
		t = fmt.Sprintf(t, mention)
	}
	if kind == "progress" && r.chance(10) {
		t += "\n\nPR: https://github.com/northwind-digital/site/pull/" + fmt.Sprint(r.between(100, 999))
	}
	return t
}

// Time-tracker texts.
var entryComments = map[string][]string{
	"en": {"", "", "", "", "layout fixes", "call with client", "copy edits, \"hero\" banner", "QA",
		"review comments", "deploy + smoke test", "estimates", "research", "emails"},
	"ru": {"", "", "", "", "правки по тексту", "созвон с Ольгой", "вёрстка, правки", "подбор фото",
		"ответы на письма", "публикация", "правки «по мелочи»"},
}

var nonCardTasks = map[string][]string{
	"en": {"Account management", "Weekly call", "Email correspondence", "Monthly report"},
	"ru": {"Ведение проекта", "Еженедельный созвон", "Переписка с клиентом", "Отчёт за месяц"},
}

var internalTasks = []string{"Team meeting", "Hiring interviews", "Internal tools", "Sales: proposal for a new client",
	"Learning", "Admin", "Northwind website", "1:1"}

// Mail texts.
var mailSubjects = map[string][]string{
	"acme": {"Homepage banner for the autumn campaign", "Recipe pages — feedback", "Question about the invoice",
		"New product photos", "Store locator not working on my phone", "Copy for the careers page",
		"Monthly hours report", "Spanish version of the site", "Meeting next week?", "Urgent: price typo on the product page"},
	"betta": {"Правки по лендингу", "Фото с объекта в Истре", "Счёт за октябрь", "Тексты для рассылки",
		"Баннеры для Директа", "Выставка «Стройэкспо»", "Срочно: ошибка в ценах", "Созвон в четверг?",
		"Отчёт по часам за месяц", "Новый раздел «Ипотека»"},
	"cobalt": {"Sprint review notes", "Crash reports from the beta", "API rate limits", "App Store submission",
		"Payments provider switch", "Question about the estimate", "Push notification copy", "Dark mode designs",
		"Billing page feedback"},
}

var mailOpen = map[string][]string{
	"client-en": {"Hi %s,", "Hello %s,", "Hi %s!", "%s,"},
	"agency-en": {"Hi %s,", "Hello %s,", "Dear %s,"},
	"client-ru": {"Добрый день, %s!", "Здравствуйте, %s.", "%s, привет!"},
	"agency-ru": {"Добрый день, %s!", "Здравствуйте, %s!"},
}

var mailBody = map[string][]string{
	"client-en": {"Could you send us an update on where this stands?", "We had a look at the draft and have a few comments, see below.",
		"Our marketing team needs this before Friday, is that doable?", "The numbers on the product page are wrong again.",
		"From our side everything is ready, we just need your final version.", "Attached are the new photos from the shoot.",
		"Can we jump on a quick call tomorrow morning?", "I'm not sure this is in scope, can you check?"},
	"agency-en": {"Thanks for the feedback, we are on it.", "Here is the status: design is done, development is in progress.",
		"We can deliver this by Thursday.", "I've attached the estimate for the extra work.",
		"The fix is live, please check on your side.", "From our side the release is ready, waiting for your go.",
		"Sorry for the late reply, we had a busy week."},
	"client-ru": {"Подскажите, пожалуйста, на каком этапе работа?", "Посмотрели черновик, есть несколько правок.",
		"Нам нужно это до пятницы, успеете?", "На сайте опять неправильные цены.", "Фото с объекта во вложении.",
		"Можем созвониться завтра утром?", "Не уверена, что это входит в договор, уточните."},
	"agency-ru": {"Спасибо, взяли в работу.", "Статус такой: макет готов, вёрстка в процессе.",
		"Успеем к четвергу.", "Оценку дополнительных работ прикладываю.", "Исправили, проверьте, пожалуйста.",
		"Извините за задержку с ответом."},
}

var mailSign = map[string]string{
	"agency-en": "Best regards,\n%s\nNorthwind Digital | northwind.agency",
	"agency-ru": "С уважением,\n%s\nNorthwind Digital",
	"client-en": "Thanks,\n%s",
	"client-ru": "Спасибо,\n%s",
}
