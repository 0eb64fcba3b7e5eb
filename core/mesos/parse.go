package mesos

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// ParseResources parses an agent --resources value: either a JSON array of
// Resource objects or Mesos' text form "name(role):value;..." where value is a
// scalar ("4", "0.5"), ranges ("[31000-32000,33000-33010]") or a set
// ("{a,b}"). Resources without a role get defaultRole ("*" when empty). The
// error names the offending item and the expected form.
//
// The result is normalized (post-refinement reservations, merged, empty
// resources dropped) and valid. For text input, re-parsing its String() gives
// the same resources.
func ParseResources(s, defaultRole string) (Resources, error) {
	if defaultRole == "" {
		defaultRole = "*"
	}
	if err := ValidateRole(defaultRole); err != nil {
		return nil, fmt.Errorf("bad default role: %w", err)
	}
	if strings.ContainsAny(defaultRole, textSpecials) {
		return nil, fmt.Errorf("bad default role %q: must not contain any of %q", defaultRole, textSpecials)
	}
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	if strings.HasPrefix(s, "[") {
		// A text item cannot start with '[', so this is the JSON form.
		return parseResourcesJSON(s, defaultRole)
	}
	var out Resources
	// Like Mesos, split on every ';': no name, role or value may hold one.
	for _, item := range strings.Split(s, ";") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		r, err := parseResourceItem(item, defaultRole)
		if err != nil {
			return nil, err
		}
		out = out.add1(r)
	}
	return out.Normalize(), nil
}

func parseResourcesJSON(s, defaultRole string) (Resources, error) {
	var rs Resources
	if err := json.Unmarshal([]byte(s), &rs); err != nil {
		return nil, fmt.Errorf("bad resources JSON: %w; expected an array of Resource objects, e.g. "+
			`[{"name":"cpus","type":"SCALAR","scalar":{"value":4}}]`, err)
	}
	for i := range rs {
		// As Mesos' Resources::fromJSON: no role and no reservations means
		// the default role.
		if rs[i].Role == "" && len(rs[i].Reservations) == 0 {
			rs[i].Role = defaultRole
		}
		if err := rs[i].Validate(); err != nil {
			return nil, fmt.Errorf("bad resources JSON: item %d: %w", i, err)
		}
	}
	return rs.Normalize(), nil
}

// textSpecials may not appear in names, roles or set items of the text
// form, so that String() output parses back to the same resources.
const textSpecials = "()[]{};:,"

const resourcesForm = `expected "name(role):value" items separated by ';', e.g. "cpus:4;mem:8192;ports:[31000-32000]"`

func parseResourceItem(item, defaultRole string) (Resource, error) {
	if !utf8.ValidString(item) {
		// JSON would turn the bad bytes into U+FFFD, so the resource would
		// not match itself once sent to a framework and back.
		return Resource{}, fmt.Errorf("bad resource %q: not valid UTF-8", item)
	}
	colon := strings.IndexByte(item, ':')
	if colon <= 0 {
		return Resource{}, fmt.Errorf("bad resource %q: %s", item, resourcesForm)
	}
	name, value := strings.TrimSpace(item[:colon]), strings.TrimSpace(item[colon+1:])
	role := defaultRole
	if open := strings.IndexByte(name, '('); open >= 0 {
		if !strings.HasSuffix(name, ")") {
			return Resource{}, fmt.Errorf("bad resource %q: unbalanced role parentheses; %s", item, resourcesForm)
		}
		role = strings.TrimSpace(name[open+1 : len(name)-1])
		name = strings.TrimSpace(name[:open])
		if strings.ContainsAny(role, textSpecials) {
			return Resource{}, fmt.Errorf("bad resource %q: role %q must not contain any of %q", item, role, textSpecials)
		}
		if err := ValidateRole(role); err != nil {
			return Resource{}, fmt.Errorf("bad resource %q: %w", item, err)
		}
	}
	if name == "" || strings.ContainsAny(name, textSpecials) || strings.IndexFunc(name, unicode.IsSpace) >= 0 {
		return Resource{}, fmt.Errorf("bad resource %q: invalid name %q; %s", item, name, resourcesForm)
	}
	if value == "" {
		return Resource{}, fmt.Errorf("bad resource %q: missing value; %s", item, resourcesForm)
	}
	r := Resource{Name: name}
	if role != "*" {
		r.Reservations = []ReservationInfo{{Type: "STATIC", Role: role}}
	}
	switch {
	case strings.HasPrefix(value, "["):
		rg, err := parseRanges(value)
		if err != nil {
			return Resource{}, fmt.Errorf("bad resource %q: %w", item, err)
		}
		r.Type, r.Ranges = RANGES, &Ranges{Range: mergeRanges(rg)}
	case strings.HasPrefix(value, "{"):
		items, err := parseSet(value)
		if err != nil {
			return Resource{}, fmt.Errorf("bad resource %q: %w", item, err)
		}
		for _, it := range items {
			if strings.ContainsAny(it, textSpecials) {
				return Resource{}, fmt.Errorf("bad resource %q: set item %q must not contain any of %q", item, it, textSpecials)
			}
		}
		r.Type, r.Set = SET, &Set{Item: unionSet(nil, items)}
	default:
		v, err := strconv.ParseFloat(value, 64)
		if err != nil || v != v {
			return Resource{}, fmt.Errorf("bad resource %q: %q is not a number, ranges [a-b] or set {a,b}", item, value)
		}
		if v < 0 {
			return Resource{}, fmt.Errorf("bad resource %q: negative value %v", item, v)
		}
		if v > 1e15 {
			return Resource{}, fmt.Errorf("bad resource %q: value %v too large", item, v)
		}
		r.Type, r.Scalar = SCALAR, &Scalar{Value: roundScalar(v)}
	}
	return r, nil
}

