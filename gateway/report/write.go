package report

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Files are the paths of one report's page, PDF and workbook.
type Files struct {
	Name            string
	HTML, PDF, XLSX string
}

// FileBase is the name (without extension) of the files of a report of the month
// for county and, when not "", one township: 2026-11-和静县 or 2026-11-和静县-巴伦台镇.
func FileBase(month, county, township string) string {
	parts := []string{month, county}
	if township != "" {
		parts = append(parts, township)
	}
	return strings.NewReplacer("/", "_", `\`, "_", " ", "_").Replace(strings.Join(parts, "-"))
}

// WriteAll writes into dir the report r (the whole county, or one township) and,
// for a county, one report per township: each as .html, .pdf (printed by pr; no PDF
// when pr is nil) and .xlsx. It returns what it wrote.
func WriteAll(ctx context.Context, r Report, dir string, pr *Printer) ([]Files, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, err
	}
	reports := []Report{r}
	if r.Scope.Township == "" {
		for _, p := range r.Parts {
			if p.Township != "" {
				one := r
				one.Scope.Township, one.Parts = p.Township, []Part{p}
				reports = append(reports, one)
			}
		}
	}
	var out []Files
	for _, one := range reports {
		f, err := writeOne(ctx, one, dir, pr)
		if err != nil {
			return out, err
		}
		out = append(out, f)
	}
	return out, nil
}

func writeOne(ctx context.Context, r Report, dir string, pr *Printer) (Files, error) {
	base := filepath.Join(dir, FileBase(r.Month.Label, r.Scope.County, r.Scope.Township))
	f := Files{Name: r.Title(), HTML: base + ".html", XLSX: base + ".xlsx"}
	var page, book bytes.Buffer
	if err := r.WriteHTML(&page); err != nil {
		return f, fmt.Errorf("report: page: %w", err)
	}
	if err := os.WriteFile(f.HTML, page.Bytes(), 0o640); err != nil {
		return f, err
	}
	if err := r.WriteXLSX(&book); err != nil {
		return f, fmt.Errorf("report: workbook: %w", err)
	}
	if err := os.WriteFile(f.XLSX, book.Bytes(), 0o640); err != nil {
		return f, err
	}
	if pr == nil {
		return f, nil
	}
	pdf, err := pr.Print(ctx, f.HTML)
	if err != nil {
		return f, err
	}
	f.PDF = base + ".pdf"
	return f, os.WriteFile(f.PDF, pdf, 0o640)
}
