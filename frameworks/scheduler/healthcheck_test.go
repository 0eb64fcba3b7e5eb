package scheduler

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestHealthCheckBuilders(t *testing.T) {
	for _, tc := range []struct {
		name string
		got  any
		want []string
	}{
		{"http", HealthCheckHTTP(8080, "/health"), []string{`"type":"HTTP"`, `"port":8080`, `"path":"/health"`}},
		{"tcp", HealthCheckTCP(6379), []string{`"type":"TCP"`, `"port":6379`}},
		{"command", HealthCheckCommand("test -f /tmp/ok"), []string{`"type":"COMMAND"`, `"value":"test -f /tmp/ok"`, `"shell":true`}},
		{"timing", WithTiming(HealthCheckTCP(1), 0, 0.5, 2, 0, 4), []string{`"interval_seconds":0.5`, `"timeout_seconds":2`, `"consecutive_failures":4`}},
	} {
		b, err := json.Marshal(tc.got)
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range tc.want {
			if !strings.Contains(string(b), w) {
				t.Errorf("%s: %s lacks %s", tc.name, b, w)
			}
		}
	}
}
