package main

import (
	"testing"
	"time"

	"github.com/strata-sched/strata/core/mesos"
)

func TestParseMachines(t *testing.T) {
	cases := []struct {
		in      string
		want    mesos.MachineID
		wantErr bool
	}{
		{"node7", mesos.MachineID{Hostname: "node7"}, false},
		{"10.0.0.7", mesos.MachineID{IP: "10.0.0.7"}, false},
		{"node7/10.0.0.7", mesos.MachineID{Hostname: "node7", IP: "10.0.0.7"}, false},
		{"node7/10.0.0", mesos.MachineID{}, true},
		{"/", mesos.MachineID{}, true},
	}
	for _, tc := range cases {
		got, err := parseMachines([]string{tc.in})
		if tc.wantErr {
			if err == nil {
				t.Errorf("%q: no error", tc.in)
			}
			continue
		}
		if err != nil || got[0] != tc.want {
			t.Errorf("%q: %+v %v, want %+v", tc.in, got, err, tc.want)
		}
	}
}

func TestParseStart(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		in   string
		want time.Time
		err  bool
	}{
		{"now", now, false},
		{"+30m", now.Add(30 * time.Minute), false},
		{"+2hrs", now.Add(2 * time.Hour), false},
		{"2026-11-23T02:00:00Z", time.Date(2026, 11, 23, 2, 0, 0, 0, time.UTC), false},
		{"tomorrow", time.Time{}, true},
	}
	for _, tc := range cases {
		got, err := parseStart(tc.in, now)
		if (err != nil) != tc.err || (!tc.err && !got.Equal(tc.want)) {
			t.Errorf("%q: %v %v, want %v (error %v)", tc.in, got, err, tc.want, tc.err)
		}
	}
}
