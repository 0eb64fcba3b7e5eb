package agent

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"os"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
)

// The /files endpoints serve sandboxes: only paths inside
// <work_dir>/slaves, checked after cleaning and after resolving symlinks
// (a task cannot publish /etc/shadow by linking to it from its sandbox).

// fileError is a /files failure with its status code.
type fileError struct {
	code int
	msg  string
}

func (e *fileError) Error() string { return e.msg }

var errAccessDenied = &fileError{http.StatusForbidden, "Access denied"}

// resolveSandboxPath checks that p names something inside root and
// returns the cleaned path and the path with symlinks resolved.
func resolveSandboxPath(root, p string) (clean, resolved string, err error) {
	if p == "" {
		return "", "", &fileError{http.StatusBadRequest, "Expecting 'path=value' in query"}
	}
	clean = filepath.Clean(p)
	if !filepath.IsAbs(clean) || !within(root, clean) {
		return "", "", errAccessDenied
	}
	resolved, err = filepath.EvalSymlinks(clean)
	if errors.Is(err, fs.ErrNotExist) {
		return "", "", &fileError{http.StatusNotFound, "No such file or directory"}
	}
	if err != nil {
		return "", "", &fileError{http.StatusInternalServerError, err.Error()}
	}
	realRoot, err := filepath.EvalSymlinks(root)
	if err != nil {
		return "", "", &fileError{http.StatusInternalServerError, err.Error()}
	}
	if !within(realRoot, resolved) {
		return "", "", errAccessDenied
	}
	return clean, resolved, nil
}

// within reports whether p is root or below it (both clean and absolute).
func within(root, p string) bool {
	return p == root || strings.HasPrefix(p, strings.TrimSuffix(root, "/")+"/")
}

func writeFileError(w http.ResponseWriter, err error) {
	var fe *fileError
	if errors.As(err, &fe) {
		writeError(w, fe.code, fe.msg)
		return
	}
	writeError(w, http.StatusInternalServerError, err.Error())
}

// fileInfoJSON is Mesos' file entry (src/files/files.cpp jsonFileInfo).
type fileInfoJSON struct {
	Path  string  `json:"path"`
	Nlink uint64  `json:"nlink"`
	Size  int64   `json:"size"`
	Mode  string  `json:"mode"`
	UID   string  `json:"uid"`
	GID   string  `json:"gid"`
	Mtime float64 `json:"mtime"`
}

func newFileInfoJSON(path string, fi fs.FileInfo) fileInfoJSON {
	j := fileInfoJSON{Path: path, Size: fi.Size(), Mode: fileMode(fi.Mode()), Nlink: 1,
		Mtime: float64(fi.ModTime().Unix())}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		j.Nlink = uint64(st.Nlink)
		j.UID = userName(st.Uid)
		j.GID = groupName(st.Gid)
	}
	return j
}

// fileMode renders a mode as ls does ("-rw-r--r--", "drwxr-xr-x").
func fileMode(m fs.FileMode) string {
	b := []byte("----------")
	switch {
	case m.IsDir():
		b[0] = 'd'
	case m&fs.ModeSymlink != 0:
		b[0] = 'l'
	case m&fs.ModeNamedPipe != 0:
		b[0] = 'p'
	case m&fs.ModeSocket != 0:
		b[0] = 's'
	case m&fs.ModeCharDevice != 0:
		b[0] = 'c'
	case m&fs.ModeDevice != 0:
		b[0] = 'b'
	}
	const rwx = "rwxrwxrwx"
	for i := 0; i < 9; i++ {
		if m&(1<<uint(8-i)) != 0 {
			b[i+1] = rwx[i]
		}
	}
	special := func(i int, set bool, withExec, withoutExec byte) {
		if !set {
			return
		}
		if b[i] == 'x' {
			b[i] = withExec
		} else {
			b[i] = withoutExec
		}
	}
	special(3, m&fs.ModeSetuid != 0, 's', 'S')
	special(6, m&fs.ModeSetgid != 0, 's', 'S')
	special(9, m&fs.ModeSticky != 0, 't', 'T')
	return string(b)
}

func userName(uid uint32) string {
	id := strconv.FormatUint(uint64(uid), 10)
	if u, err := user.LookupId(id); err == nil {
		return u.Username
	}
	return id
}