func parseRanges(v string) ([]Range, error) {
	if !strings.HasSuffix(v, "]") {
		return nil, fmt.Errorf("ranges %q must be written [begin-end, ...]", v)
	}
	body := strings.TrimSpace(v[1 : len(v)-1])
	if body == "" {
		return nil, nil
	}
	var out []Range
	for _, part := range strings.Split(body, ",") {
		part = strings.TrimSpace(part)
		lo, hi, ok := strings.Cut(part, "-")
		if !ok {
			lo, hi = part, part
		}
		b, err1 := strconv.ParseUint(strings.TrimSpace(lo), 10, 64)
		e, err2 := strconv.ParseUint(strings.TrimSpace(hi), 10, 64)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("range %q must be two non-negative integers begin-end", part)
		}
		if b > e {
			return nil, fmt.Errorf("range %q has begin greater than end", part)
		}
		out = append(out, Range{Begin: b, End: e})
	}
	return out, nil
}

func parseSet(v string) ([]string, error) {
	if !strings.HasSuffix(v, "}") {
		return nil, fmt.Errorf("set %q must be written {a,b,...}", v)
	}
	var items []string
	for _, it := range strings.Split(v[1:len(v)-1], ",") {
		if it = strings.TrimSpace(it); it != "" {
			items = append(items, it)
		}
	}
	return items, nil
}

// ParseAttributes parses an agent --attributes value "rack:r1;level:10;
// ports:[1-5];s:{a,b}": numbers become SCALAR, [..] RANGES, {..} SET and
// anything else TEXT, as Mesos does. Items are separated by ';' or newlines;
// a value runs from the first ':' to the end of its item.
func ParseAttributes(s string) ([]Attribute, error) {
	var out []Attribute
	seen := map[string]bool{}
	for _, item := range strings.FieldsFunc(s, func(r rune) bool { return r == ';' || r == '\n' }) {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		if !utf8.ValidString(item) {
			return nil, fmt.Errorf("bad attribute %q: not valid UTF-8", item)
		}
		name, value, ok := strings.Cut(item, ":")
		name, value = strings.TrimSpace(name), strings.TrimSpace(value)
		if !ok || name == "" || value == "" {
			return nil, fmt.Errorf(`bad attribute %q: expected "name:value" items separated by ';', e.g. "rack:r1;zone:a"`, item)
		}
		if seen[name] {
			return nil, fmt.Errorf("bad attribute %q: %q given twice", item, name)
		}
		seen[name] = true
		a := Attribute{Name: name}
		switch {
		case strings.HasPrefix(value, "["):
			rg, err := parseRanges(value)
			if err != nil {
				return nil, fmt.Errorf("bad attribute %q: %w", item, err)
			}
			a.Type, a.Ranges = RANGES, &Ranges{Range: mergeRanges(rg)}
		case strings.HasPrefix(value, "{"):
			items, err := parseSet(value)
			if err != nil {
				return nil, fmt.Errorf("bad attribute %q: %w", item, err)
			}
			a.Type, a.Set = SET, &Set{Item: items}
		default:
			if v, err := strconv.ParseFloat(value, 64); err == nil && v == v && !strings.ContainsAny(value, "xXeEnN") {
				a.Type, a.Scalar = SCALAR, &Scalar{Value: v}
			} else {
				a.Type, a.Text = TEXT, &Text{Value: value}
			}
		}
		out = append(out, a)
	}
	return out, nil
}

