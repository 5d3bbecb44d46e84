package policy

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// checkBudget bounds the nodes the strict check visits, so that a document of aliases
// referring to aliases cannot make it run for ever.
const checkBudget = 200_000

var (
	durationType    = reflect.TypeFor[time.Duration]()
	unmarshalerType = reflect.TypeFor[yaml.Unmarshaler]()
	errTooComplex   = errors.New("alerting: document too large or too deeply aliased")
)

// strict checks the YAML tree n against the Go type t before it is decoded: every
// mapping key must be a field (yaml.Node.Decode has no KnownFields of its own), no key
// may repeat, and every leaf must have the right kind. Its errors name the key path and
// the line.
type strict struct{ budget int }

func (s *strict) check(n *yaml.Node, t reflect.Type, path string) error {
	if s.budget--; s.budget < 0 {
		return errTooComplex
	}
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	if n.ShortTag() == "!!null" {
		return nil
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case reflect.PointerTo(t).Implements(unmarshalerType):
		if err := n.Decode(reflect.New(t).Interface()); err != nil {
			return fmt.Errorf("%s: line %d: %w", path, n.Line, err)
		}
		return nil
	case t == durationType:
		return checkDuration(n, path)
	}
	switch t.Kind() {
	case reflect.Struct:
		return s.mapping(n, path, func(k *yaml.Node) (reflect.Type, error) {
			if f, ok := fieldByKey(t, k.Value); ok {
				return f, nil
			}
			return nil, fmt.Errorf("%s: line %d: unknown key %q", path, k.Line, k.Value)
		}, t)
	case reflect.Map:
		return s.mapping(n, path, func(*yaml.Node) (reflect.Type, error) { return t.Elem(), nil }, t)
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			return fmt.Errorf("%s: line %d: must be a list", path, n.Line)
		}
		for i, item := range n.Content {
			if err := s.check(item, t.Elem(), fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
		return nil
	}
	return checkScalar(n, t, path)
}

// mapping checks the pairs of a mapping node; field gives the type of a key's value.
// A merge key (<<) brings in the pairs of other mappings of the same type t.
func (s *strict) mapping(n *yaml.Node, path string, field func(*yaml.Node) (reflect.Type, error), t reflect.Type) error {
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("%s: line %d: must be a mapping of keys to values", path, n.Line)
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.Value == "<<" && k.ShortTag() == "!!merge" {
			if err := s.merge(v, path, t); err != nil {
				return err
			}
			continue
		}
		if k.Kind != yaml.ScalarNode || k.ShortTag() == "!!null" {
			return fmt.Errorf("%s: line %d: a key must be a plain string", path, k.Line)
		}
		if first, dup := seen[k.Value]; dup {
			return fmt.Errorf("%s: line %d: key %q repeated (first at line %d)", path, k.Line, k.Value, first)
		}
		seen[k.Value] = k.Line
		vt, err := field(k)
		if err != nil {
			return err
		}
		if err := s.check(v, vt, path+"."+k.Value); err != nil {
			return err
		}
	}
	return nil
}

// merge checks the value of a merge key: a mapping, or a list of mappings.
func (s *strict) merge(v *yaml.Node, path string, t reflect.Type) error {
	items := []*yaml.Node{v}
	if v.Kind == yaml.SequenceNode {
		items = v.Content
	}
	for _, item := range items {
		target := item
		if item.Kind == yaml.AliasNode && item.Alias != nil {
			target = item.Alias
		}
		if target.Kind != yaml.MappingNode {
			return fmt.Errorf("%s: line %d: a merge (<<) needs a mapping", path, item.Line)
		}
		if err := s.check(item, t, path); err != nil {
			return err
		}
	}
	return nil
}

// fieldByKey finds the type of the struct field whose yaml tag is key.
func fieldByKey(t reflect.Type, key string) (reflect.Type, bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		if name, _, _ := strings.Cut(f.Tag.Get("yaml"), ","); name == key && f.IsExported() {
			return f.Type, true
		}
	}
	return nil, false
}

// checkDuration insists on a string with a unit: yaml.v3 refuses a bare 0 or 90.
func checkDuration(n *yaml.Node, path string) error {
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!str" {
		return fmt.Errorf("%s: line %d: %s is not a duration: write it with a unit, like 0s, 90s, 5m or 2h",
			path, n.Line, show(n))
	}
	if _, err := time.ParseDuration(n.Value); err != nil {
		return fmt.Errorf("%s: line %d: %q is not a duration like 0s, 90s, 5m or 2h", path, n.Line, n.Value)
	}
	return nil
}

// checkScalar checks a leaf of kind string, int, float or bool.
func checkScalar(n *yaml.Node, t reflect.Type, path string) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("%s: line %d: must be a single value, not a list or mapping", path, n.Line)
	}
	whole := t.Kind() != reflect.Int || n.ShortTag() == "!!int" // yaml.v3 truncates 2.5 to 2
	if whole && n.Decode(reflect.New(t).Interface()) == nil {
		return nil
	}
	what := map[reflect.Kind]string{reflect.Int: "a whole number", reflect.Float64: "a number",
		reflect.Bool: "true or false"}[t.Kind()]
	if what == "" {
		what = "a " + t.Kind().String()
	}
	return fmt.Errorf("%s: line %d: %s is not %s", path, n.Line, show(n), what)
}

// show quotes a scalar's text for an error, or names a node's kind.
func show(n *yaml.Node) string {
	switch n.Kind {
	case yaml.ScalarNode:
		return fmt.Sprintf("%q", n.Value)
	case yaml.SequenceNode:
		return "a list"
	}
	return "a mapping"
}