func groupName(gid uint32) string {
	id := strconv.FormatUint(uint64(gid), 10)
	if g, err := user.LookupGroupId(id); err == nil {
		return g.Name
	}
	return id
}

// serveBrowse is /files/browse?path=: the entries of a directory (or the
// file itself), as a JSON array.
func (a *Agent) serveBrowse(w http.ResponseWriter, r *http.Request) {
	clean, resolved, err := resolveSandboxPath(a.paths.sandboxRoot(), r.URL.Query().Get("path"))
	if err != nil {
		writeFileError(w, err)
		return
	}
	fi, err := os.Stat(resolved)
	if err != nil {
		writeFileError(w, &fileError{http.StatusNotFound, "No such file or directory"})
		return
	}
	out := []fileInfoJSON{}
	if !fi.IsDir() {
		out = append(out, newFileInfoJSON(clean, fi))
		writeJSON(w, out)
		return
	}
	entries, err := os.ReadDir(resolved)
	if err != nil {
		writeFileError(w, err)
		return
	}
	for _, e := range entries {
		full := filepath.Join(resolved, e.Name())
		efi, err := os.Stat(full)
		if err != nil {
			if efi, err = os.Lstat(full); err != nil {
				continue
			}
		}
		out = append(out, newFileInfoJSON(filepath.Join(clean, e.Name()), efi))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	writeJSON(w, out)
}

// maxReadLength caps /files/read (Mesos: 16 pages).
func maxReadLength() int64 { return int64(16 * os.Getpagesize()) }

// serveRead is /files/read?path=&offset=&length=: {"data", "offset"};
// offset -1 (the default) returns the size as offset and no data.
func (a *Agent) serveRead(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	offset, length := int64(-1), int64(-1)
	var err error
	if v := q.Get("offset"); v != "" {
		if offset, err = strconv.ParseInt(v, 10, 64); err != nil {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("Failed to parse offset: %v", err))
			return
		}
	}
	if v := q.Get("length"); v != "" {
		if length, err = strconv.ParseInt(v, 10, 64); err != nil {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("Failed to parse length: %v", err))
			return
		}
	}
	if offset < -1 {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("Negative offset provided: %d", offset))
		return
	}
	if length < -1 {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("Negative length provided: %d", length))
		return
	}
	f, fi, _, ok := a.openSandboxFile(w, q.Get("path"), "Cannot read a directory")
	if !ok {
		return
	}
	defer f.Close()
	size := fi.Size()
	if offset == -1 || offset >= size {
		writeJSON(w, map[string]any{"data": "", "offset": min(max(offset, size), size)})
		return
	}
	if length == -1 || length > maxReadLength() {
		length = maxReadLength()
	}
	buf := make([]byte, min(length, size-offset))
	n, err := f.ReadAt(buf, offset)
	if err != nil && !errors.Is(err, io.EOF) {
		writeFileError(w, err)
		return
	}
	writeJSON(w, map[string]any{"data": string(buf[:n]), "offset": offset})
}

// serveDownload is /files/download?path=: the raw file as an attachment.
func (a *Agent) serveDownload(w http.ResponseWriter, r *http.Request) {
	f, fi, resolved, ok := a.openSandboxFile(w, r.URL.Query().Get("path"), "Cannot download a directory")
	if !ok {
		return
	}
	defer f.Close()
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": filepath.Base(resolved)}))
	http.ServeContent(w, r, "", fi.ModTime(), f)
}

// openSandboxFile resolves path inside the sandbox root and opens it as a
// regular file, answering the error itself (403/404, or 400 with isDirMsg
// for a directory) when it cannot; ok is false then.
func (a *Agent) openSandboxFile(w http.ResponseWriter, path, isDirMsg string) (f *os.File, fi os.FileInfo, resolved string, ok bool) {
	_, resolved, err := resolveSandboxPath(a.paths.sandboxRoot(), path)
	if err != nil {
		writeFileError(w, err)
		return nil, nil, "", false
	}
	f, err = os.Open(resolved)
	if err != nil {
		writeFileError(w, &fileError{http.StatusNotFound, "No such file or directory"})
		return nil, nil, "", false
	}
	fi, err = f.Stat()
	if err != nil {
		f.Close()
		writeFileError(w, err)
		return nil, nil, "", false
	}
	if fi.IsDir() {
		f.Close()
		writeError(w, http.StatusBadRequest, isDirMsg)
		return nil, nil, "", false
	}
	return f, fi, resolved, true
}
