package report

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// Formats a Maker writes.
const (
	FormatHTML = "html"
	FormatPDF  = "pdf"
	FormatXLSX = "xlsx"
)

// Maker builds a report when someone asks for one (the console's 月报 page).
type Maker struct {
	// Sources reads what a report is built from, fresh for each report.
	Sources func(ctx context.Context) (Sources, error)
	// Chromium prints the PDF; "" when there is none (a PDF is then refused with
	// ErrNoChromium).
	Chromium string
	Now      func() time.Time
}

// Make writes the month's report of the scope in format (html, pdf or xlsx) to w.
// Bad input gives an error wrapping ErrFlag.
func (m Maker) Make(ctx context.Context, month string, s Scope, format string, w io.Writer) error {
	src, err := m.Sources(ctx)
	if err != nil {
		return err
	}
	now := m.Now()
	mon, err := ParseMonth(month, now, src.Policy.Location())
	if err != nil {
		return err
	}
	if s, err = CheckScope(s, src.Homes); err != nil {
		return err
	}
	r, err := Build(ctx, src, mon, s, now)
	if err != nil {
		return err
	}
	switch format {
	case FormatHTML:
		return r.WriteHTML(w)
	case FormatXLSX:
		return r.WriteXLSX(w)
	case FormatPDF:
		return m.pdf(ctx, r, w)
	}
	return fmt.Errorf("%w: format %q: want html, pdf or xlsx", ErrFlag, format)
}

func (m Maker) pdf(ctx context.Context, r Report, w io.Writer) error {
	if m.Chromium == "" {
		return ErrNoChromium
	}
	dir, err := os.MkdirTemp("", "carebed-report-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	page := filepath.Join(dir, "report.html")
	f, err := os.Create(page)
	if err != nil {
		return err
	}
	if err := r.WriteHTML(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	pr, err := NewPrinter(ctx, m.Chromium)
	if err != nil {
		return err
	}
	defer pr.Close()
	b, err := pr.Print(ctx, page)
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}
