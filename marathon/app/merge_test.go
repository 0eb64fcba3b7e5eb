package app

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
)

func mustNormalize(t *testing.T, body string) App {
	t.Helper()
	a, err := Normalize([]byte(body))
	if err != nil {
		t.Fatalf("Normalize(%s): %v", body, err)
	}
	return a
}

func TestMerge(t *testing.T) {
	base := mustNormalize(t, `{"id":"/web","cmd":"serve","instances":2,"cpus":0.5,"labels":{"a":"1"},
		"env":{"A":"1"},"portDefinitions":[{"port":10001,"name":"http"}],
		"healthChecks":[{"protocol":"HTTP","portIndex":0}],"resourceLimits":{"cpus":"unlimited"}}`)

	tests := []struct {
		name  string
		patch string
		check func(t *testing.T, got App)
	}{
		{"scale keeps everything else", `{"instances":5}`, func(t *testing.T, got App) {
			want := cloneApp(base)
			want.Instances = ptr(5)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got\n%s\nwant\n%s", js(got), js(want))
			}
		}},
		{"go-marathon scale with nulls", `{"id":"/web","instances":3,"ports":null,"dependencies":null}`, func(t *testing.T, got App) {
			if *got.Instances != 3 || got.PortDefinitions[0].Port != 10001 || got.Cmd != "serve" {
				t.Errorf("got %s", js(got))
			}
		}},
		{"fields replace whole", `{"labels":{"b":"2"},"env":{}}`, func(t *testing.T, got App) {
			if !reflect.DeepEqual(got.Labels, map[string]string{"b": "2"}) || len(got.Env) != 0 {
				t.Errorf("labels %v env %v", got.Labels, got.Env)
			}
		}},
		{"id in patch is ignored", `{"id":"/other","cpus":2}`, func(t *testing.T, got App) {
			if got.ID != "/web" || *got.CPUs != 2 {
				t.Errorf("got id %s cpus %v", got.ID, *got.CPUs)
			}
		}},
		{"deprecated ports replace portDefinitions", `{"ports":[8080,0]}`, func(t *testing.T, got App) {
			want := []PortDefinition{{Port: 8080, Protocol: "tcp"}, {Port: 0, Protocol: "tcp"}}
			if !reflect.DeepEqual(got.PortDefinitions, want) || got.Ports != nil {
				t.Errorf("portDefinitions %v ports %v", got.PortDefinitions, got.Ports)
			}
		}},
		{"deprecated uris become fetch", `{"uris":["http://x/a.zip"]}`, func(t *testing.T, got App) {
			if len(got.Fetch) != 1 || !got.Fetch[0].Extract || got.Uris != nil {
				t.Errorf("fetch %v", got.Fetch)
			}
		}},
		{"switch to bridge via docker.network", `{"container":{"type":"DOCKER","docker":{"image":"nginx","network":"BRIDGE","portMappings":[{"containerPort":80}]}}}`,
			func(t *testing.T, got App) {
				if got.HostNetworking() || got.PortDefinitions != nil || len(got.Container.PortMappings) != 1 {
					t.Errorf("got %s", js(got))
				}
				if got.Networks[0].Mode != NetworkBridge || *got.Container.PortMappings[0].HostPort != 0 {
					t.Errorf("networks %v", got.Networks)
				}
			}},
		{"resource limits kept when absent", `{"mem":256}`, func(t *testing.T, got App) {
			if got.ResourceLimits == nil || !got.ResourceLimits.CPUs.Unlimited {
				t.Errorf("resourceLimits dropped: %v", got.ResourceLimits)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := js(base)
			got, err := Merge(base, json.RawMessage(tc.patch))
			if err != nil {
				t.Fatalf("Merge: %v", err)
			}
			tc.check(t, got)
			if js(base) != before {
				t.Error("Merge modified base")
			}
		})
	}
}

func TestMergeErrors(t *testing.T) {
	base := mustNormalize(t, `{"id":"/web","cmd":"serve"}`)
	tests := []struct {
		name, patch, golden string
	}{
		{"type error", `{"instances":"many"}`, "merge_type_error.json"},
		{"invalid result", `{"cmd":"","args":["x"]}`, "merge_cmd_empty.json"},
		{"both cmd and args", `{"args":["x"]}`, "merge_cmd_and_args.json"},
		{"version with other fields", `{"version":"2015-09-25T15:13:48.343Z","cmd":"x y"}`, "merge_version_combined.json"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Merge(base, json.RawMessage(tc.patch))
			status, body := errorBody(t, err)
			if status != 422 {
				t.Errorf("status %d", status)
			}
			golden(t, tc.golden, append(body, '\n'))
		})
	}
	_, err := Merge(base, json.RawMessage(`{"version":"2015-09-25T15:13:48.343Z","id":"/web"}`))
	if !errors.Is(err, ErrRollback) {
		t.Errorf("rollback patch: got %v, want ErrRollback", err)
	}
}

func TestRollbackVersion(t *testing.T) {
	v, ok, err := RollbackVersion([]byte(`{"version":"2015-09-25T15:13:48.343Z"}`))
	if err != nil || !ok || v != "2015-09-25T15:13:48.343Z" {
		t.Errorf("got %q %v %v", v, ok, err)
	}
	if _, ok, err := RollbackVersion([]byte(`{"instances":2}`)); ok || err != nil {
		t.Errorf("plain update reported as rollback: %v %v", ok, err)
	}
}

func TestReplace(t *testing.T) {
	// PUT ?partialUpdate=false: everything not given returns to its default.
	a, err := Config{}.Replace("/basic-0", []byte(`{"id":"/ignored","cmd":"sleep 10"}`))
	if err != nil {
		t.Fatal(err)
	}
	if a.ID != "/basic-0" || *a.CPUs != 1 || *a.Mem != 128 || *a.Instances != 1 {
		t.Errorf("got %s", js(a))
	}
}

func js(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
