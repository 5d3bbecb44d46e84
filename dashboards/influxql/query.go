// Package influxql builds the InfluxQL statements of the dashboards' panels and
// variables, and the Grafana InfluxDB query (Target) that carries one. It writes only
// what InfluxDB 1.8, 2.x (v1 API) and 3.x all answer: SELECT with functions, simple
// arithmetic, subqueries, tag and field conditions, GROUP BY tags and time, fill,
// ORDER BY time DESC, LIMIT, and SHOW TAG VALUES.
//
// Grafana's variables and macros ($timeFilter, $__interval, $county) appear in the
// text as Grafana expects them; Grafana (or dashboards/interpolate in tests) replaces
// them before the query reaches InfluxDB.
package influxql

import (
	"strconv"
	"strings"
)

// Query is one SELECT statement. Its methods set a part and return the query, so a
// query reads as one expression; String writes it.
type Query struct {
	fields   []Field
	from     string
	sub      *Query
	where    []Cond
	groupBy  []string
	interval string
	fill     string
	desc     bool
	limit    int
}

// Field is one column of a SELECT: an expression and the name it answers under.
type Field struct {
	expr, name string
	aliased    bool
}

// Col selects a field or tag as it is stored.
func Col(name string) Field { return Field{expr: Ident(name), name: name} }

// Fn applies the InfluxQL function fn to the field name, with further literal
// arguments (percentile's rank, for one); the column is named after the field.
func Fn(fn, name string, args ...string) Field {
	parts := append([]string{Ident(name)}, args...)
	return Field{expr: fn + "(" + strings.Join(parts, ", ") + ")", name: name, aliased: true}
}

// Last is last(name) AS name: the newest value of the field.
func Last(name string) Field { return Fn("last", name) }

// As names the column.
func (f Field) As(name string) Field {
	f.name, f.aliased = name, true
	return f
}

// Times multiplies the value by n.
func (f Field) Times(n int) Field {
	f.expr += " * " + strconv.Itoa(n)
	f.aliased = true
	return f
}

// Name is the column the field answers under.
func (f Field) Name() string { return f.name }

func (f Field) String() string {
	if !f.aliased {
		return f.expr
	}
	return f.expr + " AS " + Ident(f.name)
}

// Select starts a query of fields.
func Select(fields ...Field) *Query { return &Query{fields: fields} }

// From reads the measurement.
func (q *Query) From(measurement string) *Query {
	q.from = Ident(measurement)
	return q
}

// FromRP reads the measurement in the retention policy rp of the datasource's
// database ("rp"."measurement"): positions live in one of their own.
func (q *Query) FromRP(rp, measurement string) *Query {
	q.from = Ident(rp) + "." + Ident(measurement)
	return q
}

// FromQuery reads the answer of a subquery.
func (q *Query) FromQuery(sub *Query) *Query {
	q.sub = sub
	return q
}

// Where adds conditions, all of which must hold.
func (q *Query) Where(conds ...Cond) *Query {
	q.where = append(q.where, conds...)
	return q
}

// GroupBy groups by tags; each tag becomes a column of the answer.
func (q *Query) GroupBy(tags ...string) *Query {
	q.groupBy = append(q.groupBy, tags...)
	return q
}

// GroupByTime groups into time buckets of interval, e.g. "$__interval".
func (q *Query) GroupByTime(interval string) *Query {
	q.interval = interval
	return q
}

// Fill says what empty time buckets hold: "none", "null", "0", "previous".
func (q *Query) Fill(v string) *Query {
	q.fill = v
	return q
}

// Newest orders newest first and keeps at most n rows per series.
func (q *Query) Newest(n int) *Query {
	q.desc, q.limit = true, n
	return q
}

// Columns are the names the answer's columns and tags go by besides time: the
// fields, then the GROUP BY tags. Tests check a panel's answer against them.
func (q *Query) Columns() []string {
	out := make([]string, 0, len(q.fields)+len(q.groupBy))
	for _, f := range q.fields {
		out = append(out, f.name)
	}
	return append(out, q.groupBy...)
}

// String writes the statement.
func (q *Query) String() string {
	var b strings.Builder
	b.WriteString("SELECT ")
	for i, f := range q.fields {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(f.String())
	}
	b.WriteString(" FROM ")
	if q.sub != nil {
		b.WriteString("(" + q.sub.String() + ")")
	} else {
		b.WriteString(q.from)
	}
	b.WriteString(whereClause(q.where))
	b.WriteString(q.groupClause())
	if q.fill != "" {
		b.WriteString(" fill(" + q.fill + ")")
	}
	if q.desc {
		b.WriteString(" ORDER BY time DESC")
	}
	if q.limit > 0 {
		b.WriteString(" LIMIT " + strconv.Itoa(q.limit))
	}
	return b.String()
}

func (q *Query) groupClause() string {
	var parts []string
	if q.interval != "" {
		parts = append(parts, "time("+q.interval+")")
	}
	for _, t := range q.groupBy {
		parts = append(parts, Ident(t))
	}
	if len(parts) == 0 {
		return ""
	}
	return " GROUP BY " + strings.Join(parts, ", ")
}

func whereClause(conds []Cond) string {
	if len(conds) == 0 {
		return ""
	}
	parts := make([]string, len(conds))
	for i, c := range conds {
		parts[i] = string(c)
	}
	return " WHERE " + strings.Join(parts, " AND ")
}

// ShowTagValues lists the values of the tag key in measurement where conds hold: the
// query of a Grafana variable.
func ShowTagValues(measurement, key string, conds ...Cond) string {
	return "SHOW TAG VALUES FROM " + Ident(measurement) + " WITH KEY = " + Ident(key) + whereClause(conds)
}

// Ident quotes an identifier (measurement, field, tag key).
func Ident(name string) string {
	return `"` + strings.ReplaceAll(strings.ReplaceAll(name, `\`, `\\`), `"`, `\"`) + `"`
}

// Str quotes a string literal.
func Str(s string) string {
	return `'` + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), `'`, `\'`) + `'`
}
