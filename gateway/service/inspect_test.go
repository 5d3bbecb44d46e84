package service

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"carebed/gateway/auth"
	"carebed/gateway/inspect"
	"carebed/gateway/registry"
)

// postForm posts a form with a bearer token and returns the status and body (after
// the redirect to the page).
func postForm(t *testing.T, target, token string, form url.Values) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, target, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestInspectionResultsInConsole: a month's draw (as `gateway report inspect` stores
// it) shows on the console's 抽查 page to each user for their area; the county's staff
// enter results, which are stored for the monthly report; nobody else can.
func TestInspectionResultsInConsole(t *testing.T) {
	e := newEnv(t, true)
	e.register(deviceIDs("bed", 3))
	if err := os.MkdirAll(e.cfg.DataDir, 0o750); err != nil {
		t.Fatal(err)
	}
	st, err := inspect.Open(filepath.Join(e.cfg.DataDir, inspect.FileName), "")
	if err != nil {
		t.Fatal(err)
	}
	nov := inspect.Month{Year: 2026, Month: 11}
	place := func(i int) registry.Place {
		return registry.Place{County: "和静县", Township: "巴润哈尔莫敦镇", Village: "村00", Home: []string{"H-00000", "H-00002"}[i]}
	}
	rec := inspect.Record{Month: nov, Seed: 42, DrawnAt: time.Now(), Entries: []inspect.Entry{
		{Drawn: inspect.Drawn{Facts: inspect.Facts{Place: place(0), Overdue: 1}, Inspector: inspect.Inspector{Name: "张三", Unit: "县民政局"}}},
		{Drawn: inspect.Drawn{Facts: inspect.Facts{Place: place(1)}, Inspector: inspect.Inspector{Name: "李四"}}},
	}}
	if err := st.Save(context.Background(), rec); err != nil {
		t.Fatal(err)
	}
	st.Close()
	admin := e.countyAdmin("和静县")
	duty := e.addUser(registry.User{Name: "duty", Display: "值班员", Role: auth.RoleTownshipDuty, County: "和静县", Township: "巴润哈尔莫敦镇"}, "")
	other := e.addUser(registry.User{Name: "admin-hs", Display: "和硕县管理员", Role: auth.RoleCountyAdmin, County: "和硕县"}, "")
	r := e.start()
	page := "http://" + r.g.HTTPAddr() + "/console/inspect"

	code, body := call(t, "GET", page+"?month=2026-11", admin, "")
	if code != 200 || !strings.Contains(body, `id="inspect-H-00000"`) || !strings.Contains(body, "张三（县民政局）") ||
		!strings.Contains(body, "公开种子 42") || strings.Count(body, `name="outcome"`) != 2 {
		t.Fatalf("county's page: %d\n%s", code, body)
	}
	if code, body := call(t, "GET", page+"?month=2026-11", duty, ""); code != 200 || !strings.Contains(body, `id="inspect-H-00002"`) ||
		strings.Contains(body, `name="outcome"`) {
		t.Errorf("township's page (read only): %d\n%s", code, body)
	}
	if code, body := call(t, "GET", page+"?month=2026-11", other, ""); code != 200 || strings.Contains(body, "H-0000") {
		t.Errorf("another county's page: %d\n%s", code, body)
	}
	if code, body := call(t, "GET", page+"?month=2026-10", admin, ""); code != 200 || !strings.Contains(body, `id="inspect-none"`) {
		t.Errorf("a month not drawn: %d\n%s", code, body)
	}

	for _, tt := range []struct {
		token string
		form  url.Values
		code  int
		want  string
	}{
		{duty, url.Values{"month": {"2026-11"}, "home": {"H-00000"}, "outcome": {"pass"}}, 403, "只有县级用户可以填写检查结果"},
		{other, url.Values{"month": {"2026-11"}, "home": {"H-00000"}, "outcome": {"pass"}}, 400, "这个月没有抽中您辖区的这一户：H-00000"},
		{admin, url.Values{"month": {"2026-11"}, "home": {"H-00001"}, "outcome": {"pass"}}, 400, "这个月没有抽中您辖区的这一户：H-00001"},
		{admin, url.Values{"month": {"2026-11"}, "home": {"H-00000"}, "outcome": {"ok"}}, 400, "检查结果请选"},
		{admin, url.Values{"month": {"11-2026"}, "home": {"H-00000"}, "outcome": {"pass"}}, 400, "月份请写成 2026-11 这样"},
		{admin, url.Values{"month": {"2026-11"}, "home": {"H-00000"}, "outcome": {"fix"}, "note": {"护理记录不全"}}, 200, "检查结果已保存"},
	} {
		if code, body := postForm(t, page, tt.token, tt.form); code != tt.code || !strings.Contains(body, tt.want) {
			t.Errorf("%v: %d, want %d and %q\n%s", tt.form, code, tt.code, tt.want, body)
		}
	}
	got, err := inspect.ReadMonth(context.Background(), e.cfg.DataDir, e.cfg.Database.URL, nov)
	if err != nil || len(got.Entries) != 2 {
		t.Fatalf("stored: %+v %v", got, err)
	}
	if res := got.Entries[0].Result; res.Outcome != inspect.OutcomeFix || res.Note != "护理记录不全" || res.By != "县管理员" {
		t.Errorf("H-00000's result: %+v", res)
	}
	if res := got.Entries[1].Result; res.Outcome != inspect.OutcomePending {
		t.Errorf("H-00002's result changed: %+v", res)
	}
	if _, body := call(t, "GET", page+"?month=2026-11", duty, ""); !strings.Contains(body, "限期整改") || !strings.Contains(body, "护理记录不全") {
		t.Errorf("the result is not shown:\n%s", body)
	}
}
