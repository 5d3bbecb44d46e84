package brokerauth

import (
	"bufio"
	"fmt"
	"io"
	"slices"
	"sort"

	"carebed/gateway/credential"
)

// WritePasswd writes a Mosquitto password file ("user:$7$..." per line, the format
// of mosquitto_passwd) for the principals, sorted by username. It refuses a
// principal with an unusable name or hash, or a name given twice.
func WritePasswd(w io.Writer, ps []Principal) error {
	ps, err := sorted(ps)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(w)
	for _, p := range ps {
		if err := credential.Check(p.Hash); err != nil {
			return fmt.Errorf("broker user %s: %w", p.ID, err)
		}
		fmt.Fprintf(bw, "%s:%s\n", p.ID, p.Hash)
	}
	return bw.Flush()
}

// WriteACL writes a Mosquitto ACL file granting each principal its Rules. The
// devices' rules are written once, as patterns (%u, the username: a device's id),
// and every other principal's under its own user line. Mosquitto 2.0 looks a user up
// in a list at each of its lines, so 100,002 devices under user lines took it 2 min
// of CPU to load, at every start and every reload, during which it served nobody;
// the patterns load at once. They grant the device rules to every user, for the
// topics named after its own username: a responder app or the gateway could publish
// to carebed/v1/{its own name}/telemetry, which no device is named (the usernames
// are unique), and the gateway takes in nothing of an unregistered device (the dead
// letters count it). Nothing is granted to anonymous clients. The rules are per
// username; they hold per client id only because Mosquitto runs with
// use_username_as_clientid, which the file's header says.
func WriteACL(w io.Writer, ps []Principal) error {
	ps, err := sorted(ps)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(w)
	fmt.Fprintln(bw, "# Written by `gateway broker export`: the rules of package carebed/gateway/brokerauth.")
	fmt.Fprintln(bw, "# Regenerate after provisioning or revoking; do not edit.")
	fmt.Fprintln(bw, "# Mosquitto must run with use_username_as_clientid true (deploy/mosquitto/carebed.conf):")
	fmt.Fprintln(bw, "# each user's client id is then its username, so no credential can take over another")
	fmt.Fprintln(bw, "# user's session; the gateway's mqtt.client_id must equal its mqtt.username.")
	if slices.ContainsFunc(ps, func(p Principal) bool { return p.Kind == Device }) {
		fmt.Fprintf(bw, "\n# every device: its own topics (%%u is its username, the device id)\n")
		writeRules(bw, "pattern", Principal{Kind: Device, ID: "%u"})
	}
	for _, p := range ps {
		if p.Kind == Device {
			continue
		}
		fmt.Fprintf(bw, "\n# %s\nuser %s\n", p.Kind, p.ID)
		writeRules(bw, "topic", p)
	}
	return bw.Flush()
}

// writeRules writes p's rules as ACL lines of keyword (topic or pattern).
func writeRules(w io.Writer, keyword string, p Principal) {
	write, read := Rules(p)
	for _, t := range write {
		fmt.Fprintf(w, "%s write %s\n", keyword, t)
	}
	for _, t := range read {
		fmt.Fprintf(w, "%s read %s\n", keyword, t)
	}
}

func sorted(ps []Principal) ([]Principal, error) {
	out := append([]Principal(nil), ps...)
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	for i, p := range out {
		if err := CheckID(p.ID); err != nil {
			return nil, err
		}
		if i > 0 && out[i-1].ID == p.ID {
			return nil, fmt.Errorf("broker user %s is given twice (%s and %s)", p.ID, out[i-1].Kind, p.Kind)
		}
	}
	return out, nil
}
