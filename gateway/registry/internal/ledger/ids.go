package ledger

import (
	"strconv"
	"unicode"
	"unicode/utf8"
)

// maxIDLen bounds a home id and a place name, in characters.
const maxIDLen = 64

// checkHomeID reports what is wrong with a home id (户编号), or "": 1 to 64
// characters, each a letter (of any script), a digit, '-', '_' or '.'. Home ids are
// InfluxDB tags, parts of person ids (home/H-0001/1) and dashboard variables, so
// nothing that needs escaping anywhere: no spaces, commas, slashes or backslashes.
func checkHomeID(id string) string {
	for _, r := range id {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '-' && r != '_' && r != '.' {
			return strconv.Quote(id) + " has " + strconv.QuoteRune(r) + "; a home id has only letters, digits, - _ and ."
		}
	}
	if n := utf8.RuneCountInString(id); n > maxIDLen {
		return strconv.Quote(id) + " is longer than " + strconv.Itoa(maxIDLen) + " characters"
	}
	return ""
}

// checkPlace reports what is wrong with a county, township or village name, or "":
// 1 to 64 characters; letters and marks (of any script: Chinese, Uyghur, Mongolian),
// digits, spaces between words, and - _ . · ( ) （ ）. No backslash, comma, slash,
// quote or equals sign: they need escaping in InfluxDB and in the dashboards' queries.
func checkPlace(name string) string {
	for _, r := range name {
		switch {
		case unicode.IsLetter(r), unicode.IsMark(r), unicode.IsDigit(r):
		case r == ' ', r == '-', r == '_', r == '.', r == '·', r == '(', r == ')', r == '（', r == '）':
		default:
			return strconv.Quote(name) + " has " + strconv.QuoteRune(r) + "; a place name has only letters, digits, spaces and - _ . · ( )"
		}
	}
	switch {
	case utf8.RuneCountInString(name) > maxIDLen:
		return strconv.Quote(name) + " is longer than " + strconv.Itoa(maxIDLen) + " characters"
	case name[0] == ' ' || name[len(name)-1] == ' ':
		return strconv.Quote(name) + " begins or ends with a space"
	}
	return ""
}
