package app

import (
	"strings"
	"testing"

	"github.com/google/uuid"
)

func TestTaskIDRoundTrip(t *testing.T) {
	for _, id := range []string{"/web", "/prod/web", "/a/b/c", "/dot.ted/x", "/9"} {
		tid := NewTaskID(id)
		if want := SafeID(id) + "."; !strings.HasPrefix(tid, want) {
			t.Errorf("NewTaskID(%q) = %q, want prefix %q", id, tid, want)
		}
		got, err := AppIDFromTaskID(tid)
		if err != nil || got != id {
			t.Errorf("AppIDFromTaskID(%q) = %q, %v; want %q", tid, got, err, id)
		}
		// go-marathon's rule: everything before the last "." with "_" -> "/".
		gm := "/" + strings.ReplaceAll(tid[:strings.LastIndex(tid, ".")], "_", "/")
		if gm != id {
			t.Errorf("go-marathon would derive %q from %q", gm, tid)
		}
	}
	u := uuid.MustParse("5dd78972-6771-11e5-94e1-be5b2935a987")
	if got := TaskIDFor("/prod/web", u); got != "prod_web.5dd78972-6771-11e5-94e1-be5b2935a987" {
		t.Errorf("TaskIDFor = %q", got)
	}
	inst := InstanceIDFor("/prod/web", u)
	if got, err := AppIDFromInstanceID(inst); err != nil || got != "/prod/web" || inst != "prod_web.marathon-5dd78972-6771-11e5-94e1-be5b2935a987" {
		t.Errorf("instance %q -> %q %v", inst, got, err)
	}
}

func TestParseTaskIDForms(t *testing.T) {
	tests := []struct {
		id   string
		want ParsedTaskID
	}{
		{"test-app.5dd78972-6771-11e5-94e1-be5b2935a987", ParsedTaskID{AppID: "/test-app", UUID: "5dd78972-6771-11e5-94e1-be5b2935a987"}},
		{"a_b_5dd78972-6771-11e5-94e1-be5b2935a987", ParsedTaskID{AppID: "/a/b", UUID: "5dd78972-6771-11e5-94e1-be5b2935a987"}},
		{"a.5dd78972-6771-11e5-94e1-be5b2935a987.3", ParsedTaskID{AppID: "/a", UUID: "5dd78972-6771-11e5-94e1-be5b2935a987", Incarnation: 3}},
		{"minecraft_survival-world.instance-564bd685-4c30-11e5-98c1-be5b2935a987._app.1",
			ParsedTaskID{AppID: "/minecraft/survival-world", UUID: "564bd685-4c30-11e5-98c1-be5b2935a987", Incarnation: 1}},
		{"svc.marathon-c0caec0a-863a-11e9-915b-c610fee06dff._app", ParsedTaskID{AppID: "/svc", UUID: "c0caec0a-863a-11e9-915b-c610fee06dff"}},
	}
	for _, tc := range tests {
		got, err := ParseTaskID(tc.id)
		if err != nil || got != tc.want {
			t.Errorf("ParseTaskID(%q) = %+v, %v; want %+v", tc.id, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "noseparator", "app.not-a-uuid", "app."} {
		if _, err := ParseTaskID(bad); err == nil {
			t.Errorf("ParseTaskID(%q): no error", bad)
		}
	}
}
