package brokerauth

import (
	"bufio"
	"fmt"
	"io"
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

// WriteACL writes a Mosquitto ACL file granting each principal exactly its Rules.
// Nothing is granted to anonymous clients or by pattern. The rules are per username;
// they hold per client id only because Mosquitto runs with use_username_as_clientid,
// which the file's header says.
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
	for _, p := range ps {
		write, read := Rules(p)
		fmt.Fprintf(bw, "\n# %s\nuser %s\n", p.Kind, p.ID)
		for _, t := range write {
			fmt.Fprintf(bw, "topic write %s\n", t)
		}
		for _, t := range read {
			fmt.Fprintf(bw, "topic read %s\n", t)
		}
	}
	return bw.Flush()
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
