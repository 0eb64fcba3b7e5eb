package fetcher_test

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"github.com/strata-sched/strata/internal/ci"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/strata-sched/strata/core/fetcher"
	"github.com/strata-sched/strata/core/mesos"
)

// server serves files from a map and counts requests per path.
type server struct {
	*httptest.Server
	mu       sync.Mutex
	files    map[string][]byte
	requests map[string]int
	handlers map[string]http.HandlerFunc
}

func newServer(t *testing.T) *server {
	s := &server{files: map[string][]byte{}, requests: map[string]int{}, handlers: map[string]http.HandlerFunc{}}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.requests[r.URL.Path]++
		body, ok := s.files[r.URL.Path]
		h := s.handlers[r.URL.Path]
		s.mu.Unlock()
		switch {
		case h != nil:
			h(w, r)
		case ok:
			w.Write(body)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *server) put(path string, body []byte) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.files[path] = body
	return s.URL + path
}

func (s *server) handle(path string, h http.HandlerFunc) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.handlers[path] = h
	return s.URL + path
}

func (s *server) count(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests[path]
}

// entry is one member of a generated archive.
type entry struct {
	name, body string
	mode       int64
	typ        byte // tar.TypeReg (default), TypeDir, TypeSymlink, TypeLink
	link       string
}

// payload is what every archive test extracts and checks.
var payload = []entry{
	{name: "hello/", typ: tar.TypeDir, mode: 0o755},
	{name: "hello/a.txt", body: "A", mode: 0o644},
	{name: "hello/bin/run.sh", body: "#!/bin/sh\necho hi\n", mode: 0o755},
	{name: "hello/empty/", typ: tar.TypeDir, mode: 0o700},
	{name: "hello/link", typ: tar.TypeSymlink, link: "a.txt"},
}

func checkPayload(t *testing.T, dir string) {
	t.Helper()
	expectFile(t, filepath.Join(dir, "hello/a.txt"), "A", 0o644)
	expectFile(t, filepath.Join(dir, "hello/bin/run.sh"), "#!/bin/sh\necho hi\n", 0o755)
	if fi, err := os.Stat(filepath.Join(dir, "hello/empty")); err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o700 {
		t.Errorf("hello/empty: %v %v", fi, err)
	}
	if target, err := os.Readlink(filepath.Join(dir, "hello/link")); err != nil || target != "a.txt" {
		t.Errorf("hello/link -> %q, %v", target, err)
	}
}

func expectFile(t *testing.T, p, body string, mode fs.FileMode) {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Errorf("%s: %v", p, err)
		return
	}
	if string(b) != body {
		t.Errorf("%s = %q, want %q", p, b, body)
	}
	if fi, err := os.Stat(p); err != nil || mode != 0 && fi.Mode().Perm() != mode {
		t.Errorf("%s: mode %v, want %v (%v)", p, fi.Mode().Perm(), mode, err)
	}
}

func makeTar(t *testing.T, entries []entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Mode: e.mode, Typeflag: e.typ, Linkname: e.link, ModTime: time.Unix(1e9, 0)}
		if h.Typeflag == 0 {
			h.Typeflag = tar.TypeReg
		}
		if h.Mode == 0 {
			h.Mode = 0o644
		}
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(e.body))
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			tw.Write([]byte(e.body))
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func makeZip(t *testing.T, entries []entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		h := &zip.FileHeader{Name: e.name, Method: zip.Deflate}
		body := e.body
		switch e.typ {
		case tar.TypeDir:
			h.SetMode(fs.ModeDir | fs.FileMode(e.mode))
		case tar.TypeSymlink:
			h.SetMode(fs.ModeSymlink | 0o777)
			body = e.link
		default:
			mode := e.mode
			if mode == 0 {
				mode = 0o644
			}
			h.SetMode(fs.FileMode(mode))
		}
		w, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(body))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func gzipBytes(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

// compressWith pipes b through a compressor command (bzip2 or xz): the
// standard library can read but not write these formats.
func compressWith(t *testing.T, name string, b []byte) []byte {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		ci.SkipOrFail(t, "%s not installed: %v", name, err)
	}
	cmd := exec.Command(name, "-c")
	cmd.Stdin = bytes.NewReader(b)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return out
}

