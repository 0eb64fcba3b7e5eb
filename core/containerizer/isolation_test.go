package containerizer_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/strata-sched/strata/core/containerizer"
)

func TestParseIsolation(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"", []string{}},
		{" , ", []string{}},
		{"posix/cpu,posix/mem", []string{"posix/cpu", "posix/mem"}},
		{"cgroups/cpu, cgroups/mem,disk/du", []string{"cgroups/cpu", "cgroups/mem", "disk/du"}},
		{"cgroups/all", []string{"cgroups/cpu", "cgroups/mem"}},
		{"cgroups/mem,cgroups/all,namespaces/pid", []string{"cgroups/mem", "cgroups/cpu", "namespaces/pid"}},
		{"filesystem/posix,cgroups/cpu,cgroups/cpu,,posix/mem", []string{"filesystem/posix", "cgroups/cpu", "posix/mem"}},
	} {
		got, err := containerizer.ParseIsolation(tc.in)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("ParseIsolation(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestParseIsolationErrors(t *testing.T) {
	_, err := containerizer.ParseIsolation("cgroups/cpu,network/cni")
	if !errors.Is(err, containerizer.ErrUnknownIsolator) {
		t.Fatalf("unknown isolator: err = %v, want ErrUnknownIsolator", err)
	}
	for _, name := range []string{`"network/cni"`, "posix/cpu", "posix/mem", "cgroups/cpu", "cgroups/mem", "cgroups/all", "disk/du", "namespaces/pid", "filesystem/posix"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error %q does not mention %s", err, name)
		}
	}
	for _, in := range []string{"posix/cpu,cgroups/cpu", "cgroups/all,posix/mem", "CGROUPS/CPU"} {
		if _, err := containerizer.ParseIsolation(in); err == nil {
			t.Errorf("ParseIsolation(%q) succeeded", in)
		}
	}
}

func TestDefaultIsolation(t *testing.T) {
	for _, tc := range []struct {
		info containerizer.CgroupsInfo
		want []string
	}{
		{containerizer.CgroupsInfo{Version: 1, Controllers: []string{"cpu", "cpuacct", "freezer", "memory"}, Writable: true}, []string{"cgroups/cpu", "cgroups/mem"}},
		{containerizer.CgroupsInfo{Version: 2, Controllers: []string{"cpu", "io", "memory", "pids"}, Writable: true}, []string{"cgroups/cpu", "cgroups/mem"}},
		{containerizer.CgroupsInfo{Version: 2, Controllers: []string{"cpu", "memory"}, Writable: false}, []string{"posix/cpu", "posix/mem"}},
		{containerizer.CgroupsInfo{Version: 1, Controllers: []string{"cpu", "freezer"}, Writable: true}, []string{"posix/cpu", "posix/mem"}},
		{containerizer.CgroupsInfo{}, []string{"posix/cpu", "posix/mem"}},
	} {
		if got := containerizer.DefaultIsolation(tc.info); !slices.Equal(got, tc.want) {
			t.Errorf("DefaultIsolation(%+v) = %q, want %q", tc.info, got, tc.want)
		}
	}
}

func TestIsolationNeedsCgroups(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want bool
	}{
		{"", false},
		{"posix/cpu,posix/mem,filesystem/posix", false},
		{"posix/cpu,posix/mem,disk/du", true},
		{"namespaces/pid", true},
		{"cgroups/mem", true},
	} {
		iso, err := containerizer.ParseIsolation(tc.in)
		if err != nil {
			t.Fatal(err)
		}
		if got := containerizer.IsolationNeedsCgroups(iso); got != tc.want {
			t.Errorf("IsolationNeedsCgroups(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}
