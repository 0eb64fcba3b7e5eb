package fetcher

import (
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
)

// owner is the task's user when the fetcher runs as root; files the fetcher
// creates are handed to it, and local files are fetched only if it may read
// them.
type owner struct {
	name   string
	uid    int
	gid    int
	groups []int
}

// lookupOwner returns nil when there is nothing to chown: no user, or not
// running as root.
func lookupOwner(name string) (*owner, error) {
	if name == "" || os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup(name)
	if err != nil {
		return nil, fmt.Errorf("looking up user %q: %w", name, err)
	}
	o := &owner{name: name}
	if o.uid, err = strconv.Atoi(u.Uid); err != nil {
		return nil, fmt.Errorf("user %q: uid %q: %w", name, u.Uid, err)
	}
	if o.gid, err = strconv.Atoi(u.Gid); err != nil {
		return nil, fmt.Errorf("user %q: gid %q: %w", name, u.Gid, err)
	}
	o.groups = []int{o.gid}
	if ids, err := u.GroupIds(); err == nil {
		for _, s := range ids {
			if g, err := strconv.Atoi(s); err == nil && !slices.Contains(o.groups, g) {
				o.groups = append(o.groups, g)
			}
		}
	}
	return o, nil
}

// chown hands names (relative to root) to the owner without following
// symlinks.
func (o *owner) chown(root *os.Root, names []string) error {
	for _, n := range names {
		if err := root.Lchown(n, o.uid, o.gid); err != nil {
			return fmt.Errorf("changing the owner of %q to %s: %w", n, o.name, err)
		}
	}
	return nil
}

// canRead checks, from permission bits, that the owner could read the local
// file p itself: every directory on the way must be searchable and the file
// readable. The agent runs as root; without this check a task could fetch
// any file of the host into its sandbox. ACLs are not consulted.
func (o *owner) canRead(p string) error {
	if o.uid == 0 {
		return nil
	}
	real, err := filepath.EvalSymlinks(p)
	if err != nil {
		return err
	}
	for dir := filepath.Dir(real); ; dir = filepath.Dir(dir) {
		if err := o.access(dir, 1); err != nil {
			return err
		}
		if dir == filepath.Dir(dir) {
			break
		}
	}
	return o.access(real, 4)
}

// access checks one permission bit (4 read, 2 write, 1 search) the way the
// kernel does: owner bits for the owner, else group bits for a member, else
// the others' bits.
func (o *owner) access(p string, bit fs.FileMode) error {
	fi, err := os.Stat(p)
	if err != nil {
		return err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fmt.Errorf("%s: no owner information", p)
	}
	mode := fi.Mode().Perm()
	var allowed bool
	switch {
	case int(st.Uid) == o.uid:
		allowed = mode&(bit<<6) != 0
	case slices.Contains(o.groups, int(st.Gid)):
		allowed = mode&(bit<<3) != 0
	default:
		allowed = mode&bit != 0
	}
	if !allowed {
		return &fs.PathError{Op: "access as " + o.name, Path: p, Err: fs.ErrPermission}
	}
	return nil
}
