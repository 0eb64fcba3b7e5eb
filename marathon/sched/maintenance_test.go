package sched

import (
	"testing"
	"time"

	"github.com/strata-sched/strata/core/mesos"
)

func TestInMaintenance(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	window := func(start time.Time, d time.Duration) *mesos.Unavailability {
		u := &mesos.Unavailability{Start: mesos.TimeInfo{Nanoseconds: start.UnixNano()}}
		if d > 0 {
			u.Duration = &mesos.DurationInfo{Nanoseconds: int64(d)}
		}
		return u
	}
	cases := []struct {
		name     string
		u        *mesos.Unavailability
		draining time.Duration
		want     bool
	}{
		{"no maintenance", nil, 0, false},
		{"window in the future", window(now.Add(time.Hour), time.Hour), 0, false},
		{"window starts within draining", window(now.Add(time.Minute), time.Hour), 2 * time.Minute, true},
		{"window started", window(now.Add(-time.Minute), time.Hour), 0, true},
		{"window without end", window(now.Add(-24*time.Hour), 0), 0, true},
		{"window over", window(now.Add(-2*time.Hour), time.Hour), 0, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := &mesos.Offer{Unavailability: tc.u}
			if got := InMaintenance(o, now, tc.draining); got != tc.want {
				t.Fatalf("InMaintenance = %v, want %v", got, tc.want)
			}
		})
	}
}
