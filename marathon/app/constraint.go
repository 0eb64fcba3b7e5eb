package app

import (
	"fmt"
	"math"
	"math/big"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Operator is a placement constraint operator.
type Operator string

// Marathon's constraint operators (docs/docs/constraints.md).
const (
	OpUnique  Operator = "UNIQUE"
	OpCluster Operator = "CLUSTER"
	OpGroupBy Operator = "GROUP_BY"
	OpLike    Operator = "LIKE"
	OpUnlike  Operator = "UNLIKE"
	OpMaxPer  Operator = "MAX_PER"
	OpIs      Operator = "IS"
)

// Constraint is one parsed app constraint [field, operator, value?].
type Constraint struct {
	// Field is "hostname" (also "@hostname"), "@region", "@zone" or the
	// name of an agent attribute.
	Field    string
	Operator Operator
	Value    string
	HasValue bool
	re       *regexp.Regexp // LIKE, UNLIKE
}

// Placement is where one of the app's instances already runs: the agent's
// hostname and attributes, formatted as [FormatScalar], [FormatRanges] and
// [FormatSet] do (the same map shape as an offer's attributes).
type Placement struct {
	Hostname   string
	Attributes map[string]string
}

// Pseudo-attribute keys for the agent's fault domain. Callers put the
// offer's region and zone into the attribute map under these keys.
const (
	FieldHostname = "hostname"
	FieldRegion   = "@region"
	FieldZone     = "@zone"
)

// ParseConstraint parses and validates one constraint array. The error is a
// *ValidationError with Marathon's message at path "/".
func ParseConstraint(c []string) (Constraint, error) {
	if msgs := ConstraintViolations(c); len(msgs) > 0 {
		var vs violations
		for _, m := range msgs {
			vs.add("/", m)
		}
		return Constraint{}, vs.err(MsgNotValid)
	}
	out := Constraint{Field: c[0], Operator: Operator(strings.ToUpper(c[1]))}
	if len(c) == 3 {
		out.Value, out.HasValue = c[2], true
	}
	if out.Operator == OpLike || out.Operator == OpUnlike {
		re, err := compileFull(out.Value)
		if err != nil {
			return Constraint{}, fmt.Errorf("constraint %v: %w", c, err)
		}
		out.re = re
	}
	return out, nil
}

// ParseConstraints parses all of an app's constraints.
func ParseConstraints(cs [][]string) ([]Constraint, error) {
	out := make([]Constraint, 0, len(cs))
	for i, c := range cs {
		pc, err := ParseConstraint(c)
		if err != nil {
			return nil, fmt.Errorf("constraints(%d): %w", i, err)
		}
		out = append(out, pc)
	}
	return out, nil
}

// compileFull compiles a Java-style regular expression for a full match
// (String.matches).
func compileFull(expr string) (*regexp.Regexp, error) {
	re, err := regexp.Compile(`^(?:` + expr + `)$`)
	if err != nil {
		return nil, fmt.Errorf("regular expression %q: %w", expr, err)
	}
	return re, nil
}

// value reads the constraint's field from a hostname and attribute map.
func (c Constraint) value(hostname string, attrs map[string]string) (string, bool) {
	if c.Field == FieldHostname || c.Field == "@hostname" {
		return hostname, true
	}
	v, ok := attrs[c.Field]
	return v, ok
}

// Satisfied reports whether an offer from offerHostname with
// offerAttributes may take one more instance of the app, given where its
// instances already run (Marathon's Constraints.meetsConstraint):
//
//   - UNIQUE: no running instance has the offer's value.
//   - CLUSTER: the offer's value equals the constraint value, or, without a
//     value, the value of the first running instance (any value if none).
//   - GROUP_BY: the offer's value is new, or its group is among the
//     smallest and at least Value distinct values are in use (Marathon's
//     classic even spread; the newer instance-count-aware rule needs the
//     target instance count, which this signature does not carry).
//   - LIKE / UNLIKE: the value (does not) fully match the regex.
//   - MAX_PER: fewer than Value running instances share the offer's value.
//   - IS: the value equals the constraint value (scalars compared after
//     formatting both as FormatScalar does).
//
// An offer without the attribute satisfies only UNLIKE.
func Satisfied(c Constraint, offerHostname string, offerAttributes map[string]string, running []Placement) bool {
	offerValue, ok := c.value(offerHostname, offerAttributes)
	if !ok {
		return c.Operator == OpUnlike
	}
	placed := func(p Placement) (string, bool) { return c.value(p.Hostname, p.Attributes) }
	switch c.Operator {
	case OpUnique:
		for _, p := range running {
			if v, ok := placed(p); ok && v == offerValue {
				return false
			}
		}
		return true
	case OpCluster:
		if c.HasValue && c.Value != "" {
			return offerValue == c.Value
		}
		if len(running) == 0 {
			return true
		}
		v, ok := placed(running[0])
		return ok && v == offerValue
	case OpGroupBy:
		minGroups := 0
		if c.HasValue {
			minGroups = intValue(c.Value, 0)
		}
		counts := map[string]int{}
		for _, p := range running {
			v, _ := placed(p) // instances without the attribute form their own group
			counts[v]++
		}
		n, seen := counts[offerValue]
		if !seen {
			return true
		}
		least := math.MaxInt
		for _, k := range counts {
			least = min(least, k)
		}
		return len(counts) >= minGroups && n == least
	case OpLike, OpUnlike:
		re := c.re
		if re == nil {
			var err error
			if re, err = compileFull(c.Value); err != nil || c.Value == "" {
				return false
			}
		}
		return re.MatchString(offerValue) == (c.Operator == OpLike)
	case OpMaxPer:
		limit := intValue(c.Value, 0)
		n := 0
		for _, p := range running {
			if v, ok := placed(p); ok && v == offerValue {
				n++
			}
		}
		return n < limit
	case OpIs:
		want := c.Value
		if scalarRe.MatchString(want) {
			if f, err := strconv.ParseFloat(want, 64); err == nil {
				want = FormatScalar(f)
			}
		}
		return offerValue == want
	}
	return false
}

// SatisfiesAll reports whether an offer meets every constraint.
func SatisfiesAll(cs []Constraint, offerHostname string, offerAttributes map[string]string, running []Placement) bool {
	for _, c := range cs {
		if !Satisfied(c, offerHostname, offerAttributes, running) {
			return false
		}
	}
	return true
}

var scalarRe = regexp.MustCompile(`^[0-9]+(?:\.[0-9]+)?$`)

func intValue(s string, def int) int {
	if s == "inf" {
		return math.MaxInt32
	}
	if n, err := strconv.Atoi(s); err == nil {
		return n
	}
	return def
}

// FormatScalar formats a scalar attribute as Marathon compares it: at most
// three decimals, rounded half-even, no trailing zeros (Java's
// DecimalFormat("0.###")): 1.0005 -> "1", 1.00051 -> "1.001", 2.5 -> "2.5".
func FormatScalar(f float64) string {
	// Work on the exact binary value, scaled by 1000, with room to spare.
	x := new(big.Float).SetPrec(256)
	x.SetFloat64(f)
	x.Mul(x, new(big.Float).SetPrec(256).SetInt64(1000))
	neg := x.Sign() < 0
	x.Abs(x)
	i, _ := x.Int(nil) // truncates
	frac := new(big.Float).SetPrec(256).Sub(x, new(big.Float).SetPrec(256).SetInt(i))
	switch frac.Cmp(big.NewFloat(0.5)) {
	case 1:
		i.Add(i, big.NewInt(1))
	case 0:
		if i.Bit(0) == 1 {
			i.Add(i, big.NewInt(1))
		}
	}
	s := i.String()
	for len(s) < 4 {
		s = "0" + s
	}
	out := s[:len(s)-3]
	if dec := strings.TrimRight(s[len(s)-3:], "0"); dec != "" {
		out += "." + dec
	}
	if neg && out != "0" {
		out = "-" + out
	}
	return out
}

// Range is one [begin-end] of a ranges attribute.
type Range struct{ Begin, End uint64 }

// FormatRanges formats a ranges attribute as "[b1-e1,b2-e2]", sorted by
// begin.
func FormatRanges(rs []Range) string {
	rs = slices.Clone(rs)
	slices.SortFunc(rs, func(a, b Range) int {
		switch {
		case a.Begin < b.Begin:
			return -1
		case a.Begin > b.Begin:
			return 1
		}
		return 0
	})
	parts := make([]string, len(rs))
	for i, r := range rs {
		parts[i] = fmt.Sprintf("%d-%d", r.Begin, r.End)
	}
	return "[" + strings.Join(parts, ",") + "]"
}

// FormatSet formats a set attribute as "{a,b}", items sorted.
func FormatSet(items []string) string {
	items = slices.Clone(items)
	slices.Sort(items)
	return "{" + strings.Join(items, ",") + "}"
}
