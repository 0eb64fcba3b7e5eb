package app

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
)

// Violation is one entry of a 422 body's details: every error found at a
// path. Paths are Marathon's: "/" for rules about the whole object, "/id",
// "/container/docker/image", array elements as "(i)": "/healthChecks(0)",
// "/apps(0)/id".
type Violation struct {
	Path   string   `json:"path"`
	Errors []string `json:"errors"`
}

// The two messages of a 422 body.
const (
	// MsgInvalidJSON heads failures of reading a body: wrong JSON types,
	// missing required fields, RAML facets (play-json error codes).
	MsgInvalidJSON = "Invalid JSON"
	// MsgNotValid heads semantic validation failures (human messages).
	MsgNotValid = "Object is not valid"
)

// ValidationError is a 422 answer: {"message":..., "details":[...]}.
// Message is [MsgInvalidJSON] or [MsgNotValid].
type ValidationError struct {
	Message    string
	Violations []Violation
}

func (e *ValidationError) Error() string {
	parts := make([]string, 0, len(e.Violations))
	for _, v := range e.Violations {
		parts = append(parts, v.Path+": "+strings.Join(v.Errors, "; "))
	}
	return strings.ToLower(e.Message[:1]) + e.Message[1:] + ": " + strings.Join(parts, ", ")
}

// MarshalJSON writes the 422 body exactly as Marathon does.
func (e *ValidationError) MarshalJSON() ([]byte, error) {
	details := e.Violations
	if details == nil {
		details = []Violation{}
	}
	return json.Marshal(struct {
		Message string      `json:"message"`
		Details []Violation `json:"details"`
	}{e.Message, details})
}

// WithPrefix returns a copy whose paths sit below prefix, as when an app is
// an element of a batch or group body: "/id" becomes "/apps(0)/id" and the
// object-level "/" becomes "/apps(0)".
func (e *ValidationError) WithPrefix(prefix string) *ValidationError {
	out := &ValidationError{Message: e.Message, Violations: make([]Violation, len(e.Violations))}
	for i, v := range e.Violations {
		out.Violations[i] = Violation{Path: joinPath(prefix, v.Path), Errors: v.Errors}
	}
	return out
}

func joinPath(prefix, p string) string {
	if p == "/" || p == "" {
		if prefix == "" {
			return "/"
		}
		return prefix
	}
	return prefix + p
}

// SyntaxError is a 400 answer for a body that is not JSON at all:
// {"message":"Invalid JSON","details":"<parser message>"}, or for an empty
// body {"message":"Please specify data in JSON format","details":...}.
type SyntaxError struct {
	Message string
	Detail  string
}

func (e *SyntaxError) Error() string { return e.Message + ": " + e.Detail }

// MarshalJSON writes the 400 body; details is a string here.
func (e *SyntaxError) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Message string `json:"message"`
		Details string `json:"details"`
	}{e.Message, e.Detail})
}

// MessageError is an answer whose body is just {"message": ...}: a label
// selector that does not parse, exhausted service ports. Marathon answers
// these with 422 (IllegalArgumentException) or 500; Strata always uses 422,
// since clients such as go-marathon treat any 5xx as "member down".
type MessageError struct {
	Message string
}

func (e *MessageError) Error() string { return e.Message }

// MarshalJSON writes {"message": ...}.
func (e *MessageError) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Message string `json:"message"`
	}{e.Message})
}

// ErrorBody maps an error returned by this package to its HTTP status and
// JSON body. ok is false for errors that did not come from here.
func ErrorBody(err error) (status int, body []byte, ok bool) {
	var (
		ve *ValidationError
		se *SyntaxError
		me *MessageError
		v  json.Marshaler
	)
	switch {
	case errors.As(err, &ve):
		status, v = http.StatusUnprocessableEntity, ve
	case errors.As(err, &se):
		status, v = http.StatusBadRequest, se
	case errors.As(err, &me):
		status, v = http.StatusUnprocessableEntity, me
	default:
		return 0, nil, false
	}
	b, mErr := v.MarshalJSON()
	if mErr != nil {
		return http.StatusInternalServerError, nil, false
	}
	return status, b, true
}

// violations collects rule failures in the order they are found and groups
// them by path, first path first, as the details array does.
type violations struct {
	byPath map[string]int
	list   []Violation
}

func (vs *violations) add(path, msg string) {
	if path == "" {
		path = "/"
	}
	if vs.byPath == nil {
		vs.byPath = map[string]int{}
	}
	i, ok := vs.byPath[path]
	if !ok {
		i = len(vs.list)
		vs.byPath[path] = i
		vs.list = append(vs.list, Violation{Path: path})
	}
	vs.list[i].Errors = append(vs.list[i].Errors, msg)
}

func (vs *violations) addf(path, format string, args ...any) {
	vs.add(path, fmt.Sprintf(format, args...))
}

func (vs *violations) merge(prefix string, other []Violation) {
	for _, v := range other {
		for _, e := range v.Errors {
			vs.add(joinPath(prefix, v.Path), e)
		}
	}
}

func (vs *violations) empty() bool { return len(vs.list) == 0 }

func (vs *violations) err(message string) error {
	if vs.empty() {
		return nil
	}
	return &ValidationError{Message: message, Violations: vs.list}
}

// javaDouble formats f the way Java's Double.toString does, which is how
// Marathon's messages print doubles: "1.0", "-3.0", "0.001", "1.0E-4",
// "1.2E7".
func javaDouble(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	case f == 0:
		if math.Signbit(f) {
			return "-0.0"
		}
		return "0.0"
	}
	abs := math.Abs(f)
	if abs >= 1e-3 && abs < 1e7 {
		s := strconv.FormatFloat(f, 'f', -1, 64)
		if !strings.Contains(s, ".") {
			s += ".0"
		}
		return s
	}
	// Scientific: one digit before the point, at least one after, "E".
	s := strconv.FormatFloat(f, 'e', -1, 64) // e.g. 1.2345e+07, 1e-04
	mant, exp, _ := strings.Cut(s, "e")
	if !strings.Contains(mant, ".") {
		mant += ".0"
	}
	n, _ := strconv.Atoi(exp)
	return mant + "E" + strconv.Itoa(n)
}
