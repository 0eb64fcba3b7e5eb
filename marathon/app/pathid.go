package app

import (
	"fmt"
	"regexp"
	"strings"
)

// idSegmentPattern is the per-segment rule of Marathon's PathId validator;
// the text is part of the error message and must not change.
const idSegmentPattern = `^(([a-z0-9]|[a-z0-9][a-z0-9\-]*[a-z0-9])\.)*([a-z0-9]|[a-z0-9][a-z0-9\-]*[a-z0-9])|(\.|\.\.)$`

// ramlPathIDPattern is the RAML facet of strings.PathId, applied when a
// request body is read (failures are "error.pattern").
const ramlPathIDPattern = `^(\/?((\.\.)|(([a-z0-9]|[a-z0-9][a-z0-9\-]*[a-z0-9])\.)*([a-z0-9]|[a-z0-9][a-z0-9\-]*[a-z0-9]))?($|\/))+$`

var (
	// Java's String.matches is a full match, so every pattern is anchored
	// around the whole alternation.
	idSegmentRe  = regexp.MustCompile(`^(?:` + idSegmentPattern + `)$`)
	ramlPathIDRe = regexp.MustCompile(`^(?:` + ramlPathIDPattern + `)$`)
)

// reservedLastSegments may not end an app or group id: they would collide
// with the /v2/apps/{id}/restart, /tasks and /versions routes.
var reservedLastSegments = []string{"restart", "tasks", "versions", ".", ".."}

// Messages of the PathId validator (state/PathId.scala).
var (
	msgIDPattern  = fmt.Sprintf("must fully match regular expression '%s'", idSegmentPattern)
	msgIDReserved = "must not end with any of the following reserved keywords: " + strings.Join(reservedLastSegments, ", ")
)

const (
	msgIDNotAbsolute = "Path needs to be absolute"
	msgIDEmpty       = "Path must contain at least one path element"
	msgIDRoot        = "must not be root"
)

// segments splits a path id into its non-empty segments, as PathId does:
// leading and trailing slashes are dropped and "a//b" is "a/b".
func segments(id string) []string {
	var out []string
	for s := range strings.SplitSeq(id, "/") {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

func joinAbsolute(segs []string) string { return "/" + strings.Join(segs, "/") }

// CanonicalID resolves id against the absolute group path base and returns an
// absolute, clean id: relative ids are appended to base, "." segments are
// dropped and ".." removes the previous segment (never above the root). An
// empty base means the root group.
//
//	CanonicalID("../db", "/prod/web") == "/prod/db"
//	CanonicalID("/a/./b/", "/x")     == "/a/b"
func CanonicalID(id, base string) string {
	var in []string
	if !strings.HasPrefix(id, "/") {
		in = segments(base)
	}
	in = append(in, segments(id)...)
	out := make([]string, 0, len(in))
	for _, s := range in {
		switch s {
		case ".":
		case "..":
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
		default:
			out = append(out, s)
		}
	}
	return joinAbsolute(out)
}

// ParentID is the id of the group that contains id ("/" for top-level ids
// and for the root itself).
func ParentID(id string) string {
	segs := segments(id)
	if len(segs) <= 1 {
		return "/"
	}
	return joinAbsolute(segs[:len(segs)-1])
}

// IsChildOf reports whether id lies strictly below the group path parent.
func IsChildOf(id, parent string) bool {
	ps, is := segments(parent), segments(id)
	if len(is) <= len(ps) {
		return false
	}
	for i := range ps {
		if ps[i] != is[i] {
			return false
		}
	}
	return true
}

// SafeID is the app id as used in task ids and Mesos names: the segments
// joined with "_" ("/a/b/c" -> "a_b_c"); "_" cannot occur inside a segment.
func SafeID(id string) string { return strings.Join(segments(id), "_") }

// IDViolations checks an app or group id the way Marathon's PathId
// validator does for ids that did not come through a JSON body (URL paths,
// ids resolved against a group): every segment matches the id pattern, the
// last segment is not reserved, and the id is absolute and not the root. The
// messages are Marathon's; the caller places them under its path ("/id").
func IDViolations(id string) []string {
	var errs []string
	segs := segments(id)
	for _, s := range segs {
		if !idSegmentRe.MatchString(s) {
			errs = append(errs, msgIDPattern)
			break
		}
	}
	if len(segs) > 0 {
		last := segs[len(segs)-1]
		for _, r := range reservedLastSegments {
			if last == r {
				errs = append(errs, msgIDReserved)
				break
			}
		}
	}
	if !strings.HasPrefix(id, "/") {
		errs = append(errs, msgIDNotAbsolute)
	}
	if len(segs) == 0 {
		errs = append(errs, msgIDEmpty)
	}
	return errs
}
