package api_test

import (
	"log/slog"
	"net/http/httptest"
	"testing"

	"github.com/strata-sched/strata/marathon/api"
	"github.com/strata-sched/strata/marathon/events"
)

// TestLogging: GET /logging shows the level, POST changes it at run time;
// bad requests answer Marathon's error shapes and change nothing.
func TestLogging(t *testing.T) {
	lv := new(slog.LevelVar)
	srv := httptest.NewServer(api.New(api.Config{Bus: events.NewBus(0, nil), Leader: fakeLeader{}, LevelVar: lv}))
	defer srv.Close()
	s := &server{t: t, srv: srv}

	if code, _, body := s.do("GET", "/logging", ""); code != 200 || body != `{"ROOT":"INFO","mesosphere.marathon":"INFO (inherited)"}` {
		t.Fatalf("GET: %d %s", code, body)
	}
	for _, c := range []struct {
		name, body string
		code       int
		want       string // exact body, or "" to skip
		level      slog.Level
	}{
		{"debug on ROOT", `{"logger":"ROOT","level":"debug"}`, 200, `{"logger":"ROOT","level":"debug"}`, slog.LevelDebug},
		{"unknown level", `{"logger":"ROOT","level":"verbose"}`, 400,
			`{"message":"Unknown log level \"verbose\": expected one of trace, debug, info, warn, error, off"}`, slog.LevelDebug},
		{"upper case, alias", `{"logger":"mesosphere.marathon","level":"WARN"}`, 200, `{"logger":"mesosphere.marathon","level":"warn"}`, slog.LevelWarn},
		{"no logger", `{"level":"info"}`, 422, `{"message":"Object is not valid","details":[{"path":"/logger","errors":["must not be empty"]}]}`, slog.LevelWarn},
		{"unknown logger", `{"logger":"org.eclipse.jetty","level":"info"}`, 404, "", slog.LevelWarn},
		{"not JSON", `level=info`, 400, "", slog.LevelWarn},
		{"empty body", ``, 400, `{"message":"Please specify data in JSON format","details":"No content to map due to end-of-input"}`, slog.LevelWarn},
		{"bad duration", `{"logger":"ROOT","level":"info","durationSeconds":0}`, 422, "", slog.LevelWarn},
		{"trace", `{"logger":"ROOT","level":"trace"}`, 200, `{"logger":"ROOT","level":"trace"}`, slog.LevelDebug - 4},
	} {
		code, _, body := s.do("POST", "/logging", c.body)
		if code != c.code || (c.want != "" && body != c.want) {
			t.Errorf("%s: %d %s, want %d %s", c.name, code, body, c.code, c.want)
		}
		if lv.Level() != c.level {
			t.Errorf("%s: level %v, want %v", c.name, lv.Level(), c.level)
		}
	}
	if code, _, body := s.do("GET", "/logging", ""); code != 200 || body != `{"ROOT":"TRACE","mesosphere.marathon":"TRACE (inherited)"}` {
		t.Fatalf("GET after changes: %d %s", code, body)
	}

	// Without a level switch the endpoint says so.
	plain := httptest.NewServer(api.New(api.Config{Bus: events.NewBus(0, nil), Leader: fakeLeader{}}))
	defer plain.Close()
	s2 := &server{t: t, srv: plain}
	if code, _, _ := s2.do("POST", "/logging", `{"logger":"ROOT","level":"debug"}`); code != 400 {
		t.Fatalf("without LevelVar: %d", code)
	}
}
