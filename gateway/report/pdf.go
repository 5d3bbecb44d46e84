package report

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/chromedp/chromedp"
)

// ErrNoChromium is returned by PrintPDF when no Chromium is found.
var ErrNoChromium = errors.New("report: no Chromium to print the PDF with (install chromium, or set CAREBED_CHROMIUM)")

// FindChromium returns the Chromium to print with: env (CAREBED_CHROMIUM) when
// set, else chromium or chromium-browser on the PATH.
func FindChromium(env string) (string, error) {
	if env != "" {
		return env, nil
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", ErrNoChromium
}

// Printer is a headless Chromium that prints pages to PDF.
type Printer struct {
	bin     string
	ctx     context.Context
	cancels []context.CancelFunc
}

// NewPrinter starts Chromium (bin). Close stops it.
func NewPrinter(ctx context.Context, bin string) (*Printer, error) {
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(bin), chromedp.NoSandbox)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.WithoutCancel(ctx), opts...)
	bctx, cancel := chromedp.NewContext(alloc)
	p := &Printer{bin: bin, ctx: bctx, cancels: []context.CancelFunc{cancel, cancelAlloc}}
	if err := chromedp.Do(bctx, chromedp.Navigate("about:blank")); err != nil {
		p.Close()
		return nil, fmt.Errorf("report: starting %s: %w", bin, err)
	}
	return p, nil
}

// Close stops Chromium.
func (p *Printer) Close() {
	for _, c := range p.cancels {
		c()
	}
}

// Print opens the HTML file page and prints it on A4 paper, with the page number
// at the foot of each page.
func (p *Printer) Print(ctx context.Context, page string) ([]byte, error) {
	abs, err := filepath.Abs(page)
	if err != nil {
		return nil, err
	}
	tctx, stop := context.WithTimeout(p.ctx, 2*time.Minute)
	defer stop()
	go func() { // the caller's end stops the print too
		select {
		case <-ctx.Done():
			stop()
		case <-tctx.Done():
		}
	}()
	u := (&url.URL{Scheme: "file", Path: filepath.ToSlash(abs)}).String()
	if err := chromedp.Do(tctx, chromedp.Navigate(u)); err != nil {
		return nil, fmt.Errorf("report: opening %s: %w", page, err)
	}
	pdf, err := chromedp.Run(tctx, chromedp.PrintToPDF(
		chromedp.PDFPaper(chromedp.PaperA4), chromedp.PDFMargins(0.5, 0.4, 0.6, 0.4), chromedp.PDFPrintBackground(),
		chromedp.PDFHeaderTemplate(`<div></div>`),
		chromedp.PDFFooterTemplate(`<div style="font-size:8px;width:100%;text-align:center;color:#666"><span class="pageNumber"></span> / <span class="totalPages"></span></div>`),
	))
	if err != nil {
		return nil, fmt.Errorf("report: printing %s: %w", page, err)
	}
	return pdf, nil
}
