package api

import "testing"

func TestParseAppPath(t *testing.T) {
	tests := []struct {
		method, rest string
		want         appPath
	}{
		{"GET", "/a", appPath{kind: pathApp, id: "/a"}},
		{"GET", "/a/b/", appPath{kind: pathApp, id: "/a/b"}},
		{"GET", "/a/b/tasks", appPath{kind: pathTasks, id: "/a/b"}},
		{"DELETE", "/a/b/tasks", appPath{kind: pathTasks, id: "/a/b"}},
		{"DELETE", "/a/b/tasks/a_b.123", appPath{kind: pathTask, id: "/a/b", taskID: "a_b.123"}},
		// No GET of a single task: an app whose id has a "tasks" segment.
		{"GET", "/a/tasks/x", appPath{kind: pathApp, id: "/a/tasks/x"}},
		{"GET", "/tasks/x", appPath{kind: pathApp, id: "/tasks/x"}},
		{"GET", "/a/versions", appPath{kind: pathVersions, id: "/a"}},
		{"GET", "/a/versions/2015-09-25T15:13:48.343Z", appPath{kind: pathVersion, id: "/a", version: "2015-09-25T15:13:48.343Z"}},
		{"GET", "/a/versions/x", appPath{kind: pathApp, id: "/a/versions/x"}},
		{"POST", "/a/b/restart", appPath{kind: pathRestart, id: "/a/b"}},
		{"DELETE", "/a/b/restart", appPath{kind: pathRestart, id: "/a/b"}},
		{"GET", "/prod/*", appPath{kind: pathGroupApps, id: "/prod"}},
		{"GET", "/*", appPath{kind: pathGroupApps, id: "/"}},
		{"GET", "/prod/*/tasks", appPath{kind: pathGroupTasks, id: "/prod"}},
		{"GET", "/tasks", appPath{kind: pathApp, id: "/tasks"}},
	}
	for _, tc := range tests {
		if got := parseAppPath(tc.method, tc.rest); got != tc.want {
			t.Errorf("%s %s = %+v, want %+v", tc.method, tc.rest, got, tc.want)
		}
	}
}

func TestParseGroupPath(t *testing.T) {
	tests := []struct {
		rest string
		want groupPath
	}{
		{"", groupPath{id: "/"}},
		{"/", groupPath{id: "/"}},
		{"/a/b", groupPath{id: "/a/b"}},
		{"/a/apps", groupPath{id: "/a", apps: true}},
		{"/apps", groupPath{id: "/", apps: true}},
		{"/a/versions", groupPath{id: "/a", verList: true}},
		{"/versions", groupPath{id: "/", verList: true}},
		{"/a/versions/2015-09-25T15:13:48.343Z", groupPath{id: "/a", version: "2015-09-25T15:13:48.343Z"}},
	}
	for _, tc := range tests {
		if got := parseGroupPath(tc.rest); got != tc.want {
			t.Errorf("%q = %+v, want %+v", tc.rest, got, tc.want)
		}
	}
}