func newFetcher(t *testing.T, cfg fetcher.Config) *fetcher.Fetcher {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	f, err := fetcher.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// sandbox returns a fresh sandbox inside a parent directory that holds
// nothing else, so that tests can check nothing escaped.
func sandbox(t *testing.T) (sb, parent string) {
	parent = t.TempDir()
	sb = filepath.Join(parent, "sandbox")
	if err := os.Mkdir(sb, 0o755); err != nil {
		t.Fatal(err)
	}
	return sb, parent
}

func expectOnlySandbox(t *testing.T, parent string) {
	t.Helper()
	des, err := os.ReadDir(parent)
	if err != nil {
		t.Fatal(err)
	}
	if len(des) != 1 || des[0].Name() != "sandbox" {
		var names []string
		for _, d := range des {
			names = append(names, d.Name())
		}
		t.Errorf("something escaped the sandbox: %v", names)
	}
}

func boolp(b bool) *bool { return &b }

func TestExtractEachArchiveType(t *testing.T) {
	tarball := makeTar(t, payload)
	tests := []struct {
		name string
		body func(t *testing.T) []byte
	}{
		{"app.tar", func(*testing.T) []byte { return tarball }},
		{"app.tar.gz", func(*testing.T) []byte { return gzipBytes(tarball) }},
		{"app.tgz", func(*testing.T) []byte { return gzipBytes(tarball) }},
		{"app.tar.bz2", func(t *testing.T) []byte { return compressWith(t, "bzip2", tarball) }},
		{"app.tbz2", func(t *testing.T) []byte { return compressWith(t, "bzip2", tarball) }},
		{"app.tar.xz", func(t *testing.T) []byte { return compressWith(t, "xz", tarball) }},
		{"app.txz", func(t *testing.T) []byte { return compressWith(t, "xz", tarball) }},
		{"app.zip", func(t *testing.T) []byte { return makeZip(t, payload) }},
	}
	srv := newServer(t)
	f := newFetcher(t, fetcher.Config{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			uri := srv.put("/"+tt.name, tt.body(t))
			sb, parent := sandbox(t)
			var log bytes.Buffer
			if err := f.Fetch(t.Context(), []mesos.URI{{Value: uri}}, sb, "", &log); err != nil {
				t.Fatalf("Fetch: %v\n%s", err, log.String())
			}
			checkPayload(t, sb)
			if _, err := os.Stat(filepath.Join(sb, tt.name)); err != nil {
				t.Errorf("the archive itself is not kept: %v", err)
			}
			if !strings.Contains(log.String(), "Extracted") {
				t.Errorf("log does not mention the extraction:\n%s", log.String())
			}
			expectOnlySandbox(t, parent)
		})
	}
}

func TestSingleGzipFile(t *testing.T) {
	srv := newServer(t)
	uri := srv.put("/notes.txt.gz", gzipBytes([]byte("some notes")))
	sb, _ := sandbox(t)
	if err := newFetcher(t, fetcher.Config{}).Fetch(t.Context(), []mesos.URI{{Value: uri}}, sb, "", nil); err != nil {
		t.Fatal(err)
	}
	expectFile(t, filepath.Join(sb, "notes.txt"), "some notes", 0)
}

func TestExecutableSkipsExtraction(t *testing.T) {
	srv := newServer(t)
	tgz := gzipBytes(makeTar(t, payload))
	uri := srv.put("/tool.tar.gz", tgz)
	sb, _ := sandbox(t)
	if err := newFetcher(t, fetcher.Config{}).Fetch(t.Context(), []mesos.URI{{Value: uri, Executable: boolp(true)}}, sb, "", nil); err != nil {
		t.Fatal(err)
	}
	expectFile(t, filepath.Join(sb, "tool.tar.gz"), string(tgz), 0o755)
	if _, err := os.Stat(filepath.Join(sb, "hello")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("an executable URI was extracted: %v", err)
	}
}

