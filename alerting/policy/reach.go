package policy

import (
	"fmt"
	"slices"

	"carebed/alerting"
)

// checkReach refuses a step that pages nobody whatever the home: one whose every
// receiver is county_centre while alerting.county_centre lists no number. ladders are
// at path (alerting.ladders, or a township's); steps that may still page nobody for
// one home (a township without a clinic duty phone) are the escalation's to handle,
// at run time.
func checkReach(ladders map[alerting.Severity]Ladder, path string, county []string) error {
	if len(county) > 0 {
		return nil
	}
	for _, sev := range severities {
		l, ok := ladders[sev]
		if !ok {
			continue
		}
		for i, s := range l.Steps {
			if len(s.Notify) > 0 && !slices.ContainsFunc(s.Notify, func(r alerting.Receiver) bool {
				return r != alerting.ReceiverCountyCentre
			}) {
				return fmt.Errorf("%s.%s.steps[%d].notify: pages nobody: county_centre has no phone numbers "+
					"(set alerting.county_centre, or add a receiver to this step)", path, sev, i)
			}
		}
	}
	return nil
}
