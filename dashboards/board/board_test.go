package board

import "testing"

func TestUnescapeHTML(t *testing.T) {
	for _, c := range []struct{ name, in, want string }{
		{"comparison", `"time \u003e now() - 30d"`, `"time > now() - 30d"`},
		{"all three", `"\u003c\u0026\u003e"`, `"<&>"`},
		{"escaped backslash stays", `"a\\u003e"`, `"a\\u003e"`},
		{"other escapes stay", `"\"q\" \n \u00e9"`, `"\"q\" \n \u00e9"`},
		{"trailing backslash", `\`, `\`},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := string(unescapeHTML([]byte(c.in))); got != c.want {
				t.Errorf("got %s, want %s", got, c.want)
			}
		})
	}
}

// TestBoardsAreDistinct checks uids, files and panel ids.
func TestBoardsAreDistinct(t *testing.T) {
	boards, err := All()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, b := range boards {
		if seen[*b.Dashboard.Uid] || seen[b.File] {
			t.Errorf("board %s (%s) twice", *b.Dashboard.Uid, b.File)
		}
		seen[*b.Dashboard.Uid], seen[b.File] = true, true
		ids := map[uint32]bool{}
		for _, p := range b.Dashboard.Panels {
			if p.Panel == nil || p.Panel.Id == nil || ids[*p.Panel.Id] {
				t.Errorf("%s: a panel without an id, or an id twice", b.File)
				continue
			}
			ids[*p.Panel.Id] = true
		}
	}
	if len(boards) != 4 {
		t.Errorf("%d boards, want 4", len(boards))
	}
}
