package app

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
	"regexp"
	"strconv"
	"strings"
)

// This file is the "read" step: what Marathon's generated RAML readers
// (play-json) do before any validator runs. A body is decoded into a generic
// tree, checked against a schema, and rebuilt with the values converted
// (integers as integers, enums in their canonical spelling, nested defaults
// filled, unknown fields dropped, nulls treated as absent). Failures carry
// play-json's error codes, accumulated over all fields.

// Play-json error codes, as Marathon returns them in "Invalid JSON" bodies.
const (
	errPathMissing  = "error.path.missing"
	errExpString    = "error.expected.jsstring"
	errExpNumber    = "error.expected.jsnumber"
	errExpInt       = "error.expected.int"
	errExpLong      = "error.expected.long"
	errExpBoolean   = "error.expected.jsboolean"
	errExpArray     = "error.expected.jsarray"
	errExpObject    = "error.expected.jsobject"
	errEnumLiteral  = "error.unknown.enum.literal"
	errMinLength    = "error.minLength"
	errMaxLength    = "error.maxLength"
	errPattern      = "error.pattern"
	errMin          = "error.min"
	errMax          = "error.max"
	msgEmptyBody    = "Please specify data in JSON format"
	detailEmptyBody = "No content to map due to end-of-input"
)

type kind uint8

const (
	kString kind = iota
	kInt         // int32
	kLong        // int64
	kNumber      // double
	kBool
	kArray
	kObject
	kMap // object with free keys
	kEnum
	kAny
	kCustom
)

// schema describes one JSON value. Schemas are built once into
// package-level values and never changed.
type schema struct {
	kind     kind
	elem     *schema // kArray, kMap
	fields   []field // kObject
	enum     []string
	minLen   int // string length or array items; -1 = none
	maxLen   int
	pattern  *regexp.Regexp
	min, max *float64
	unique   bool // kArray: RAML uniqueItems (a Set: duplicates collapse)
	custom   func(r *reader, v any, path string) (any, bool)
}

type field struct {
	name     string
	s        *schema
	required bool
	def      any // JSON value used when absent; nil = none
}

type opt func(*schema)

func newSchema(k kind, opts []opt) *schema {
	s := &schema{kind: k, minLen: -1, maxLen: -1}
	for _, o := range opts {
		o(s)
	}
	return s
}

func tString(opts ...opt) *schema { return newSchema(kString, opts) }
func tInt(opts ...opt) *schema    { return newSchema(kInt, opts) }
func tLong(opts ...opt) *schema   { return newSchema(kLong, opts) }
func tNumber(opts ...opt) *schema { return newSchema(kNumber, opts) }
func tBool() *schema              { return newSchema(kBool, nil) }
func tAny() *schema               { return newSchema(kAny, nil) }
func tArray(elem *schema, opts ...opt) *schema {
	s := newSchema(kArray, opts)
	s.elem = elem
	return s
}
func tMap(elem *schema) *schema {
	s := newSchema(kMap, nil)
	s.elem = elem
	return s
}
func tObject(fields ...field) *schema {
	s := newSchema(kObject, nil)
	s.fields = fields
	return s
}
func tEnum(values ...string) *schema {
	s := newSchema(kEnum, nil)
	s.enum = values
	return s
}
func tCustom(f func(r *reader, v any, path string) (any, bool)) *schema {
	s := newSchema(kCustom, nil)
	s.custom = f
	return s
}

func minLength(n int) opt { return func(s *schema) { s.minLen = n } }
func maxLength(n int) opt { return func(s *schema) { s.maxLen = n } }
func pattern(re *regexp.Regexp) opt {
	return func(s *schema) { s.pattern = re }
}
func minimum(f float64) opt { return func(s *schema) { s.min = &f } }
func maximum(f float64) opt { return func(s *schema) { s.max = &f } }
func uniqueItems() opt      { return func(s *schema) { s.unique = true } }

func optional(name string, s *schema) field       { return field{name: name, s: s} }
func required(name string, s *schema) field       { return field{name: name, s: s, required: true} }
func withDef(name string, s *schema, d any) field { return field{name: name, s: s, def: d} }

// reader walks a decoded tree against a schema, collecting errors.
type reader struct {
	errs violations
}

func (r *reader) fail(path, code string) { r.errs.add(path, code) }

// decodeTree parses a request body into a generic tree (numbers kept as
// json.Number). Errors are *SyntaxError.
func decodeTree(data []byte) (any, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, &SyntaxError{Message: msgEmptyBody, Detail: detailEmptyBody}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, &SyntaxError{Message: MsgInvalidJSON, Detail: syntaxDetail(err)}
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, &SyntaxError{Message: MsgInvalidJSON, Detail: "Unexpected content after the end of the JSON value"}
	}
	return v, nil
}

func syntaxDetail(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return se.Error() + " at offset " + strconv.FormatInt(se.Offset, 10)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return "Unexpected end-of-input"
	}
	return err.Error()
}