func TestExtractFalse(t *testing.T) {
	srv := newServer(t)
	tgz := gzipBytes(makeTar(t, payload))
	uri := srv.put("/app.tgz", tgz)
	sb, _ := sandbox(t)
	if err := newFetcher(t, fetcher.Config{}).Fetch(t.Context(), []mesos.URI{{Value: uri, Extract: boolp(false)}}, sb, "", nil); err != nil {
		t.Fatal(err)
	}
	expectFile(t, filepath.Join(sb, "app.tgz"), string(tgz), 0o644)
	if _, err := os.Stat(filepath.Join(sb, "hello")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("extract=false was extracted: %v", err)
	}
}

func TestOutputFile(t *testing.T) {
	srv := newServer(t)
	uri := srv.put("/data", []byte("payload"))
	tgzURI := srv.put("/download", gzipBytes(makeTar(t, payload)))
	sb, parent := sandbox(t)
	f := newFetcher(t, fetcher.Config{})
	err := f.Fetch(t.Context(), []mesos.URI{
		{Value: uri, OutputFile: "conf/app/settings.json"},
		{Value: tgzURI, OutputFile: "pkg/app.tar.gz"}, // extracted because of the new name, next to it
	}, sb, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	expectFile(t, filepath.Join(sb, "conf/app/settings.json"), "payload", 0o644)
	checkPayload(t, filepath.Join(sb, "pkg"))

	for _, bad := range []string{"../escape", "/abs/path", "a/../../escape"} {
		err := f.Fetch(t.Context(), []mesos.URI{{Value: uri, OutputFile: bad}}, sb, "", nil)
		var ue *fetcher.URIError
		if !errors.As(err, &ue) || ue.URI != uri {
			t.Errorf("output_file %q: err = %v, want a URIError for %s", bad, err, uri)
		}
	}
	expectOnlySandbox(t, parent)
}

func TestFileScheme(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "local.tar")
	if err := os.WriteFile(src, makeTar(t, payload), 0o644); err != nil {
		t.Fatal(err)
	}
	plain := filepath.Join(dir, "plain.txt")
	os.WriteFile(plain, []byte("plain"), 0o644)
	sb, _ := sandbox(t)
	err := newFetcher(t, fetcher.Config{}).Fetch(t.Context(), []mesos.URI{
		{Value: "file://" + src},
		{Value: plain},
	}, sb, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	checkPayload(t, sb)
	expectFile(t, filepath.Join(sb, "plain.txt"), "plain", 0)
}

func TestUnsupportedURIs(t *testing.T) {
	f := newFetcher(t, fetcher.Config{})
	sb, _ := sandbox(t)
	for _, v := range []string{"ftp://host/x", "relative/path", "file://remote/x", "http://host/"} {
		err := f.Fetch(t.Context(), []mesos.URI{{Value: v}}, sb, "", nil)
		var ue *fetcher.URIError
		if !errors.As(err, &ue) || ue.URI != v {
			t.Errorf("%s: err = %v, want a URIError", v, err)
		}
	}
}

func TestNotFound(t *testing.T) {
	srv := newServer(t)
	ok := srv.put("/ok.txt", []byte("ok"))
	missing := srv.URL + "/missing.tgz"
	sb, _ := sandbox(t)
	f := newFetcher(t, fetcher.Config{})
	var log bytes.Buffer
	err := f.Fetch(t.Context(), []mesos.URI{{Value: ok}, {Value: missing}, {Value: ok}}, sb, "", &log)
	var ue *fetcher.URIError
	if !errors.As(err, &ue) || ue.URI != missing {
		t.Fatalf("err = %v, want a URIError for %s", err, missing)
	}
	if !strings.Contains(err.Error(), missing) || !strings.Contains(err.Error(), "404") {
		t.Errorf("error %q does not name the URI and the status", err)
	}
	if !strings.Contains(log.String(), missing) {
		t.Errorf("log does not name the URI:\n%s", log.String())
	}
	if srv.count("/ok.txt") != 1 {
		t.Errorf("fetches went on after the failure: %d", srv.count("/ok.txt"))
	}
	if _, err := os.Stat(filepath.Join(sb, "missing.tgz")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("partial file left behind: %v", err)
	}
	if s := f.Stats(); s.TaskFetchesFailed != 1 || s.TaskFetchesSucceeded != 0 {
		t.Errorf("stats = %+v", s)
	}
}

func TestStallTimeout(t *testing.T) {
	srv := newServer(t)
	// Sends some bytes, then nothing until the client gives up.
	midBody := srv.handle("/stall-body.bin", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "1000")
		w.Write([]byte("partial"))
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	})
	// Never answers.
	noHeaders := srv.handle("/stall-headers.bin", func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	})
	f := newFetcher(t, fetcher.Config{StallTimeout: 100 * time.Millisecond})
	for _, uri := range []string{midBody, noHeaders} {
		sb, _ := sandbox(t)
		err := f.Fetch(t.Context(), []mesos.URI{{Value: uri}}, sb, "", nil)
		var ue *fetcher.URIError
		if !errors.As(err, &ue) || ue.URI != uri || !errors.Is(err, fetcher.ErrStalled) {
			t.Errorf("%s: err = %v, want a URIError wrapping ErrStalled", uri, err)
		}
	}
}

