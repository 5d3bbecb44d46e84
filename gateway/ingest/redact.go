package ingest

import (
	"bytes"
	"regexp"
)

// locationValue matches the value of a lat or lon field, however it was written
// (number, string, literal), in a payload that may not be valid JSON.
var locationValue = regexp.MustCompile(`("(?:lat|lon)"\s*:\s*)("(?:[^"\\]|\\.)*"|[-+0-9.eE]+|true|false|null)`)

// redactedValue replaces a position in the dead-letter log.
const redactedValue = `"(redacted)"`

// redactLocation returns payload with the values of its lat and lon fields replaced
// by "(redacted)": the dead-letter log keeps payloads for firmware vendors, and a
// person's whereabouts are not theirs to read. It returns payload itself when there
// is nothing to replace.
func redactLocation(payload []byte) []byte {
	if !bytes.Contains(payload, []byte(`"lat"`)) && !bytes.Contains(payload, []byte(`"lon"`)) {
		return payload
	}
	return locationValue.ReplaceAll(payload, []byte("${1}"+redactedValue))
}
