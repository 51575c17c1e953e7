package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// testWebInBrowser drives a real headless Chromium through the web UI:
// sign in, see a demo breach on the overview, read the burn chart's
// numbers off Бетта's October page (they are karkas report hours'), waive
// a clock and see it waived, open Acme's cabinet and find only Acme there,
// get a clear page for an altered link, see the hostile card title as
// text with no script run, and fit a phone's width. The overview and the
// client page are the README's screenshots: KARKAS_UPDATE_SCREENSHOTS=1
// writes them to docs/screenshots.
func testWebInBrowser(t *testing.T, w *webDemo, clockID, cabinetLink string) {
	browser := chromiumPath(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(browser), chromedp.NoSandbox,
		chromedp.Flag("disable-gpu", true), chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 900),
		chromedp.Flag("hide-scrollbars", true))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancelCtx := chromedp.NewContext(actx)
	defer cancelCtx()
	ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	// A dialog is a script that ran: there must be none.
	var dialogs atomic.Int32
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting Chromium: %v", err)
	}
	go func() {
		for _, err := range chromedp.Events(ctx, page.JavascriptDialogOpening) {
			if err != nil {
				return
			}
			dialogs.Add(1)
			chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: false})
		}
	}()
	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	do("sign in",
		chromedp.Navigate(w.base+"/"),
		chromedp.WaitVisible(`input[name=name]`),
		chromedp.SendKeys(`input[name=name]`, "admin"),
		chromedp.SendKeys(`input[name=password]`, w.passwords["admin"]),
		chromedp.Click(`form[action="/login"] button[type=submit]`),
		chromedp.WaitVisible(`table.clocks`),
	)
	breached := value(t, ctx, "breaches", chromedp.Evaluate[int](`document.querySelectorAll('table.clocks tr.st-breached').length`))
	overview := value(t, ctx, "screenshot", chromedp.CaptureScreenshot())
	if breached == 0 {
		t.Error("the overview shows no breach of the demo")
	}

	// The burn chart's numbers are the report's.
	code, out, errOut := runCLI(t, w.env, "report", "hours", "-c", w.config, "--client", "betta", "--period", "2026-10", "--format", "json")
	if code != exitOK {
		t.Fatalf("report hours: %d\n%s", code, errOut)
	}
	var rep struct {
		Budget struct {
			BudgetHours float64 `json:"budget_hours"`
			UsedHours   float64 `json:"used_hours"`
		} `json:"budget"`
		Chart struct {
			Points []struct {
				First             string `json:"first"`
				Last              string `json:"last"`
				Seconds           int64  `json:"seconds"`
				CumulativeSeconds int64  `json:"cumulative_seconds"`
			} `json:"points"`
		} `json:"chart"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	do("Бетта's October", chromedp.Navigate(w.base+"/clients/betta?period=2026-10"), chromedp.WaitVisible(`#burn-data`))
	rows := value(t, ctx, "chart rows", chromedp.Evaluate[[][]any](`Array.from(document.querySelectorAll('#burn-data tbody tr')).map(r =>
		[r.dataset.first, r.dataset.last, Number(r.dataset.seconds), Number(r.dataset.cumulativeSeconds)])`))
	used := value(t, ctx, "used hours", chromedp.Text(`#used-hours`))
	budget := value(t, ctx, "budget hours", chromedp.Text(`#budget-hours`))
	client := value(t, ctx, "screenshot", chromedp.CaptureScreenshot())
	if len(rows) == 0 || len(rows) != len(rep.Chart.Points) {
		t.Fatalf("the chart has %d points on the page, %d in the report", len(rows), len(rep.Chart.Points))
	}
	for i, p := range rep.Chart.Points {
		want := []any{p.First, p.Last, float64(p.Seconds), float64(p.CumulativeSeconds)}
		if fmt.Sprint(rows[i]) != fmt.Sprint(want) {
			t.Errorf("chart point %d: page %v, report %v", i, rows[i], want)
		}
	}
	if used != fmt.Sprintf("%.2f", rep.Budget.UsedHours) || budget != fmt.Sprintf("%.2f", rep.Budget.BudgetHours) {
		t.Errorf("the page says %s of %s hours, the report %.2f of %.2f", used, budget, rep.Budget.UsedHours, rep.Budget.BudgetHours)
	}
	pdf := value(t, ctx, "print", chromedp.Action[page.PrintToPDFResult](func(ctx context.Context, _ *chromedp.Target) (page.PrintToPDFResult, error) {
		return chromedp.Call(ctx, page.PrintToPDF, page.PrintToPDFParams{})
	}))
	if !bytes.HasPrefix(pdf.Data, []byte("%PDF-")) {
		t.Error("printing the client page gave no PDF")
	}

	// Waive a breach.
	reason := "Agreed with John on the call: the client was away"
	do("waive",
		chromedp.Navigate(w.base+"/clocks/"+clockID),
		chromedp.WaitVisible(`form.waive textarea`),
		chromedp.SendKeys(`form.waive textarea`, reason),
		chromedp.Click(`form.waive button[type=submit]`),
		chromedp.WaitVisible(`#clock-waived`),
	)
	state := value(t, ctx, "state", chromedp.Text(`#clock-state`))
	shown := value(t, ctx, "reason", chromedp.Text(`#clock-reason`))
	if !strings.Contains(state, "waived") || !strings.Contains(shown, reason) || !strings.Contains(shown, "by admin") {
		t.Errorf("after waiving: state %q, reason %q", state, shown)
	}

	// The hostile card is text; no script runs, no image loads.
	do("hostile title", chromedp.Navigate(w.base+"/clients/acme"), chromedp.WaitVisible(`table.stages`))
	scripts := value(t, ctx, "scripts", chromedp.Evaluate[int](`document.scripts.length`))
	images := value(t, ctx, "images", chromedp.Evaluate[int](`document.images.length`))
	hostile := value(t, ctx, "hostile", chromedp.Evaluate[int](fmt.Sprintf(
		`Array.from(document.querySelectorAll('td.subject')).filter(e => e.textContent === %q).length`, hostileTitle)))
	if scripts != 0 || images != 0 || hostile == 0 {
		t.Errorf("acme's page: %d scripts, %d images, the hostile title as text %d times", scripts, images, hostile)
	}

	// The cabinet: Acme only; an altered link says so.
	do("cabinet", chromedp.Navigate(cabinetLink), chromedp.WaitVisible(`h1`))
	cabinet := value(t, ctx, "cabinet", chromedp.Text(`body`))
	do("altered link", chromedp.Navigate(cabinetLink[:len(cabinetLink)-3]+"xyz"), chromedp.WaitVisible(`h1`))
	altered := value(t, ctx, "altered", chromedp.Text(`body`))
	if !strings.Contains(cabinet, "Acme Foods") || strings.Contains(cabinet, "Бетта") || strings.Contains(cabinet, "Cobalt") {
		t.Errorf("Acme's cabinet in the browser:\n%.600s", cabinet)
	}
	if !strings.Contains(altered, "not a valid cabinet link") || strings.Contains(altered, "Acme Foods") {
		t.Errorf("an altered link:\n%.400s", altered)
	}

	// A phone's width: the page does not scroll sideways (wide tables
	// scroll inside their section).
	do("phone", chromedp.EmulateViewport(390, 844), chromedp.Navigate(w.base+"/"), chromedp.WaitVisible(`table.clocks`))
	fits := value(t, ctx, "fits", chromedp.Evaluate[bool](`document.documentElement.scrollWidth <= window.innerWidth + 1`))
	phone := value(t, ctx, "screenshot", chromedp.CaptureScreenshot())
	if !fits {
		t.Error("the overview scrolls sideways at a phone's width")
	}
	if n := dialogs.Load(); n != 0 {
		t.Errorf("%d dialog(s) opened: a script ran", n)
	}

	for name, img := range map[string][]byte{"overview": overview, "client": client, "overview-phone": phone} {
		file := filepath.Join(t.TempDir(), name+".png")
		if err := os.WriteFile(file, img, 0o644); err != nil {
			t.Fatal(err)
		}
		cfg, err := png.DecodeConfig(bytes.NewReader(img))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		checkScreenshot(t, file, cfg.Width, cfg.Height)
		if keep := os.Getenv("KARKAS_SCREENSHOTS"); keep != "" {
			copyFile(t, file, filepath.Join(keep, "web-"+name+".png"))
		}
		if os.Getenv("KARKAS_UPDATE_SCREENSHOTS") == "1" && name != "overview-phone" {
			copyFile(t, file, filepath.Join("..", "..", "docs", "screenshots", name+".png"))
		}
	}
}

// value runs one action in the browser and returns its value.
func value[T any](t *testing.T, ctx context.Context, what string, a chromedp.Action[T]) T {
	t.Helper()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return v
}