// slowBody yields one byte per gap of (fake) time, n times; with gap < 0
// it never yields.
type slowBody struct {
	ctx context.Context
	gap time.Duration
	n   int
}

func (b *slowBody) Read(p []byte) (int, error) {
	if b.n == 0 {
		return 0, io.EOF
	}
	var tick <-chan time.Time
	if b.gap >= 0 {
		tick = time.After(b.gap)
	}
	select {
	case <-tick:
		b.n--
		p[0] = 'x'
		return 1, nil
	case <-b.ctx.Done():
		return 0, b.ctx.Err()
	}
}

func (b *slowBody) Close() error { return nil }

// slowTransport answers every request with a slowBody.
type slowTransport struct {
	gap time.Duration
	n   int
}

func (tr slowTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: 200, Status: "200 OK", Header: http.Header{}, Request: r,
		Body: &slowBody{ctx: r.Context(), gap: tr.gap, n: tr.n}}, nil
}

// The stall timer restarts on every byte: a slow source that keeps making
// progress is not a stall, however long it takes in total. On the fake
// clock, so that no timing can make this flaky.
func TestStallTimerRestartsOnProgress(t *testing.T) {
	tests := []struct {
		name    string
		gap     time.Duration
		stalled bool
	}{
		{"steady: 10 bytes 50s apart, 500s in all", 50 * time.Second, false},
		{"a gap longer than the stall timeout", 61 * time.Second, true},
		{"no bytes at all", -1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := newFetcher(t, fetcher.Config{
					StallTimeout: time.Minute,
					HTTPClient:   &http.Client{Transport: slowTransport{gap: tt.gap, n: 10}},
				})
				sb, _ := sandbox(t)
				start := time.Now()
				err := f.Fetch(t.Context(), []mesos.URI{{Value: "http://example.test/slow.txt"}}, sb, "", nil)
				if tt.stalled {
					if !errors.Is(err, fetcher.ErrStalled) {
						t.Fatalf("err = %v, want ErrStalled", err)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if el := time.Since(start); el != 500*time.Second {
					t.Errorf("took %s of fake time, want 500s", el)
				}
				expectFile(t, filepath.Join(sb, "slow.txt"), "xxxxxxxxxx", 0)
			})
		})
	}
}

