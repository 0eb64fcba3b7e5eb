package fetcher

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strings"
)

// ErrUnsafeArchive is wrapped by errors about archive entries that would
// write or point outside the extraction directory.
var ErrUnsafeArchive = errors.New("unsafe archive entry")

// maxSymlinkHops bounds symlink resolution (Linux' MAXSYMLINKS is 40).
const maxSymlinkHops = 40

// entryName validates an archive entry's name (slash-separated) and returns
// it cleaned, relative to the extraction directory. skip is true for the
// directory itself ("./").
func entryName(name string) (clean string, skip bool, err error) {
	if name == "" {
		return "", false, fmt.Errorf("%w: empty name", ErrUnsafeArchive)
	}
	if strings.HasPrefix(name, "/") {
		return "", false, fmt.Errorf("%w: %q is an absolute path", ErrUnsafeArchive, name)
	}
	clean = path.Clean(name)
	if clean == "." {
		return "", true, nil
	}
	if clean == ".." || strings.HasPrefix(clean, "../") {
		return "", false, fmt.Errorf("%w: %q escapes the extraction directory", ErrUnsafeArchive, name)
	}
	return clean, false, nil
}

// checkSymlink returns an error wrapping ErrUnsafeArchive if a symlink at
// link (a clean name relative to root) with the given target resolves to a
// location outside root, following the symlinks that exist in root now.
func checkSymlink(root *os.Root, link, target string) error {
	if target == "" {
		return fmt.Errorf("%w: symlink %q has an empty target", ErrUnsafeArchive, link)
	}
	if strings.HasPrefix(target, "/") {
		return fmt.Errorf("%w: symlink %q points to the absolute path %q", ErrUnsafeArchive, link, target)
	}
	// Not path.Join: it would collapse "dir/.." lexically, and dir may be
	// a symlink the kernel resolves first.
	if _, err := resolveInRoot(root, path.Dir(link)+"/"+target); err != nil {
		return fmt.Errorf("%w: symlink %q -> %q: %w", ErrUnsafeArchive, link, target, err)
	}
	return nil
}

var errEscapes = errors.New("resolves outside the extraction directory")

// resolveInRoot resolves the slash-separated name p inside root the way the
// kernel would, component by component, following symlinks found in root,
// and returns the resolved name. Components that do not exist are taken
// literally. It fails if the resolution leaves root at any point (".."
// above the top, an absolute symlink target) or loops.
func resolveInRoot(root *os.Root, p string) (string, error) {
	var stack []string
	queue := strings.Split(p, "/")
	hops := 0
	for len(queue) > 0 {
		c := queue[0]
		queue = queue[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			if len(stack) == 0 {
				return "", errEscapes
			}
			stack = stack[:len(stack)-1]
			continue
		}
		cand := c
		if len(stack) > 0 {
			cand = strings.Join(stack, "/") + "/" + c
		}
		fi, err := root.Lstat(cand)
		if err == nil && fi.Mode()&fs.ModeSymlink != 0 {
			hops++
			if hops > maxSymlinkHops {
				return "", errors.New("too many levels of symbolic links")
			}
			t, err := root.Readlink(cand)
			if err != nil {
				return "", fmt.Errorf("reading symlink %q: %w", cand, err)
			}
			if strings.HasPrefix(t, "/") {
				return "", errEscapes
			}
			queue = append(strings.Split(t, "/"), queue...)
			continue
		}
		stack = append(stack, c)
	}
	return strings.Join(stack, "/"), nil
}
