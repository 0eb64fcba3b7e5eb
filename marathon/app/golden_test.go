package app

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the testdata golden files")

// golden compares got with testdata/<name>, rewriting the file with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden (run go test -run '%s' -update to create it): %v", t.Name(), err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from golden %s:\n--- got\n%s\n--- want\n%s", t.Name(), path, got, want)
	}
}

// goldenJSON compares the indented encoding of v with testdata/<name>.
func goldenJSON(t *testing.T, name string, v any) {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	golden(t, name, append(b, '\n'))
}

// errorBody returns the status and exact body ErrorBody gives for err.
func errorBody(t *testing.T, err error) (int, []byte) {
	t.Helper()
	if err == nil {
		t.Fatal("expected an error, got none")
	}
	status, body, ok := ErrorBody(err)
	if !ok {
		t.Fatalf("ErrorBody does not know %T: %v", err, err)
	}
	return status, body
}

func ptr[T any](v T) *T { return &v }