func TestCacheHit(t *testing.T) {
	srv := newServer(t)
	uri := srv.put("/app.tgz", gzipBytes(makeTar(t, payload)))
	f := newFetcher(t, fetcher.Config{CacheDir: t.TempDir()})
	cached := []mesos.URI{{Value: uri, Cache: boolp(true)}}
	for range 2 {
		sb, _ := sandbox(t)
		if err := f.Fetch(t.Context(), cached, sb, "root", nil); err != nil {
			t.Fatal(err)
		}
		checkPayload(t, sb)
	}
	if n := srv.count("/app.tgz"); n != 1 {
		t.Errorf("requests = %d, want 1", n)
	}
	s := f.Stats()
	if s.CacheHits != 1 || s.CacheMisses != 1 || s.TaskFetchesSucceeded != 2 || s.CacheSizeUsedBytes == 0 {
		t.Errorf("stats = %+v", s)
	}
	// Keyed by (user, URI): another user downloads again.
	sb, _ := sandbox(t)
	if err := f.Fetch(t.Context(), cached, sb, "nobody", nil); err != nil {
		t.Fatal(err)
	}
	if n := srv.count("/app.tgz"); n != 2 {
		t.Errorf("requests = %d after another user's fetch, want 2", n)
	}
	// Without cache: true, the cache is not used.
	sb, _ = sandbox(t)
	if err := f.Fetch(t.Context(), []mesos.URI{{Value: uri}}, sb, "root", nil); err != nil {
		t.Fatal(err)
	}
	if n := srv.count("/app.tgz"); n != 3 {
		t.Errorf("requests = %d after an uncached fetch, want 3", n)
	}
}

func TestCacheLRUEviction(t *testing.T) {
	srv := newServer(t)
	uris, bodies := map[string]string{}, map[string][]byte{}
	for n, size := range map[string]int{"a": 100, "b": 100, "c": 100, "big": 300} {
		bodies[n] = bytes.Repeat([]byte(n[:1]), size)
		uris[n] = srv.put("/"+n, bodies[n])
	}
	cacheDir := t.TempDir()
	f := newFetcher(t, fetcher.Config{CacheDir: cacheDir, CacheSizeBytes: 250})
	fetch := func(n string) {
		t.Helper()
		sb, _ := sandbox(t)
		if err := f.Fetch(t.Context(), []mesos.URI{{Value: uris[n], Cache: boolp(true)}}, sb, "", nil); err != nil {
			t.Fatal(err)
		}
		if b, _ := os.ReadFile(filepath.Join(sb, n)); !bytes.Equal(b, bodies[n]) {
			t.Fatalf("%s: wrong content %.10q", n, b)
		}
	}
	fetch("a")   // miss
	fetch("b")   // miss
	fetch("a")   // hit: a is now more recent than b
	fetch("c")   // miss: evicts b
	fetch("a")   // hit
	fetch("b")   // miss: evicts c (a was used later)
	fetch("c")   // miss: evicts a
	fetch("big") // larger than the cache: used once, not kept
	fetch("big")
	want := map[string]int{"a": 1, "b": 2, "c": 2, "big": 2}
	for n, w := range want {
		if got := srv.count("/" + n); got != w {
			t.Errorf("requests for %s = %d, want %d", n, got, w)
		}
	}
	s := f.Stats()
	if s.CacheSizeUsedBytes != 200 || s.CacheSizeTotalBytes != 250 || s.CacheHits != 2 || s.CacheMisses != 7 {
		t.Errorf("stats = %+v", s)
	}
	des, _ := os.ReadDir(cacheDir)
	if len(des) != 2 {
		t.Errorf("cache dir holds %d files, want 2", len(des))
	}
}

func TestCacheFailureFallsBackToDirect(t *testing.T) {
	srv := newServer(t)
	uri := srv.put("/x.txt", []byte("x"))
	cacheDir := filepath.Join(t.TempDir(), "cache")
	f := newFetcher(t, fetcher.Config{CacheDir: cacheDir})
	if err := os.RemoveAll(cacheDir); err != nil { // the cache breaks
		t.Fatal(err)
	}
	sb, _ := sandbox(t)
	var log bytes.Buffer
	if err := f.Fetch(t.Context(), []mesos.URI{{Value: uri, Cache: boolp(true)}}, sb, "", &log); err != nil {
		t.Fatal(err)
	}
	expectFile(t, filepath.Join(sb, "x.txt"), "x", 0)
	if !strings.Contains(log.String(), "directly into the sandbox instead") {
		t.Errorf("log does not mention the fallback:\n%s", log.String())
	}
}

