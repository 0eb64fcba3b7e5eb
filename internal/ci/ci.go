// Package ci holds the one rule tests follow when a prerequisite (root, a
// Debian package, the Docker engine, Linux) is missing: skip on a
// developer's machine, fail under CI=true so that CI never passes by skipping.
package ci

import (
	"os"
	"testing"
)

// SkipOrFail skips t with the message, or fails it when CI=true.
func SkipOrFail(t testing.TB, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf(format, args...)
	}
	t.Skipf(format, args...)
}

// RequireRoot skips (fails under CI=true) unless the test runs as root.
func RequireRoot(t testing.TB, why string) {
	t.Helper()
	if os.Geteuid() != 0 {
		SkipOrFail(t, "%s: run the tests as root", why)
	}
}

// SkipIntegrationIfShort skips an integration test under `go test -short`
// (a quick run of the unit tests on a developer's machine). Under CI=true
// nothing is skipped: -short there fails the test instead.
func SkipIntegrationIfShort(t testing.TB, needs string) {
	t.Helper()
	if testing.Short() {
		SkipOrFail(t, "integration test: needs %s (run without -short)", needs)
	}
}
