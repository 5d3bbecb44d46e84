package influxql

import "strconv"

// Cond is one condition of a WHERE clause.
type Cond string

// TimeFilter is Grafana's macro for the dashboard's time range.
const TimeFilter Cond = "$timeFilter"

// Since keeps the last d of data whatever the dashboard's range (d an InfluxQL
// duration such as "30d"): for panels that show how things stand now.
func Since(d string) Cond { return Cond("time > now() - " + d) }

// Is compares a tag or string field with a value.
func Is(key, value string) Cond { return Cond(Ident(key) + " = " + Str(value)) }

// IsNot is the negation of Is.
func IsNot(key, value string) Cond { return Cond(Ident(key) + " != " + Str(value)) }

// IsBool compares a boolean field with v.
func IsBool(key string, v bool) Cond { return Cond(Ident(key) + " = " + strconv.FormatBool(v)) }

// AtMost keeps rows whose numeric field is at most v.
func AtMost(key string, v float64) Cond {
	return Cond(Ident(key) + " <= " + strconv.FormatFloat(v, 'g', -1, 64))
}

// InVar keeps rows whose tag is one of the values selected in the Grafana variable:
// "tag" =~ /^$variable$/, which Grafana expands to a regular expression for one,
// several or all values.
func InVar(tag, variable string) Cond { return Cond(Ident(tag) + " =~ /^$" + variable + "$/") }