func TestCacheClearedOnStart(t *testing.T) {
	dir := t.TempDir()
	stale := filepath.Join(dir, strings.Repeat("ab", 32))
	other := filepath.Join(dir, "not-ours")
	os.WriteFile(stale, []byte("old"), 0o644)
	os.WriteFile(other, []byte("keep"), 0o644)
	newFetcher(t, fetcher.Config{CacheDir: dir})
	if _, err := os.Stat(stale); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("stale entry kept: %v", err)
	}
	if _, err := os.Stat(other); err != nil {
		t.Errorf("a file the fetcher does not own was removed: %v", err)
	}
}

// waitWriter signals each time a line containing marker is written.
type waitWriter struct {
	marker string
	seen   chan struct{}
	mu     sync.Mutex
	buf    bytes.Buffer
}

func (w *waitWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if strings.Contains(string(b), w.marker) {
		w.seen <- struct{}{}
	}
	return w.buf.Write(b)
}

func TestConcurrentFetchesDownloadOnce(t *testing.T) {
	srv := newServer(t)
	release := make(chan struct{})
	body := gzipBytes(makeTar(t, payload))
	uri := srv.handle("/app.tgz", func(w http.ResponseWriter, r *http.Request) {
		<-release
		w.Write(body)
	})
	f := newFetcher(t, fetcher.Config{CacheDir: t.TempDir()})
	const n = 5
	seen := make(chan struct{}, n)
	errs := make(chan error, n)
	sbs := make([]string, n)
	for i := range n {
		sbs[i], _ = sandbox(t)
		log := &waitWriter{marker: "Waiting for another fetch", seen: seen}
		go func() {
			errs <- f.Fetch(t.Context(), []mesos.URI{{Value: uri, Cache: boolp(true)}}, sbs[i], "", log)
		}()
	}
	// Release the download only when every other fetch waits for it.
	for range n - 1 {
		<-seen
	}
	close(release)
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	for _, sb := range sbs {
		checkPayload(t, sb)
	}
	if c := srv.count("/app.tgz"); c != 1 {
		t.Errorf("requests = %d, want 1", c)
	}
	if s := f.Stats(); s.CacheMisses != 1 || s.CacheHits != n-1 {
		t.Errorf("stats = %+v", s)
	}
}

// Waiters share the downloader's source error rather than each trying.
func TestConcurrentFetchesShareSourceErrors(t *testing.T) {
	srv := newServer(t)
	release := make(chan struct{})
	uri := srv.handle("/gone", func(w http.ResponseWriter, r *http.Request) {
		<-release
		http.NotFound(w, r)
	})
	f := newFetcher(t, fetcher.Config{CacheDir: t.TempDir()})
	const n = 3
	seen := make(chan struct{}, n)
	errs := make(chan error, n)
	for range n {
		sb, _ := sandbox(t)
		log := &waitWriter{marker: "Waiting for another fetch", seen: seen}
		go func() { errs <- f.Fetch(t.Context(), []mesos.URI{{Value: uri, Cache: boolp(true)}}, sb, "", log) }()
	}
	for range n - 1 {
		<-seen
	}
	close(release)
	for range n {
		var ue *fetcher.URIError
		if err := <-errs; !errors.As(err, &ue) || ue.URI != uri {
			t.Errorf("err = %v, want a URIError", err)
		}
	}
	if c := srv.count("/gone"); c != 1 {
		t.Errorf("requests = %d, want 1", c)
	}
	if s := f.Stats(); s.TaskFetchesFailed != n {
		t.Errorf("stats = %+v", s)
	}
}

