package app

import (
	"reflect"
	"strings"
	"testing"
)

func TestTaskEnvHostNetworking(t *testing.T) {
	a := mustNormalize(t, `{"id":"/prod/web","cmd":"serve","cpus":0.5,"mem":64,
		"portDefinitions":[{"port":10000,"name":"http"},{"port":0},{"port":9090,"name":"admin"}],
		"labels":{"HAPROXY_GROUP":"external","my.label-x":"v"},
		"env":{"HOST":"overridden","EXTRA":"1"}}`)
	a.Version = "2015-09-25T15:13:48.343Z"
	got := TaskEnv(a, "agent1.example.com", []uint64{31001, 31002, 31003}, "prod_web.5dd78972-6771-11e5-94e1-be5b2935a987")
	want := map[string]string{
		"MESOS_TASK_ID":                    "prod_web.5dd78972-6771-11e5-94e1-be5b2935a987",
		"MARATHON_APP_ID":                  "/prod/web",
		"MARATHON_APP_VERSION":             "2015-09-25T15:13:48.343Z",
		"MARATHON_APP_RESOURCE_CPUS":       "0.5",
		"MARATHON_APP_RESOURCE_MEM":        "64.0",
		"MARATHON_APP_RESOURCE_DISK":       "0.0",
		"MARATHON_APP_RESOURCE_GPUS":       "0",
		"MARATHON_APP_LABELS":              "HAPROXY_GROUP MY_LABEL_X",
		"MARATHON_APP_LABEL_HAPROXY_GROUP": "external",
		"MARATHON_APP_LABEL_MY_LABEL_X":    "v",
		"HOST":                             "overridden", // app env wins
		"EXTRA":                            "1",
		"PORT0":                            "31001",
		"PORT1":                            "31002",
		"PORT2":                            "31003",
		"PORT":                             "31001",
		"PORTS":                            "31001,31002,31003",
		"PORT_10000":                       "31001",
		"PORT_31002":                       "31002",
		"PORT_9090":                        "31003",
		"PORT_HTTP":                        "31001",
		"PORT_ADMIN":                       "31003",
	}
	if !reflect.DeepEqual(got, want) {
		for k, v := range want {
			if got[k] != v {
				t.Errorf("%s = %q, want %q", k, got[k], v)
			}
		}
		for k, v := range got {
			if _, ok := want[k]; !ok {
				t.Errorf("unexpected %s=%q", k, v)
			}
		}
	}
}

func TestTaskEnvDockerBridge(t *testing.T) {
	a := mustNormalize(t, `{"id":"/web","container":{"type":"DOCKER","docker":{"image":"nginx:1.25"},
		"portMappings":[{"containerPort":80,"name":"http"},{"containerPort":9000}]},
		"networks":[{"mode":"container/bridge"}],"labels":{"`+strings.Repeat("k", 600)+`":"dropped"}}`)
	got := TaskEnv(a, "h", []uint64{31005, 0}, "web.x")
	checks := map[string]string{
		"MARATHON_APP_DOCKER_IMAGE": "nginx:1.25",
		"PORT0":                     "31005",
		"PORT1":                     "9000", // no host port: the fixed container port
		"PORT_80":                   "31005",
		"PORT_9000":                 "9000",
		"PORT_HTTP":                 "31005",
		"PORT":                      "31005",
		"PORTS":                     "31005",
		"MARATHON_APP_LABELS":       "",
		"HOST":                      "h",
	}
	for k, v := range checks {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
}

func TestTaskEnvNoPorts(t *testing.T) {
	b := App{ID: "/batch", Cmd: "run", Env: map[string]EnvValue{"S": EnvSecret("s"), "P": EnvString("p")}}
	got := TaskEnv(b, "", nil, "batch.x")
	if _, ok := got["PORTS"]; ok {
		t.Error("PORTS set without ports")
	}
	if _, ok := got["S"]; ok {
		t.Error("secret reference copied into the environment")
	}
	if got["P"] != "p" || got["MARATHON_APP_RESOURCE_CPUS"] != "1.0" || got["MARATHON_APP_RESOURCE_MEM"] != "128.0" {
		t.Errorf("got %v", got)
	}
	if _, ok := got["HOST"]; ok {
		t.Error("HOST set without a host")
	}
}
