package api

import (
	"log/slog"
	"testing"
	"testing/synctest"
	"time"
)

// TestLevelSwitchDuration: a change with durationSeconds reverts after it;
// a later change cancels the pending revert.
func TestLevelSwitchDuration(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		lv := new(slog.LevelVar)
		var ls levelSwitch
		log := slog.New(slog.DiscardHandler)
		d := 60
		ls.set(lv, slog.LevelDebug, &d, log, rootLogger)
		time.Sleep(59 * time.Second)
		synctest.Wait()
		if lv.Level() != slog.LevelDebug {
			t.Fatalf("reverted early: %v", lv.Level())
		}
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if lv.Level() != slog.LevelInfo {
			t.Fatalf("not reverted after the duration: %v", lv.Level())
		}

		ls.set(lv, slog.LevelDebug, &d, log, rootLogger)
		ls.set(lv, slog.LevelError, nil, log, rootLogger)
		time.Sleep(2 * time.Minute)
		synctest.Wait()
		if lv.Level() != slog.LevelError {
			t.Fatalf("a superseded revert fired: %v", lv.Level())
		}
	})
}

func TestLevelNames(t *testing.T) {
	for _, c := range []struct {
		in   string
		want slog.Level
		ok   bool
	}{
		{"debug", slog.LevelDebug, true}, {"INFO", slog.LevelInfo, true}, {" warning ", slog.LevelWarn, true},
		{"error", slog.LevelError, true}, {"fatal", 0, false}, {"", 0, false},
	} {
		got, ok := levelByName(c.in)
		if ok != c.ok || (ok && got != c.want) {
			t.Errorf("levelByName(%q) = %v %v", c.in, got, ok)
		}
		if ok && levelName(got) == "" {
			t.Errorf("no name for %v", got)
		}
	}
}