func TestPathTraversalRejected(t *testing.T) {
	tests := []struct {
		name    string
		entries []entry
	}{
		{"dotdot", []entry{{name: "ok.txt", body: "ok"}, {name: "../evil.txt", body: "evil"}}},
		{"nested dotdot", []entry{{name: "a/../../evil.txt", body: "evil"}}},
		{"absolute", []entry{{name: "/tmp/strata-fetcher-evil.txt", body: "evil"}}},
		{"absolute symlink", []entry{{name: "etc", typ: tar.TypeSymlink, link: "/etc"}}},
		{"escaping symlink", []entry{{name: "up", typ: tar.TypeSymlink, link: "../.."}}},
		{"symlink then write through it", []entry{
			{name: "self", typ: tar.TypeSymlink, link: "."},
			{name: "self/up", typ: tar.TypeSymlink, link: "../evil.txt"},
		}},
		{"lexically inside, really outside", []entry{
			{name: "self", typ: tar.TypeSymlink, link: "."},
			{name: "l", typ: tar.TypeSymlink, link: "self/../evil.txt"},
		}},
		{"hard link moves a symlink", []entry{
			{name: "d/", typ: tar.TypeDir, mode: 0o755},
			{name: "d/x.txt", body: "x"},
			{name: "d/s", typ: tar.TypeSymlink, link: "../d/x.txt"},
			{name: "d/e/", typ: tar.TypeDir, mode: 0o755},
			{name: "s2", typ: tar.TypeLink, link: "d/s"},
		}},
		{"replaced directory", []entry{
			{name: "a/", typ: tar.TypeDir, mode: 0o755},
			{name: "l", typ: tar.TypeSymlink, link: "a/../x"}, // fine while a is a directory
			{name: "a", typ: tar.TypeSymlink, link: "."},      // now l is ./../x
		}},
		{"hard link outside", []entry{{name: "passwd", typ: tar.TypeLink, link: "../../../../etc/passwd"}}},
	}
	srv := newServer(t)
	f := newFetcher(t, fetcher.Config{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			uri := srv.put("/"+strings.ReplaceAll(tt.name, " ", "-")+".tar", makeTar(t, tt.entries))
			sb, parent := sandbox(t)
			err := f.Fetch(t.Context(), []mesos.URI{{Value: uri}}, sb, "", nil)
			var ue *fetcher.URIError
			if !errors.As(err, &ue) || ue.URI != uri || !errors.Is(err, fetcher.ErrUnsafeArchive) {
				t.Fatalf("err = %v, want a URIError wrapping ErrUnsafeArchive", err)
			}
			t.Log(err)
			expectOnlySandbox(t, parent)
			if _, err := os.Lstat("/tmp/strata-fetcher-evil.txt"); err == nil {
				t.Error("wrote an absolute path")
			}
			// No symlink left in the sandbox points outside it.
			filepath.WalkDir(sb, func(p string, d fs.DirEntry, err error) error {
				if err == nil && d.Type()&fs.ModeSymlink != 0 {
					real, err := filepath.EvalSymlinks(p)
					if err == nil && !strings.HasPrefix(real, sb+"/") && real != sb {
						t.Errorf("%s resolves to %s outside the sandbox", p, real)
					}
				}
				return nil
			})
		})
	}

	t.Run("zip", func(t *testing.T) {
		uri := srv.put("/evil.zip", makeZip(t, []entry{{name: "../zip-evil.txt", body: "evil"}}))
		sb, parent := sandbox(t)
		err := f.Fetch(t.Context(), []mesos.URI{{Value: uri}}, sb, "", nil)
		if !errors.Is(err, fetcher.ErrUnsafeArchive) {
			t.Fatalf("err = %v, want ErrUnsafeArchive", err)
		}
		expectOnlySandbox(t, parent)
	})
	t.Run("zip symlink", func(t *testing.T) {
		uri := srv.put("/evil-link.zip", makeZip(t, []entry{{name: "l", typ: tar.TypeSymlink, link: "../../etc"}}))
		sb, _ := sandbox(t)
		if err := f.Fetch(t.Context(), []mesos.URI{{Value: uri}}, sb, "", nil); !errors.Is(err, fetcher.ErrUnsafeArchive) {
			t.Fatalf("err = %v, want ErrUnsafeArchive", err)
		}
	})
}

// Symlinks and hard links that stay inside are extracted.
func TestLinksInsideAccepted(t *testing.T) {
	srv := newServer(t)
	uri := srv.put("/links.tar", makeTar(t, []entry{
		{name: "d/x.txt", body: "x"},
		{name: "d/up", typ: tar.TypeSymlink, link: "../top.txt"},
		{name: "top.txt", body: "top"},
		{name: "hard", typ: tar.TypeLink, link: "d/x.txt"},
		{name: "dirlink", typ: tar.TypeSymlink, link: "d"},
		{name: "dirlink/through.txt", body: "through"}, // written into d
	}))
	sb, _ := sandbox(t)
	if err := newFetcher(t, fetcher.Config{}).Fetch(t.Context(), []mesos.URI{{Value: uri}}, sb, "", nil); err != nil {
		t.Fatal(err)
	}
	expectFile(t, filepath.Join(sb, "d/up"), "top", 0)
	expectFile(t, filepath.Join(sb, "hard"), "x", 0)
	expectFile(t, filepath.Join(sb, "d/through.txt"), "through", 0)
}

