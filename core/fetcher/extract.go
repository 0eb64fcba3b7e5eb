package fetcher

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/bzip2"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"strings"
	"time"
)

// archiveKind is how a file is unpacked, decided by its name.
type archiveKind int

const (
	notArchive archiveKind = iota
	kindTar
	kindTarGz
	kindTarBz2
	kindTarXz
	kindZip
	kindGz
)

// archiveKinds is checked in order: the compound suffixes before ".gz".
var archiveKinds = []struct {
	suffix string
	kind   archiveKind
}{
	{".tar.gz", kindTarGz}, {".tgz", kindTarGz},
	{".tar.bz2", kindTarBz2}, {".tbz2", kindTarBz2},
	{".tar.xz", kindTarXz}, {".txz", kindTarXz},
	{".tar", kindTar}, {".zip", kindZip}, {".gz", kindGz},
}

// kindOf recognises an archive by the suffix of its name (case-insensitive).
func kindOf(name string) (archiveKind, string) {
	lower := strings.ToLower(name)
	for _, k := range archiveKinds {
		if strings.HasSuffix(lower, k.suffix) && len(lower) > len(k.suffix) {
			return k.kind, k.suffix
		}
	}
	return notArchive, ""
}

// extractArchive unpacks the file name (slash-separated, relative to
// sandbox) into its own directory. It returns the names it created,
// relative to sandbox, and false if name is not an archive.
func extractArchive(ctx context.Context, sandbox *os.Root, name string) ([]string, bool, error) {
	kind, suffix := kindOf(path.Base(name))
	if kind == notArchive {
		return nil, false, nil
	}
	dir := path.Dir(name)
	droot, err := sandbox.OpenRoot(dir)
	if err != nil {
		return nil, true, err
	}
	defer droot.Close()
	f, err := sandbox.Open(name)
	if err != nil {
		return nil, true, err
	}
	defer f.Close()

	x := &extractor{root: droot}
	switch kind {
	case kindTar:
		err = x.tar(f)
	case kindTarGz:
		var zr *gzip.Reader
		if zr, err = gzip.NewReader(f); err == nil {
			err = x.tar(zr)
		}
	case kindTarBz2:
		err = x.tar(bzip2.NewReader(f))
	case kindTarXz:
		err = x.tarXz(ctx, f)
	case kindZip:
		err = x.zip(f)
	case kindGz:
		var zr *gzip.Reader
		if zr, err = gzip.NewReader(f); err == nil {
			base := path.Base(name)
			err = x.file(base[:len(base)-len(suffix)], 0o644, zr, time.Time{})
		}
	}
	if err == nil {
		err = x.finish()
	}
	created := make([]string, len(x.created))
	for i, c := range x.created {
		created[i] = path.Join(dir, c)
	}
	if err != nil {
		return created, true, fmt.Errorf("extracting %s: %w", name, err)
	}
	return created, true, nil
}

// extractor writes archive entries below root, never outside it.
type extractor struct {
	root    *os.Root
	created []string  // every name created, in order
	dirs    []dirMode // directory modes, applied last
}

type dirMode struct {
	name string
	mode fs.FileMode
}

func (x *extractor) tar(r io.Reader) error {
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading tar: %w", err)
		}
		name, skip, err := entryName(h.Name)
		if err != nil {
			return err
		}
		if skip {
			continue
		}
		mode := fs.FileMode(h.Mode).Perm()
		switch h.Typeflag {
		case tar.TypeDir:
			err = x.dir(name, mode)
		case tar.TypeReg:
			err = x.file(name, mode, tr, h.ModTime)
		case tar.TypeSymlink:
			err = x.symlink(name, h.Linkname)
		case tar.TypeLink:
			var old string
			if old, skip, err = entryName(h.Linkname); err == nil {
				if skip {
					err = fmt.Errorf("%w: hard link %q to the extraction directory", ErrUnsafeArchive, h.Name)
				} else {
					err = x.link(name, old)
				}
			}
		default:
			// Devices, FIFOs and metadata entries are not extracted.
		}
		if err != nil {
			return err
		}
	}
}