// read checks v against s and returns the converted value. ok is false if
// anything at or below path failed.
func (r *reader) read(v any, s *schema, path string) (any, bool) {
	switch s.kind {
	case kAny:
		return v, true
	case kCustom:
		return s.custom(r, v, path)
	case kString:
		str, isStr := v.(string)
		if !isStr {
			r.fail(path, errExpString)
			return nil, false
		}
		return str, r.checkString(str, s, path)
	case kInt, kLong:
		n, isNum := v.(json.Number)
		if !isNum {
			r.fail(path, errExpNumber)
			return nil, false
		}
		i, ok := integral(n, s.kind == kInt)
		if !ok {
			if s.kind == kInt {
				r.fail(path, errExpInt)
			} else {
				r.fail(path, errExpLong)
			}
			return nil, false
		}
		return i, r.checkRange(float64(i), s, path)
	case kNumber:
		n, isNum := v.(json.Number)
		if !isNum {
			r.fail(path, errExpNumber)
			return nil, false
		}
		f, err := strconv.ParseFloat(string(n), 64)
		if err != nil {
			r.fail(path, errExpNumber)
			return nil, false
		}
		return f, r.checkRange(f, s, path)
	case kBool:
		b, isBool := v.(bool)
		if !isBool {
			r.fail(path, errExpBoolean)
			return nil, false
		}
		return b, true
	case kEnum:
		str, isStr := v.(string)
		if isStr {
			for _, e := range s.enum {
				if strings.EqualFold(e, str) {
					return e, true
				}
			}
		}
		r.fail(path, errEnumLiteral)
		return nil, false
	case kArray:
		return r.readArray(v, s, path)
	case kMap:
		m, isObj := v.(map[string]any)
		if !isObj {
			r.fail(path, errExpObject)
			return nil, false
		}
		out := make(map[string]any, len(m))
		ok := true
		for _, k := range sortedKeys(m) {
			ev, eok := r.read(m[k], s.elem, path+"/"+k)
			ok = ok && eok
			out[k] = ev
		}
		return out, ok
	case kObject:
		m, isObj := v.(map[string]any)
		if !isObj {
			r.fail(path, errExpObject)
			return nil, false
		}
		return r.readFields(m, s.fields, path)
	}
	panic("app: unknown schema kind")
}

func (r *reader) readFields(m map[string]any, fields []field, path string) (map[string]any, bool) {
	out := make(map[string]any, len(fields))
	ok := true
	for _, f := range fields {
		fv, present := m[f.name]
		if !present || fv == nil {
			switch {
			case f.required:
				if fv == nil && present {
					// play reads a required null with the value's reader
					r.read(nil, f.s, path+"/"+f.name)
				} else {
					r.fail(path+"/"+f.name, errPathMissing)
				}
				ok = false
			case f.def != nil:
				out[f.name] = cloneJSON(f.def)
			}
			continue
		}
		v, fok := r.read(fv, f.s, path+"/"+f.name)
		ok = ok && fok
		if fok {
			out[f.name] = v
		}
	}
	return out, ok
}

func (r *reader) readArray(v any, s *schema, path string) (any, bool) {
	a, isArr := v.([]any)
	if !isArr {
		r.fail(path, errExpArray)
		return nil, false
	}
	out := make([]any, 0, len(a))
	ok := true
	seen := map[string]bool{}
	for i, e := range a {
		ev, eok := r.read(e, s.elem, path+"("+strconv.Itoa(i)+")")
		ok = ok && eok
		if s.unique && eok {
			key, _ := json.Marshal(ev)
			if seen[string(key)] {
				continue
			}
			seen[string(key)] = true
		}
		out = append(out, ev)
	}
	if s.maxLen >= 0 && len(out) > s.maxLen {
		r.fail(path, errMaxLength)
		ok = false
	}
	if s.minLen >= 0 && len(out) < s.minLen {
		r.fail(path, errMinLength)
		ok = false
	}
	return out, ok
}

func (r *reader) checkString(str string, s *schema, path string) bool {
	ok := true
	n := len([]rune(str))
	if s.maxLen >= 0 && n > s.maxLen {
		r.fail(path, errMaxLength)
		ok = false
	}
	if s.minLen >= 0 && n < s.minLen {
		r.fail(path, errMinLength)
		ok = false
	}
	if s.pattern != nil && !s.pattern.MatchString(str) {
		r.fail(path, errPattern)
		ok = false
	}
	return ok
}

func (r *reader) checkRange(f float64, s *schema, path string) bool {
	ok := true
	if s.max != nil && f > *s.max {
		r.fail(path, errMax)
		ok = false
	}
	if s.min != nil && f < *s.min {
		r.fail(path, errMin)
		ok = false
	}
	return ok
}

// integral converts a JSON number to an integer the way play-json's Int and
// Long readers do: any number whose value is a whole number in range.
func integral(n json.Number, int32Range bool) (int64, bool) {
	lo, hi := int64(math.MinInt64), int64(math.MaxInt64)
	if int32Range {
		lo, hi = math.MinInt32, math.MaxInt32
	}
	if i, err := strconv.ParseInt(string(n), 10, 64); err == nil {
		return i, i >= lo && i <= hi
	}
	f, err := strconv.ParseFloat(string(n), 64)
	if err != nil || f != math.Trunc(f) || f < float64(lo) || f > float64(hi) {
		return 0, false
	}
	return int64(f), true
}

func cloneJSON(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = cloneJSON(e)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = cloneJSON(e)
		}
		return out
	}
	return v
}

// readInto reads data with s and decodes the converted tree into dst.
func readInto(data []byte, s *schema, dst any) (present map[string]any, err error) {
	tree, err := decodeTree(data)
	if err != nil {
		return nil, err
	}
	return readTreeInto(tree, s, dst, "")
}

// readTreeInto is readInto for an already decoded tree; prefix is placed
// before every error path. It returns the converted top-level object, whose
// keys are the fields the body set.
func readTreeInto(tree any, s *schema, dst any, prefix string) (map[string]any, error) {
	var r reader
	v, ok := r.read(tree, s, prefix)
	if !ok {
		return nil, r.errs.err(MsgInvalidJSON)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, &SyntaxError{Message: MsgInvalidJSON, Detail: err.Error()}
	}
	if err := json.Unmarshal(b, dst); err != nil {
		// The schema and the Go types disagree: a bug in this package.
		return nil, &SyntaxError{Message: MsgInvalidJSON, Detail: "internal decoding error: " + err.Error()}
	}
	m, _ := v.(map[string]any)
	return m, nil
}