func TestChownToUser(t *testing.T) {
	if os.Geteuid() != 0 {
		ci.SkipOrFail(t, "needs root to chown")
	}
	u, err := user.Lookup("nobody")
	if err != nil {
		ci.SkipOrFail(t, "no user nobody: %v", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	srv := newServer(t)
	uri := srv.put("/app.tgz", gzipBytes(makeTar(t, payload)))
	plain := srv.put("/plain.txt", []byte("p"))
	sb, _ := sandbox(t)
	f := newFetcher(t, fetcher.Config{CacheDir: t.TempDir()})
	err = f.Fetch(t.Context(), []mesos.URI{
		{Value: uri, Cache: boolp(true)},
		{Value: plain, OutputFile: "sub/dir/p.txt"},
	}, sb, "nobody", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"app.tgz", "hello", "hello/a.txt", "hello/bin", "hello/bin/run.sh", "hello/link", "sub", "sub/dir", "sub/dir/p.txt"} {
		fi, err := os.Lstat(filepath.Join(sb, p))
		if err != nil {
			t.Errorf("%s: %v", p, err)
			continue
		}
		if got := int(fi.Sys().(*syscall.Stat_t).Uid); got != uid {
			t.Errorf("%s owned by %d, want %d (nobody)", p, got, uid)
		}
	}
	if fi, _ := os.Stat(sb); fi.Sys().(*syscall.Stat_t).Uid != 0 {
		t.Error("the sandbox itself changed owner; the agent owns that decision")
	}

	// A local file the user may not read is not fetched for it.
	secret := filepath.Join(t.TempDir(), "secret")
	os.WriteFile(secret, []byte("s"), 0o600)
	sb2, _ := sandbox(t)
	err = f.Fetch(t.Context(), []mesos.URI{{Value: secret}}, sb2, "nobody", nil)
	if !errors.Is(err, fs.ErrPermission) {
		t.Errorf("fetching a root-only file for nobody: err = %v, want a permission error", err)
	}
	if err := f.Fetch(t.Context(), []mesos.URI{{Value: secret}}, sb2, "", nil); err != nil {
		t.Errorf("fetching without a user: %v", err)
	}
}

func TestUnknownUser(t *testing.T) {
	ci.RequireRoot(t, "users matter only when running as root")
	sb, _ := sandbox(t)
	err := newFetcher(t, fetcher.Config{}).Fetch(t.Context(), []mesos.URI{{Value: "/etc/hostname"}}, sb, "no-such-user-strata", nil)
	if err == nil {
		t.Fatal("fetch for an unknown user succeeded")
	}
}

func TestCancelled(t *testing.T) {
	srv := newServer(t)
	started := make(chan struct{}, 1)
	uri := srv.handle("/hang", func(w http.ResponseWriter, r *http.Request) {
		started <- struct{}{}
		<-r.Context().Done()
	})
	ctx, cancel := context.WithCancel(t.Context())
	f := newFetcher(t, fetcher.Config{CacheDir: t.TempDir()})
	sb, _ := sandbox(t)
	errc := make(chan error, 1)
	go func() { errc <- f.Fetch(ctx, []mesos.URI{{Value: uri, Cache: boolp(true)}}, sb, "", nil) }()
	<-started
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestConfigValidation(t *testing.T) {
	if _, err := fetcher.New(fetcher.Config{CacheSizeBytes: -1}); err == nil {
		t.Error("negative cache size accepted")
	}
	if _, err := fetcher.New(fetcher.Config{StallTimeout: -time.Second}); err == nil {
		t.Error("negative stall timeout accepted")
	}
}
