package app

import (
	"fmt"
	"slices"
	"strings"
)

// Selector is a parsed label selector query (GET /v2/apps?label=...): a
// conjunction of requirements.
type Selector []Requirement

// Requirement is one selector term. Every form requires the label to exist;
// "!=" and "notin" then test its value (as Marathon's LabelSelector does:
// an app without the label never matches).
type Requirement struct {
	Key    string
	Op     string // "exists", "==", "!=", "in", "notin"
	Values []string
}

// Match reports whether labels satisfy every requirement. The empty
// selector matches everything.
func (s Selector) Match(labels map[string]string) bool {
	for _, r := range s {
		v, ok := labels[r.Key]
		if !ok {
			return false
		}
		switch r.Op {
		case "==":
			ok = v == r.Values[0]
		case "!=":
			ok = v != r.Values[0]
		case "in":
			ok = slices.Contains(r.Values, v)
		case "notin":
			ok = !slices.Contains(r.Values, v)
		}
		if !ok {
			return false
		}
	}
	return true
}

// ParseSelector parses Marathon's label selector grammar:
//
//	query    = [ selector { "," selector } ]
//	selector = term ( "==" | "!=" ) term | term ( "in" | "notin" ) set | term
//	set      = "(" [ term { "," term } ] ")"
//	term     = 1*( "\" any | A-Z | a-z | 0-9 | "-" | "_" | "." )
//
// Whitespace between tokens is ignored; a backslash escapes any character.
// Errors are *MessageError ("Can not parse label selector ..."), a 422 as
// Marathon's IllegalArgumentException.
func ParseSelector(s string) (Selector, error) {
	p := selParser{in: []rune(s)}
	sel, err := p.query()
	if err != nil {
		return nil, &MessageError{Message: fmt.Sprintf("Can not parse label selector %s. Reason: %s", s, err)}
	}
	return sel, nil
}

type selParser struct {
	in  []rune
	pos int
}

func (p *selParser) skip() {
	for p.pos < len(p.in) && (p.in[p.pos] == ' ' || p.in[p.pos] == '\t' || p.in[p.pos] == '\n' || p.in[p.pos] == '\r') {
		p.pos++
	}
}

func isTermRune(r rune) bool {
	return r == '-' || r == '_' || r == '.' || (r >= 'A' && r <= 'Z') || (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9')
}

// term reads a term and returns it unescaped; ok is false if none is here.
func (p *selParser) term() (string, bool) {
	p.skip()
	var b strings.Builder
	start := p.pos
	for p.pos < len(p.in) {
		r := p.in[p.pos]
		switch {
		case r == '\\' && p.pos+1 < len(p.in):
			b.WriteRune(p.in[p.pos+1])
			p.pos += 2
		case isTermRune(r):
			b.WriteRune(r)
			p.pos++
		default:
			return b.String(), p.pos > start
		}
	}
	return b.String(), p.pos > start
}

// lit consumes the literal s if it comes next.
func (p *selParser) lit(s string) bool {
	p.skip()
	rs := []rune(s)
	if p.pos+len(rs) > len(p.in) || string(p.in[p.pos:p.pos+len(rs)]) != s {
		return false
	}
	p.pos += len(rs)
	return true
}

func (p *selParser) query() (Selector, error) {
	sel := Selector{}
	p.skip()
	if p.pos == len(p.in) {
		return sel, nil
	}
	for {
		r, err := p.selector()
		if err != nil {
			return nil, err
		}
		sel = append(sel, r)
		if !p.lit(",") {
			break
		}
	}
	p.skip()
	if p.pos != len(p.in) {
		return nil, fmt.Errorf("unexpected %q at position %d", string(p.in[p.pos:]), p.pos)
	}
	return sel, nil
}

func (p *selParser) selector() (Requirement, error) {
	key, ok := p.term()
	if !ok {
		return Requirement{}, fmt.Errorf("label expected at position %d", p.pos)
	}
	save := p.pos
	// Set selector: the operator is a term of its own ("in", "notin")
	// followed by a parenthesised set.
	if op, ok := p.term(); ok && (op == "in" || op == "notin") {
		if p.lit("(") {
			var vals []string
			if !p.lit(")") {
				for {
					v, ok := p.term()
					if !ok {
						return Requirement{}, fmt.Errorf("value expected at position %d", p.pos)
					}
					vals = append(vals, v)
					if p.lit(")") {
						break
					}
					if !p.lit(",") {
						return Requirement{}, fmt.Errorf("',' or ')' expected at position %d", p.pos)
					}
				}
			}
			return Requirement{Key: key, Op: op, Values: vals}, nil
		}
	}
	p.pos = save
	for _, op := range []string{"==", "!="} {
		if p.lit(op) {
			v, ok := p.term()
			if !ok {
				return Requirement{}, fmt.Errorf("value expected at position %d", p.pos)
			}
			return Requirement{Key: key, Op: op, Values: []string{v}}, nil
		}
	}
	p.pos = save
	return Requirement{Key: key, Op: "exists"}, nil
}
