package influxread

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestSeriesAndQuery(t *testing.T) {
	var got *http.Request
	answers := map[string]struct {
		status int
		body   string
	}{
		"ok": {200, `{"results":[{"statement_id":0,"series":[{"name":"telemetry","tags":{"home":"H-1"},` +
			`"columns":["time","device","hr","occupied"],"values":[[1700000000000,"bed-1",72,true],[1700000001000,"bed-1",null,false]]}]}]}`},
		"statement error": {200, `{"results":[{"statement_id":0,"error":"database not found: x"}]}`},
		"refused":         {401, `{"error":"authorization failed"}`},
		"proxy page":      {502, `<html>bad gateway</html>`},
		"empty":           {200, `{"results":[{"statement_id":0}]}`},
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm() //nolint:errcheck // checked through got
		got = r
		a := answers[r.PostForm.Get("q")]
		w.WriteHeader(a.status)
		w.Write([]byte(a.body)) //nolint:errcheck // test server
	}))
	defer srv.Close()
	c := New(srv.URL, "carebed/autogen", "user:pw")
	ctx := context.Background()

	rows, err := c.Query(ctx, "ok")
	if err != nil || len(rows) != 2 {
		t.Fatalf("Query: %v %v", rows, err)
	}
	if !rows[0].Time.Equal(time.UnixMilli(1700000000000)) || rows[0].Values["hr"] != json.Number("72") ||
		rows[0].Values["occupied"] != true || rows[1].Values["hr"] != nil {
		t.Errorf("rows %+v", rows)
	}
	if f := got.PostForm; f.Get("db") != "carebed" || f.Get("rp") != "autogen" || f.Get("epoch") != "ms" ||
		got.Header.Get("Authorization") != "Token user:pw" || got.Method != http.MethodPost {
		t.Errorf("request %s %v %v", got.Method, f, got.Header)
	}
	ss, err := c.Series(ctx, "ok")
	if err != nil || len(ss) != 1 || ss[0].Tags["home"] != "H-1" || ss[0].Name != "telemetry" {
		t.Errorf("Series: %+v %v", ss, err)
	}
	if rows, err := c.Query(ctx, "empty"); err != nil || rows != nil {
		t.Errorf("no series: %v %v", rows, err)
	}
	for _, q := range []string{"statement error", "refused", "proxy page"} {
		if _, err := c.Series(ctx, q); err == nil {
			t.Errorf("%s: no error", q)
		}
	}
}

func TestQuote(t *testing.T) {
	if got := Quote(`H-1' OR '1'='1`); got != `'H-1\' OR \'1\'=\'1'` {
		t.Errorf("Quote = %s", got)
	}
	if got := Quote(`a\b`); !strings.Contains(got, `a\\b`) {
		t.Errorf("Quote = %s", got)
	}
}
