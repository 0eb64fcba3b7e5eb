package api

import (
	"strings"
	"time"
)

// appPathKind is what a path below /v2/apps addresses.
type appPathKind int

const (
	pathApp        appPathKind = iota // /v2/apps/{id}
	pathGroupApps                     // /v2/apps/{group}/*
	pathTasks                         // /v2/apps/{id}/tasks
	pathGroupTasks                    // /v2/apps/{group}/*/tasks
	pathTask                          // /v2/apps/{id}/tasks/{taskId}
	pathVersions                      // /v2/apps/{id}/versions
	pathVersion                       // /v2/apps/{id}/versions/{version}
	pathRestart                       // /v2/apps/{id}/restart
)

// appPath is a parsed path below /v2/apps.
type appPath struct {
	kind    appPathKind
	id      string // app id, or group id for the wildcard kinds
	taskID  string
	version string
}

// parseAppPath parses rest, the part of the URL path after /v2/apps (it
// starts with "/"), for method. App ids contain slashes, so the verbs are
// recognised at the end of the path. The reserved last segments "tasks",
// "versions" and "restart" can never end an app id, which makes
// "/a/b/tasks" unambiguous; "{id}/tasks/{taskId}" is a task only for DELETE
// (there is no GET of one task), and "{id}/versions/{v}" is a version only
// for GET when {v} is a timestamp — otherwise both are app ids that happen
// to contain those segments.
func parseAppPath(method, rest string) appPath {
	p := strings.Trim(rest, "/")
	segs := strings.Split(p, "/")
	n := len(segs)
	last := segs[n-1]
	id := func(k int) string { return "/" + strings.Join(segs[:k], "/") }
	switch {
	case n >= 2 && last == "tasks" && segs[n-2] == "*":
		return appPath{kind: pathGroupTasks, id: groupOf(id(n - 2))}
	case n >= 2 && last == "tasks":
		return appPath{kind: pathTasks, id: id(n - 1)}
	case n >= 2 && last == "versions":
		return appPath{kind: pathVersions, id: id(n - 1)}
	case n >= 2 && last == "restart":
		return appPath{kind: pathRestart, id: id(n - 1)}
	case n >= 3 && segs[n-2] == "tasks" && method == "DELETE":
		return appPath{kind: pathTask, id: id(n - 2), taskID: last}
	case n >= 3 && segs[n-2] == "versions" && method == "GET" && isTimestamp(last):
		return appPath{kind: pathVersion, id: id(n - 2), version: last}
	case last == "*":
		return appPath{kind: pathGroupApps, id: groupOf(id(n - 1))}
	}
	return appPath{kind: pathApp, id: "/" + p}
}

func groupOf(id string) string {
	if id == "/" || id == "" {
		return "/"
	}
	return id
}

func isTimestamp(s string) bool {
	_, err := time.Parse(time.RFC3339Nano, s)
	return err == nil
}

// groupPath is a parsed path below /v2/groups.
type groupPath struct {
	id      string
	apps    bool   // .../apps
	verList bool   // .../versions
	version string // .../versions/{v}
}

// parseGroupPath parses the part after /v2/groups. Group ids may not end
// in "versions" or "apps" segments when those are meant as verbs; like
// Marathon, a trailing "apps" and "versions[/{ts}]" are verbs.
func parseGroupPath(rest string) groupPath {
	p := strings.Trim(rest, "/")
	if p == "" {
		return groupPath{id: "/"}
	}
	segs := strings.Split(p, "/")
	n := len(segs)
	id := func(k int) string {
		if k <= 0 {
			return "/"
		}
		return "/" + strings.Join(segs[:k], "/")
	}
	switch {
	case segs[n-1] == "apps":
		return groupPath{id: id(n - 1), apps: true}
	case segs[n-1] == "versions":
		return groupPath{id: id(n - 1), verList: true}
	case n >= 2 && segs[n-2] == "versions" && isTimestamp(segs[n-1]):
		return groupPath{id: id(n - 2), version: segs[n-1]}
	}
	return groupPath{id: "/" + p}
}
