package service

import (
	"path/filepath"

	"carebed/gateway/console"
	"carebed/gateway/inspect"
)

// buildInspectPage opens the inspection draws (inspect.db, written by `gateway report
// inspect`) for the console's 抽查 page, where the county enters the results.
func (g *Gateway) buildInspectPage(c *console.Console) error {
	st, err := inspect.Open(filepath.Join(g.cfg.DataDir, inspect.FileName), g.cfg.Database.URL)
	if err != nil {
		return err
	}
	g.closers = append(g.closers, st.Close)
	g.inspectPage, err = console.NewInspectPage(c, st)
	return err
}