// tarXz decompresses with the xz command (Debian's xz-utils): the standard
// library has no xz reader.
func (x *extractor) tarXz(ctx context.Context, f io.Reader) error {
	xzPath, err := exec.LookPath("xz")
	if err != nil {
		return fmt.Errorf("extracting .tar.xz needs the xz command (xz-utils): %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cmd := exec.CommandContext(ctx, xzPath, "-dc")
	cmd.Stdin = f
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting xz: %w", err)
	}
	terr := x.tar(out)
	if terr == nil {
		_, terr = io.Copy(io.Discard, out) // let xz finish and report corruption
	} else {
		cancel()
	}
	werr := cmd.Wait()
	if terr != nil {
		return terr
	}
	if werr != nil {
		return fmt.Errorf("xz: %w: %s", werr, strings.TrimSpace(stderr.String()))
	}
	return nil
}

// maxZipSymlink bounds the size of a symlink's target stored in a zip.
const maxZipSymlink = 4096

func (x *extractor) zip(f *os.File) error {
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	zr, err := zip.NewReader(f, fi.Size())
	if err != nil {
		return fmt.Errorf("reading zip: %w", err)
	}
	for _, zf := range zr.File {
		name, skip, err := entryName(zf.Name)
		if err != nil {
			return err
		}
		if skip {
			continue
		}
		mode := zf.Mode()
		switch {
		case mode.IsDir():
			err = x.dir(name, mode.Perm())
		case mode&fs.ModeSymlink != 0:
			var target []byte
			if target, err = readZipEntry(zf, maxZipSymlink); err == nil {
				err = x.symlink(name, string(target))
			}
		case mode.IsRegular():
			var rc io.ReadCloser
			if rc, err = zf.Open(); err == nil {
				err = x.file(name, mode.Perm(), rc, zf.Modified)
				rc.Close()
			}
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func readZipEntry(zf *zip.File, limit int64) ([]byte, error) {
	rc, err := zf.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("symlink %q: target longer than %d bytes", zf.Name, limit)
	}
	return b, nil
}

// mkdirAll creates the directory name and its missing parents, replacing
// non-directories in the way, and records what it created.
func (x *extractor) mkdirAll(name string) error {
	parts := strings.Split(name, "/")
	for i := range parts {
		p := strings.Join(parts[:i+1], "/")
		fi, err := x.root.Lstat(p)
		switch {
		case err == nil && fi.IsDir():
			continue
		case err == nil && fi.Mode()&fs.ModeSymlink != 0:
			if st, err := x.root.Stat(p); err == nil && st.IsDir() {
				continue // a link to a directory inside root
			}
			fallthrough
		case err == nil:
			if err := x.root.Remove(p); err != nil {
				return err
			}
		case !errors.Is(err, fs.ErrNotExist):
			return err
		}
		if err := x.root.Mkdir(p, 0o755); err != nil {
			return err
		}
		x.created = append(x.created, p)
	}
	return nil
}

// clear prepares name for a new non-directory entry: its parents exist and
// nothing is at name itself (an old file is replaced, never written
// through).
func (x *extractor) clear(name string) error {
	if d := path.Dir(name); d != "." {
		if err := x.mkdirAll(d); err != nil {
			return err
		}
	}
	fi, err := x.root.Lstat(name)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return err
	case fi.IsDir():
		return x.root.RemoveAll(name)
	default:
		return x.root.Remove(name)
	}
}

func (x *extractor) dir(name string, mode fs.FileMode) error {
	if err := x.mkdirAll(name); err != nil {
		return err
	}
	x.dirs = append(x.dirs, dirMode{name, mode})
	return nil
}

func (x *extractor) file(name string, mode fs.FileMode, r io.Reader, mtime time.Time) error {
	if err := x.clear(name); err != nil {
		return err
	}
	f, err := x.root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	x.created = append(x.created, name)
	_, err = io.Copy(f, r)
	if err == nil {
		err = f.Chmod(mode.Perm())
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("writing %s: %w", name, err)
	}
	if !mtime.IsZero() {
		_ = x.root.Chtimes(name, mtime, mtime) // best effort, as tar
	}
	return nil
}

func (x *extractor) symlink(name, target string) error {
	if err := x.clear(name); err != nil {
		return err
	}
	if err := checkSymlink(x.root, name, target); err != nil {
		return err
	}
	if err := x.root.Symlink(target, name); err != nil {
		return err
	}
	x.created = append(x.created, name)
	return nil
}

func (x *extractor) link(name, old string) error {
	if err := x.clear(name); err != nil {
		return err
	}
	if err := x.root.Link(old, name); err != nil {
		return fmt.Errorf("hard link %q to %q: %w", name, old, err)
	}
	x.created = append(x.created, name)
	return nil
}

// finish re-checks every symlink created (later entries may have changed
// what an earlier link resolves through, and a hard link to a symlink moves
// it) and removes those that now point outside root; then it applies the
// directories' modes, deepest last-created first.
func (x *extractor) finish() error {
	var errs []error
	for _, n := range x.created {
		fi, err := x.root.Lstat(n)
		if err != nil || fi.Mode()&fs.ModeSymlink == 0 {
			continue
		}
		target, err := x.root.Readlink(n)
		if err == nil {
			err = checkSymlink(x.root, n, target)
		}
		if err != nil {
			errs = append(errs, err)
			_ = x.root.Remove(n)
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	for i := len(x.dirs) - 1; i >= 0; i-- {
		if err := x.root.Chmod(x.dirs[i].name, x.dirs[i].mode); err != nil {
			return err
		}
	}
	return nil
}
