package credential

import (
	"strings"
	"testing"
)

// fromMosquitto was written by mosquitto_passwd 2.0.11 (`mosquitto_passwd -b -c f dev1
// secret`): the hashes here must be the ones Mosquitto checks.
const fromMosquitto = "$7$101$JykrR5PoU2cz53VX$cIrwTQnGwQXI3UYvGUCj4UPrkc9jG8IXNQaAuKapm8SjLfkSKhneeZJSJzQ0PLO90I2Syiq44S632NQ+41nciQ=="

func TestVerify(t *testing.T) {
	own := Hash("s3cret")
	cases := []struct {
		name, hash, password string
		want                 bool
	}{
		{"mosquitto_passwd hash", fromMosquitto, "secret", true},
		{"mosquitto_passwd hash, wrong password", fromMosquitto, "Secret", false},
		{"own hash", own, "s3cret", true},
		{"own hash, wrong password", own, "s3cret ", false},
		{"empty password", own, "", false},
		{"plain text is not a hash", "secret", "secret", false},
		{"sha512 format $6$ not accepted", "$6$abc$def", "secret", false},
		{"truncated", own[:len(own)-4], "s3cret", false},
		{"zero iterations", strings.Replace(own, "$101$", "$0$", 1), "s3cret", false},
		{"huge iterations", strings.Replace(own, "$101$", "$999999999$", 1), "s3cret", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := Verify(c.hash, c.password); got != c.want {
				t.Errorf("Verify = %v, want %v", got, c.want)
			}
		})
	}
}

func TestHashSalted(t *testing.T) {
	a, b := Hash("x"), Hash("x")
	if a == b {
		t.Error("two hashes of one password are equal: no fresh salt")
	}
	if err := Check(a); err != nil {
		t.Error(err)
	}
	if !strings.HasPrefix(a, "$7$101$") {
		t.Errorf("hash %q is not in Mosquitto's $7$ format with 101 iterations", a)
	}
}

func TestNewPassword(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		p := NewPassword()
		if len(p) != 32 || strings.ContainsAny(p, ":+/= \n") || seen[p] {
			t.Fatalf("bad or repeated password %q", p)
		}
		seen[p] = true
	}
}

func FuzzVerify(f *testing.F) {
	f.Add(fromMosquitto, "secret")
	f.Add("$7$1$$", "")
	f.Fuzz(func(t *testing.T, hash, password string) {
		if Verify(hash, password) && Check(hash) != nil {
			t.Fatalf("Verify accepted a hash Check refuses: %q", hash)
		}
	})
}
