package ledger

import (
	"strings"
	"testing"
)

// TestIDCharacterSets is issue 21, item 11: a home id ending in a backslash was
// imported and made InfluxDB refuse every point of the home. Home ids and place names
// have a character set, enforced at import with an error naming the row and column.
func TestIDCharacterSets(t *testing.T) {
	const header = "county,township,village,home_id,elder_name,address,lat,lon,device_id,device_kind," +
		"visitor_name,visitor_phone,doctor_name,doctor_phone,family_phone\n"
	cases := []struct {
		name, county, township, village, home string
		want                                  string // "column: reason", "" for a good row
	}{
		{"ledger's usual", "和静县", "巴润哈尔莫敦镇", "哈尔莫敦村", "H-0001", ""},
		{"Latin, digits, _ and .", "Hejing County", "Town 2", "Group_1.East", "h_01.a", ""},
		{"Uyghur with marks", "خېجىڭ ناھىيىسى", "بايانبۇلاق", "كەنت", "ئۆي-1", ""},
		{"brackets and middle dot", "和静县", "巴伦台镇（牧区）", "阿·村(一组)", "H1", ""},
		{"home id ends in a backslash", "和静县", "镇", "村", `H-0001\`, `home_id: "H-0001\\" has '\\'; a home id has only letters, digits, - _ and .`},
		{"home id with a space", "和静县", "镇", "村", "H 1", `home_id: "H 1" has ' '; a home id has only letters, digits, - _ and .`},
		{"home id with a slash", "和静县", "镇", "村", "H/1", `home_id: "H/1" has '/'; a home id has only letters, digits, - _ and .`},
		{"home id too long", "和静县", "镇", "村", strings.Repeat("户", 65), `home_id: "` + strings.Repeat("户", 65) + `" is longer than 64 characters`},
		{"village ends in a backslash", "和静县", "镇", `村\`, "H1", `village: "村\\" has '\\'; a place name has only letters, digits, spaces and - _ . · ( )`},
		{"township with a comma", "和静县", "甲，乙镇", "村", "H1", `township: "甲，乙镇" has '，'; a place name has only letters, digits, spaces and - _ . · ( )`},
		{"county with an equals sign", "A=B", "镇", "村", "H1", `county: "A=B" has '='; a place name has only letters, digits, spaces and - _ . · ( )`},
		{"village with a quote", "和静县", "镇", `"村"`, "H1", `village: "\"村\"" has '"'; a place name has only letters, digits, spaces and - _ . · ( )`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var b strings.Builder
			b.WriteString(header)
			for _, cell := range []string{c.county, c.township, c.village, c.home, "", "", "", "", "hj-0001-sos"} {
				b.WriteString(`"` + strings.ReplaceAll(cell, `"`, `""`) + `",`)
			}
			b.WriteString("sos_pendant,,,,,\n")
			l, err := Read(strings.NewReader(b.String()))
			if err != nil {
				t.Fatal(err)
			}
			got := ""
			if len(l.Errors) > 0 {
				e := l.Errors[0]
				if e.Line != 2 {
					t.Errorf("error on line %d, want 2", e.Line)
				}
				got = e.Column + ": " + e.Reason
			}
			if got != c.want {
				t.Errorf("got  %q\nwant %q", got, c.want)
			}
		})
	}
}
