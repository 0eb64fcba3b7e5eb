package api

import (
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/strata-sched/strata/marathon/app"
)

// /logging: the log level at run time (Marathon's SystemResource). Strata
// logs through one slog.LevelVar, so there is one logger, ROOT; the name
// Marathon's own loggers hang under, mesosphere.marathon, is accepted as
// an alias and listed as inheriting ROOT's level.
//
//	GET  /logging  -> {"ROOT":"INFO","mesosphere.marathon":"INFO (inherited)"}
//	POST /logging     {"logger":"ROOT","level":"debug","durationSeconds":60}
//	               -> the change; with durationSeconds the previous level
//	                  comes back after that long.

const (
	rootLogger     = "ROOT"
	marathonLogger = "mesosphere.marathon"
)

// logLevels names the levels accepted, lowest first; trace is below debug
// and off above error.
var logLevels = []struct {
	name  string
	level slog.Level
}{
	{"trace", slog.LevelDebug - 4},
	{"debug", slog.LevelDebug},
	{"info", slog.LevelInfo},
	{"warn", slog.LevelWarn},
	{"error", slog.LevelError},
	{"off", slog.LevelError + 100},
}

func levelByName(name string) (slog.Level, bool) {
	n := strings.ToLower(strings.TrimSpace(name))
	if n == "warning" {
		n = "warn"
	}
	for _, l := range logLevels {
		if l.name == n {
			return l.level, true
		}
	}
	return 0, false
}

func levelName(v slog.Level) string {
	name := logLevels[0].name
	for _, l := range logLevels {
		if v >= l.level {
			name = l.name
		}
	}
	return strings.ToUpper(name)
}

// levelSwitch changes a LevelVar, with an optional timed revert.
type levelSwitch struct {
	lv *slog.LevelVar

	mu     sync.Mutex
	revert *time.Timer
}

type loggerChange struct {
	Logger          string `json:"logger"`
	Level           string `json:"level"`
	DurationSeconds *int   `json:"durationSeconds,omitempty"`
}

// GET /logging
func (s *server) getLogging(w http.ResponseWriter, r *http.Request) {
	lv, ok := s.levelVar(w)
	if !ok {
		return
	}
	level := levelName(lv.Level())
	writeJSON(w, http.StatusOK, map[string]string{rootLogger: level, marathonLogger: level + " (inherited)"})
}

// POST /logging
func (s *server) postLogging(w http.ResponseWriter, r *http.Request) {
	lv, ok := s.levelVar(w)
	if !ok {
		return
	}
	body, err := readBody(r)
	if err != nil {
		writeError(w, err)
		return
	}
	var ch loggerChange
	if err := decodeJSON(body, &ch); err != nil {
		writeError(w, err)
		return
	}
	var vs []app.Violation
	if strings.TrimSpace(ch.Logger) == "" {
		vs = append(vs, app.Violation{Path: "/logger", Errors: []string{"must not be empty"}})
	}
	if ch.DurationSeconds != nil && *ch.DurationSeconds <= 0 {
		vs = append(vs, app.Violation{Path: "/durationSeconds", Errors: []string{fmt.Sprintf("got %d, expected 1 or more", *ch.DurationSeconds)}})
	}
	if len(vs) > 0 {
		writeError(w, &app.ValidationError{Message: app.MsgNotValid, Violations: vs})
		return
	}
	level, ok := levelByName(ch.Level)
	if !ok {
		names := make([]string, len(logLevels))
		for i, l := range logLevels {
			names[i] = l.name
		}
		writeJSON(w, http.StatusBadRequest, message{fmt.Sprintf("Unknown log level %q: expected one of %s", ch.Level, strings.Join(names, ", "))})
		return
	}
	if ch.Logger != rootLogger && ch.Logger != marathonLogger {
		writeJSON(w, http.StatusNotFound, message{fmt.Sprintf("Logger %q does not exist: Strata's Marathon has one level switch, logger %s (also named %s)", ch.Logger, rootLogger, marathonLogger)})
		return
	}
	s.levels.set(lv, level, ch.DurationSeconds, s.log, ch.Logger)
	ch.Level = strings.ToLower(levelName(level))
	writeJSON(w, http.StatusOK, ch)
}

func (s *server) levelVar(w http.ResponseWriter) (*slog.LevelVar, bool) {
	if s.cfg.LevelVar == nil {
		writeJSON(w, http.StatusBadRequest, message{"the log level of this Marathon cannot be changed at run time: it was started without a level switch (Config.LevelVar)"})
		return nil, false
	}
	return s.cfg.LevelVar, true
}

// set switches lv to level; with duration, the level before comes back
// after it (a later change cancels that).
func (ls *levelSwitch) set(lv *slog.LevelVar, level slog.Level, duration *int, log *slog.Logger, logger string) {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	if ls.revert != nil {
		ls.revert.Stop()
		ls.revert = nil
	}
	before := lv.Level()
	lv.Set(level)
	log.Warn("log level changed", "logger", logger, "level", levelName(level), "was", levelName(before))
	if duration == nil {
		return
	}
	d := time.Duration(*duration) * time.Second
	var t *time.Timer
	t = time.AfterFunc(d, func() {
		ls.mu.Lock()
		defer ls.mu.Unlock()
		if ls.revert != t {
			return // superseded
		}
		ls.revert = nil
		lv.Set(before)
		log.Warn("log level change expired", "logger", logger, "level", levelName(before))
	})
	ls.revert = t
}