// FormatAttributes formats attributes in the --attributes form that
// ParseAttributes reads ("rack:r1;level:10").
func FormatAttributes(attrs []Attribute) string {
	parts := make([]string, len(attrs))
	for i := range attrs {
		parts[i] = attrs[i].Name + ":" + attrs[i].ValueString()
	}
	return strings.Join(parts, ";")
}

// Validate checks that an attribute has a name and a known type with exactly
// its payload.
func (a *Attribute) Validate() error {
	if a.Name == "" {
		return fmt.Errorf("attribute has no name")
	}
	set := map[ValueType]bool{SCALAR: a.Scalar != nil, RANGES: a.Ranges != nil, SET: a.Set != nil, TEXT: a.Text != nil}
	if _, known := set[a.Type]; !known {
		return fmt.Errorf("attribute %q: unknown type %q (want SCALAR, RANGES, SET or TEXT)", a.Name, a.Type)
	}
	for t, has := range set {
		if has != (t == a.Type) {
			return fmt.Errorf("attribute %q of type %s: exactly '%s' must be set", a.Name, a.Type, strings.ToLower(string(a.Type)))
		}
	}
	if a.Type == SCALAR && (math.IsNaN(a.Scalar.Value) || math.IsInf(a.Scalar.Value, 0)) {
		return fmt.Errorf("attribute %q: scalar %v must be finite", a.Name, a.Scalar.Value)
	}
	if a.Type == RANGES {
		for _, rg := range a.Ranges.Range {
			if rg.Begin > rg.End {
				return fmt.Errorf("attribute %q: range [%d-%d] has begin > end", a.Name, rg.Begin, rg.End)
			}
		}
	}
	return nil
}

// ValueString formats an attribute value as Marathon and the v0
// endpoints do: text as is, scalars as numbers, ranges "[a-b]", sets "{a,b}".
func (a *Attribute) ValueString() string {
	switch a.Type {
	case SCALAR:
		if a.Scalar != nil {
			return strconv.FormatFloat(a.Scalar.Value, 'f', -1, 64)
		}
	case RANGES:
		if a.Ranges != nil {
			return formatRanges(a.Ranges.Range)
		}
	case SET:
		if a.Set != nil {
			return formatSet(a.Set.Item)
		}
	case TEXT:
		if a.Text != nil {
			return a.Text.Value
		}
	}
	return ""
}

// ValidateRole checks a role name as Mesos does (docs/roles.md).
func ValidateRole(role string) error {
	if role == "*" {
		return nil
	}
	if role == "" {
		return fmt.Errorf("role must not be empty")
	}
	if !utf8.ValidString(role) {
		return fmt.Errorf("role %q is not valid UTF-8", role)
	}
	for _, part := range strings.Split(role, "/") {
		switch {
		case part == "" || part == "." || part == "..":
			return fmt.Errorf("role %q: path components must not be empty, '.' or '..'", role)
		case strings.HasPrefix(part, "-"):
			return fmt.Errorf("role %q must not start with '-'", role)
		case part == "*":
			return fmt.Errorf("role %q: '*' is only valid alone", role)
		}
		for _, c := range part {
			if c <= ' ' || c == 0x7f || c == '\b' {
				return fmt.Errorf("role %q must not contain whitespace or control characters", role)
			}
		}
	}
	return nil
}

// ValidateID checks a user-given task or executor ID as Mesos does.
func ValidateID(id string) error {
	switch {
	case id == "":
		return fmt.Errorf("ID must not be empty")
	case len(id) > 255:
		return fmt.Errorf("ID %.20q... is longer than 255 characters", id)
	case id == "." || id == "..":
		return fmt.Errorf("ID %q is disallowed", id)
	case strings.ContainsAny(id, "/\\"):
		return fmt.Errorf("ID %q must not contain '/' or '\\'", id)
	case !utf8.ValidString(id):
		return fmt.Errorf("ID %q is not valid UTF-8", id)
	}
	for _, c := range id {
		if c < ' ' || c == 0x7f {
			return fmt.Errorf("ID %q must not contain control characters", id)
		}
	}
	return nil
}
