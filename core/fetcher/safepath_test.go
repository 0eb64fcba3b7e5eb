package fetcher

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestEntryName(t *testing.T) {
	tests := []struct {
		in, want string
		skip     bool
		unsafe   bool
	}{
		{in: "a/b.txt", want: "a/b.txt"},
		{in: "./a/b.txt", want: "a/b.txt"},
		{in: "a/../b", want: "b"},
		{in: "./", skip: true},
		{in: ".", skip: true},
		{in: "dir/", want: "dir"},
		{in: "../evil", unsafe: true},
		{in: "a/../../evil", unsafe: true},
		{in: "..", unsafe: true},
		{in: "/etc/passwd", unsafe: true},
		{in: "", unsafe: true},
	}
	for _, tt := range tests {
		got, skip, err := entryName(tt.in)
		if tt.unsafe {
			if !errors.Is(err, ErrUnsafeArchive) {
				t.Errorf("entryName(%q) error = %v, want ErrUnsafeArchive", tt.in, err)
			}
			continue
		}
		if err != nil || got != tt.want || skip != tt.skip {
			t.Errorf("entryName(%q) = %q, %v, %v; want %q, %v", tt.in, got, skip, err, tt.want, tt.skip)
		}
	}
}

func TestCheckSymlink(t *testing.T) {
	dir := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(dir, "a/b/c"), 0o755))
	must(os.Symlink(".", filepath.Join(dir, "self")))     // self -> the root
	must(os.Symlink("a/b/c", filepath.Join(dir, "deep"))) // deep -> a/b/c
	must(os.Symlink("/etc", filepath.Join(dir, "abs")))   // made by someone else
	must(os.Symlink("loop2", filepath.Join(dir, "loop1")))
	must(os.Symlink("loop1", filepath.Join(dir, "loop2")))
	root, err := os.OpenRoot(dir)
	must(err)
	defer root.Close()

	tests := []struct {
		link, target string
		ok           bool
	}{
		{"l", "a/b", true},
		{"a/b/l", "../../x", true},                    // a/b/../../x = x
		{"a/b/l", "../../../x", false},                // one too many
		{"l", "/etc/passwd", false},                   // absolute
		{"l", "", false},                              // empty
		{"l", "self/a", true},                         // a
		{"self/l", "../x", false},                     // self is the root: ../x is outside
		{"l", "self/../x", false},                     // lexically "x", really outside
		{"l", "deep/../../x", true},                   // a/b/c/../../x = a/x
		{"l", "deep/../../../../x", false},            // a/b/c up four
		{"l", "abs/x", false},                         // through an absolute link
		{"l", "loop1", false},                         // a loop
		{"l", "missing/../x", true},                   // literal for missing parts
		{"l", "missing/../../x", false},               // still outside
		{"a/l", "../deep/../../../x", true},           // a/b/c up three = the root: x
		{"a/l", "../deep/../../../../x", false},       // one more: outside
		{"a/l", "../deep/../../x", true},              // a/b/c up two = a: a/x
		{"nonexistent/dir/l", "../../x", true},        // x
		{"nonexistent/dir/l", "../../../x", false},    // outside
		{"deep/l", "../../../x", true},                // a/b/c/../../../x = x
		{"deep/l", "../../../../x", false},            // outside
		{"a/b/c/d/e/l", "../../../../../../x", false}, // outside
	}
	for _, tt := range tests {
		err := checkSymlink(root, tt.link, tt.target)
		if tt.ok && err != nil {
			t.Errorf("checkSymlink(%q -> %q) = %v, want ok", tt.link, tt.target, err)
		}
		if !tt.ok && !errors.Is(err, ErrUnsafeArchive) {
			t.Errorf("checkSymlink(%q -> %q) = %v, want ErrUnsafeArchive", tt.link, tt.target, err)
		}
	}
}

func TestKindOf(t *testing.T) {
	tests := map[string]archiveKind{
		"x.tar": kindTar, "x.tar.gz": kindTarGz, "x.TGZ": kindTarGz, "x.tar.bz2": kindTarBz2,
		"x.tbz2": kindTarBz2, "x.tar.xz": kindTarXz, "x.txz": kindTarXz, "x.zip": kindZip,
		"x.gz": kindGz, "x.txt": notArchive, ".gz": notArchive, "x": notArchive, "x.tar.gz.bak": notArchive,
	}
	for name, want := range tests {
		if got, _ := kindOf(name); got != want {
			t.Errorf("kindOf(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestDestName(t *testing.T) {
	for in, want := range map[string]string{"a": "a", "a/b": "a/b", "./a//b": "a/b"} {
		if got, err := destName(in); err != nil || got != want {
			t.Errorf("destName(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", ".", "..", "../a", "a/../../b", "/abs"} {
		if _, err := destName(in); err == nil {
			t.Errorf("destName(%q) accepted", in)
		}
	}
}

func TestIsCacheFileName(t *testing.T) {
	key := cacheKey("user", "http://x/y")
	for n, want := range map[string]bool{
		key: true, key + ".123.part": true, key + ".txt": false, "stdout": false, key[:63]: false,
		"G" + key[1:]: false,
	} {
		if got := isCacheFileName(n); got != want {
			t.Errorf("isCacheFileName(%q) = %v, want %v", n, got, want)
		}
	}
}
