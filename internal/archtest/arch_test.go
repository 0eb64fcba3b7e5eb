// Package archtest holds the architecture rules of DESIGN.md as tests.
package archtest

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/strata-sched/strata/"

type pkg struct {
	ImportPath string
	Deps       []string
}

func listPackages(t *testing.T) []pkg {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps=false", "-json", "../../...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var pkgs []pkg
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for dec.More() {
		var p pkg
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

// frameworkRoots are the packages of frameworks (Marathon, Chronos, Aurora,
// the bridge, the SDK and its examples).
var frameworkRoots = []string{"frameworks", "marathon", "chronos", "aurora", "haproxy-bridge"}

func isUnder(path, root string) bool {
	p := strings.TrimPrefix(path, module)
	return p == root || strings.HasPrefix(p, root+"/")
}

// TestLayering enforces the one rule of the architecture: the core never
// imports a framework, and frameworks reach the master only through the
// public scheduler API (they never import core/master or core/agent).
func TestLayering(t *testing.T) {
	pkgs := listPackages(t)
	if len(pkgs) < 10 {
		t.Fatalf("go list found only %d packages", len(pkgs))
	}
	// Self-check: the dependency data is transitive and complete enough to
	// see that the SDK uses the core's types.
	sawSDK := false
	for _, p := range pkgs {
		if p.ImportPath == module+"frameworks/scheduler" {
			sawSDK = true
			found := false
			for _, d := range p.Deps {
				found = found || d == module+"core/mesos/recordio"
			}
			if !found {
				t.Fatalf("frameworks/scheduler's deps lack core/mesos/recordio: go list data is incomplete")
			}
		}
	}
	if !sawSDK {
		t.Fatal("frameworks/scheduler not listed")
	}
	for _, p := range pkgs {
		for _, d := range p.Deps {
			if !strings.HasPrefix(d, module) {
				continue
			}
			if isUnder(p.ImportPath, "core") {
				for _, fw := range frameworkRoots {
					if isUnder(d, fw) {
						t.Errorf("%s imports framework package %s: core must not depend on frameworks", p.ImportPath, d)
					}
				}
			}
			for _, fw := range frameworkRoots {
				if isUnder(p.ImportPath, fw) && (isUnder(d, "core/master") || isUnder(d, "core/agent") || isUnder(d, "core/allocator") || isUnder(d, "core/containerizer")) {
					t.Errorf("%s imports %s: frameworks talk to the master only through the scheduler API (frameworks/)", p.ImportPath, d)
				}
			}
		}
	}
}
