package master

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/strata-sched/strata/core/mesos"
)

// TestStandbyHandlerAnswers: a master that does not lead redirects API
// calls to the leader; with no leader known, or while it has just been
// elected and is recovering, it answers 503 with Retry-After, so agents
// come back in a second instead of doubling their backoff.
func TestStandbyHandlerAnswers(t *testing.T) {
	self := mesos.MasterInfo{ID: "self", Hostname: "m1", Port: 5050, Version: "test"}
	other := mesos.MasterInfo{ID: "other", Hostname: "m2", Port: 5051, Address: &mesos.Address{IP: "10.0.0.2", Port: 5051}}
	tests := []struct {
		name       string
		leader     *mesos.MasterInfo
		wantCode   int
		retryAfter string
		location   string
	}{
		{"no leader", nil, http.StatusServiceUnavailable, "1", ""},
		{"elected, recovering", &self, http.StatusServiceUnavailable, "1", ""},
		{"another leader", &other, http.StatusTemporaryRedirect, "", "//10.0.0.2:5051/api/v1/agent"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := StandbyHandler(self, time.Now(), func() *mesos.MasterInfo { return tc.leader })
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/api/v1/agent", strings.NewReader(`{"type":"REGISTER"}`)))
			if rec.Code != tc.wantCode {
				t.Fatalf("POST /api/v1/agent = %d %s, want %d", rec.Code, rec.Body, tc.wantCode)
			}
			if got := rec.Header().Get("Retry-After"); got != tc.retryAfter {
				t.Errorf("Retry-After = %q, want %q", got, tc.retryAfter)
			}
			if got := rec.Header().Get("Location"); got != tc.location {
				t.Errorf("Location = %q, want %q", got, tc.location)
			}
		})
	}
}
