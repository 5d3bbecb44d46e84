package protocol

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// docPath is the vendor documentation, which this test keeps honest.
var docPath = filepath.Join("..", "..", "docs", "protocol.md")

var (
	codeSpan  = regexp.MustCompile("`([^`]+)`")
	jsonFence = regexp.MustCompile("(?s)```json\n(.*?)```")
)

// TestDocExamples decodes every JSON example in docs/protocol.md: those outside the
// rejections section must be accepted, and each row of the rejection tables must
// produce the error it shows.
func TestDocExamples(t *testing.T) {
	raw, err := os.ReadFile(docPath)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	start, end := strings.Index(doc, "## 10. Rejections"), strings.Index(doc, "## 11. ")
	if start < 0 || end < start {
		t.Fatal("docs/protocol.md has no sections 10 and 11")
	}
	accepted := docPayloads(doc[:start] + doc[end:])
	if len(accepted) < 15 {
		t.Fatalf("found only %d examples in docs/protocol.md", len(accepted))
	}
	t.Logf("%d accepted examples", len(accepted))
	for _, p := range accepted {
		if err := decodeDocExample(p, ""); err != nil {
			t.Errorf("doc example %s is rejected: %v", p, err)
		}
	}
	checkDocRejections(t, doc[start:end])
}

// docPayloads returns the complete JSON objects in code spans and json blocks.
func docPayloads(doc string) []string {
	var out []string
	for _, m := range jsonFence.FindAllStringSubmatch(doc, -1) {
		out = append(out, m[1])
	}
	for _, m := range codeSpan.FindAllStringSubmatch(jsonFence.ReplaceAllString(doc, ""), -1) {
		if strings.HasPrefix(m[1], `{"`) && !strings.Contains(m[1], "…") && !strings.Contains(m[1], "...") {
			out = append(out, m[1])
		}
	}
	return out
}

// checkDocRejections checks each table row holding a JSON payload and an error.
func checkDocRejections(t *testing.T, section string) {
	rows := 0
	for _, line := range strings.Split(section, "\n") {
		spans := codeSpan.FindAllStringSubmatch(line, -1)
		if !strings.HasPrefix(line, "| ") || len(spans) < 2 {
			continue
		}
		payload, want := "", spans[len(spans)-1][1]
		topic := ""
		for _, s := range spans[:len(spans)-1] {
			switch {
			case strings.HasPrefix(s[1], "{"):
				payload = s[1]
			case strings.HasPrefix(s[1], Prefix):
				topic = s[1]
			}
		}
		if payload == "" {
			continue
		}
		rows++
		err := decodeDocExample(payload, topic)
		if err == nil || !strings.HasPrefix(err.Error(), strings.TrimSuffix(want, "…")) {
			t.Errorf("doc says %s gives\n  %s\nbut it gives\n  %v", payload, want, err)
		}
	}
	t.Logf("%d rejection examples", rows)
	if rows < 15 {
		t.Errorf("found only %d rejection examples", rows)
	}
}

// decodeDocExample decodes p on topic, or on the topic its fields suggest.
func decodeDocExample(p, topic string) error {
	if topic == "" && strings.Contains(p, `"type":"ack_feedback"`) {
		_, err := DecodeCmd([]byte(p))
		return err
	}
	if topic == "" {
		topic = DeviceTopic("bed-0001", docKind(p))
	}
	_, err := Decode(topic, []byte(p))
	return err
}

func docKind(p string) Kind {
	switch {
	case strings.Contains(p, `"type"`) || strings.Contains(p, `"confidence"`):
		return KindEvent
	case strings.Contains(p, `"online"`) || strings.Contains(p, `"fw"`):
		return KindStatus
	}
	return KindTelemetry
}
