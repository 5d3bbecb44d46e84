// Package board defines carebed's Grafana dashboards as code: 乡镇值班 (township
// duty), 家庭 (one home), 设备 (the device fleet) and 网关运行 (the gateway itself).
// One function per panel; queries are InfluxQL (dashboards/influxql) on the
// InfluxDB datasource and PromQL on the Prometheus datasource, referenced by the uids
// of dashboards/provisioning. cmd/gen writes the boards as JSON into dashboards/json.
package board

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
)

// Board is one dashboard and the name of its JSON file.
type Board struct {
	File      string
	Dashboard dashboard.Dashboard
}

// All builds every board.
func All() ([]Board, error) {
	defs := []struct {
		file string
		b    *dashboard.DashboardBuilder
	}{{"duty.json", duty()}, {"home.json", home()}, {"fleet.json", fleet()}, {"gateway.json", gatewayOps()}}
	out := make([]Board, len(defs))
	for i, d := range defs {
		db, err := d.b.Build()
		if err != nil {
			return nil, fmt.Errorf("board %s: %w", d.file, err)
		}
		out[i] = Board{File: d.file, Dashboard: db}
	}
	return out, nil
}

// JSON is the board as Grafana reads it: indented, ending with a newline.
func (b Board) JSON() ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(b.Dashboard); err != nil {
		return nil, fmt.Errorf("board %s: %w", b.File, err)
	}
	return unescapeHTML(buf.Bytes()), nil
}

// unescapeHTML undoes the \u003c, \u003e and \u0026 escapes that the SDK's own
// marshalling writes for <, > and &, so queries read as written. It skips escaped
// backslashes, so a literal backslash-u in a string stays as it is.
func unescapeHTML(js []byte) []byte {
	out := make([]byte, 0, len(js))
	for i := 0; i < len(js); i++ {
		if js[i] != '\\' || i+1 == len(js) {
			out = append(out, js[i])
			continue
		}
		if c, ok := htmlEscapes[string(js[i+1:min(i+6, len(js))])]; ok {
			out = append(out, c)
			i += 5
			continue
		}
		out = append(out, js[i], js[i+1])
		i++
	}
	return out
}

var htmlEscapes = map[string]byte{"u003c": '<', "u003e": '>', "u0026": '&'}

// Write writes every board's JSON file into dir.
func Write(dir string) error {
	boards, err := All()
	if err != nil {
		return err
	}
	for _, b := range boards {
		js, err := b.JSON()
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, b.File), js, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// newBoard starts a board with what all of them share: tag, links to the others
// (keeping the time range and variables), read-only (provisioned from files),
// refreshed every minute.
func newBoard(uid, title, description, from string) *dashboard.DashboardBuilder {
	others := dashboard.NewDashboardLinkBuilder("carebed 看板 boards").Type(dashboard.DashboardLinkTypeDashboards).
		Tags([]string{"carebed"}).AsDropdown(true).IncludeVars(true).KeepTime(true)
	return dashboard.NewDashboardBuilder(title).Uid(uid).Description(description).Tags([]string{"carebed"}).
		Timezone("browser").Time(from, "now").Refresh("1m").Readonly().
		Tooltip(dashboard.DashboardCursorSyncCrosshair).Link(others)
}
