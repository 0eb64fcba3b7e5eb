package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// BuildStrataVersion builds the strata binary into dir with its version
// string set to version at link time (-X main.version), so that a test can
// hold two distinct binaries, an "old" and a "new" one, and tell from
// /master/state or /state which one a process runs.
func BuildStrataVersion(t testing.TB, dir, version string) string {
	t.Helper()
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "strata")
	cmd := exec.Command("go", "build", "-o", bin, "-ldflags", "-X main.version="+version, "./cmd/strata")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOTOOLCHAIN=local")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build -X main.version=%s ./cmd/strata: %v\n%s", version, err, out)
	}
	return bin
}

// Upgrade replaces a running process by another binary as an operator
// upgrades a host: SIGTERM (SIGKILL after 15 s), then bin starts with the
// same arguments, appending to the same log file.
func (p *Proc) Upgrade(t testing.TB, bin string) {
	t.Helper()
	p.Stop()
	p.mu.Lock()
	p.bin = bin
	p.mu.Unlock()
	p.Start(t)
}
