package fetcher

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/strata-sched/strata/core/mesos"
)

// Defaults (Mesos' agent flags).
const (
	DefaultCacheSizeBytes = 2 << 30     // --fetcher_cache_size
	DefaultStallTimeout   = time.Minute // --fetcher_stall_timeout
)

// Config configures a Fetcher. Zero values take the defaults; New validates
// and defaults it.
type Config struct {
	CacheDir       string        // --fetcher_cache_dir; "" disables the cache
	CacheSizeBytes int64         // --fetcher_cache_size (default 2 GiB)
	StallTimeout   time.Duration // abort a download that makes no progress for this long (default 1 min)
	HTTPClient     *http.Client  // default: a client with Go's default transport
	Logger         *slog.Logger  // default: slog.Default()
}

func (c Config) withDefaults() (Config, error) {
	if c.CacheSizeBytes < 0 {
		return c, fmt.Errorf("fetcher: negative cache size %d", c.CacheSizeBytes)
	}
	if c.StallTimeout < 0 {
		return c, fmt.Errorf("fetcher: negative stall timeout %s", c.StallTimeout)
	}
	if c.CacheSizeBytes == 0 {
		c.CacheSizeBytes = DefaultCacheSizeBytes
	}
	if c.StallTimeout == 0 {
		c.StallTimeout = DefaultStallTimeout
	}
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{}
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.CacheDir != "" {
		abs, err := filepath.Abs(c.CacheDir)
		if err != nil {
			return c, fmt.Errorf("fetcher: cache dir: %w", err)
		}
		c.CacheDir = abs
	}
	return c, nil
}

// Stats are the fetcher's counters (Mesos' containerizer/fetcher/* metrics
// plus cache hits and misses).
type Stats struct {
	TaskFetchesSucceeded uint64 // Fetch calls that fetched every URI
	TaskFetchesFailed    uint64 // Fetch calls that failed
	CacheHits            uint64 // URIs copied from the cache
	CacheMisses          uint64 // URIs downloaded into the cache
	CacheSizeUsedBytes   int64
	CacheSizeTotalBytes  int64 // 0 without a cache
}

// URIError is the error of a Fetch that failed on one URI.
type URIError struct {
	URI string
	Err error
}

func (e *URIError) Error() string { return fmt.Sprintf("failed to fetch %q: %v", e.URI, e.Err) }
func (e *URIError) Unwrap() error { return e.Err }

// Fetcher fetches URIs into sandboxes. It is safe for concurrent use.
type Fetcher struct {
	cfg    Config
	logger *slog.Logger

	mu       sync.Mutex
	index    *cacheIndex // nil without a cache
	inflight map[string]*flight
	stats    Stats
}

// New validates cfg and, with a cache, creates CacheDir and removes the
// entries a previous process left there.
func New(cfg Config) (*Fetcher, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	f := &Fetcher{cfg: cfg, logger: cfg.Logger, inflight: make(map[string]*flight)}
	if cfg.CacheDir != "" {
		if err := os.MkdirAll(cfg.CacheDir, 0o700); err != nil {
			return nil, fmt.Errorf("fetcher: creating cache dir: %w", err)
		}
		entries, err := os.ReadDir(cfg.CacheDir)
		if err != nil {
			return nil, fmt.Errorf("fetcher: reading cache dir: %w", err)
		}
		for _, e := range entries {
			if isCacheFileName(e.Name()) {
				if err := os.Remove(filepath.Join(cfg.CacheDir, e.Name())); err != nil {
					return nil, fmt.Errorf("fetcher: clearing cache dir: %w", err)
				}
			}
		}
		f.index = newCacheIndex(cfg.CacheSizeBytes)
		f.stats.CacheSizeTotalBytes = cfg.CacheSizeBytes
	}
	return f, nil
}

// Stats returns a snapshot of the counters.
func (f *Fetcher) Stats() Stats {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.stats
	if f.index != nil {
		s.CacheSizeUsedBytes = f.index.used
	}
	return s
}

// Fetch downloads uris into sandbox in order. log receives a human-readable
// record of every step (the agent writes it to <sandbox>/stderr as Mesos'
// fetcher does). The returned error names the URI that failed; errors.As to
// *URIError. The sandbox must exist. When the process runs as root and user
// is set, what Fetch creates is owned by user, and local files are fetched
// only if user may read them.
func (f *Fetcher) Fetch(ctx context.Context, uris []mesos.URI, sandbox, user string, log io.Writer) error {
	if len(uris) == 0 {
		return nil
	}
	if log == nil {
		log = io.Discard
	}
	err := f.fetchAll(ctx, uris, sandbox, user, log)
	f.mu.Lock()
	if err != nil {
		f.stats.TaskFetchesFailed++
	} else {
		f.stats.TaskFetchesSucceeded++
	}
	f.mu.Unlock()
	if err != nil {
		logf(log, "%v", err)
		f.logger.Warn("fetch failed", "sandbox", sandbox, "err", err)
		return err
	}
	logf(log, "Successfully fetched all URIs into %q", sandbox)
	return nil
}

func (f *Fetcher) fetchAll(ctx context.Context, uris []mesos.URI, sandbox, user string, log io.Writer) error {
	own, err := lookupOwner(user)
	if err != nil {
		return fmt.Errorf("fetcher: %w", err)
	}
	root, err := os.OpenRoot(sandbox)
	if err != nil {
		return fmt.Errorf("fetcher: opening sandbox: %w", err)
	}
	defer root.Close()
	for _, u := range uris {
		if err := f.fetchURI(ctx, u, root, user, own, log); err != nil {
			return &URIError{URI: u.Value, Err: err}
		}
	}
	return nil
}

// fetchURI fetches one URI: download (through the cache or not), then
// chmod or extract, then chown.
func (f *Fetcher) fetchURI(ctx context.Context, u mesos.URI, root *os.Root, user string, own *owner, log io.Writer) error {
	logf(log, "Fetching URI %q", u.Value)
	src, err := parseSource(u.Value)
	if err != nil {
		return err
	}
	name := src.base
	if u.OutputFile != "" {
		name = u.OutputFile
	} else if name == "" {
		return errors.New("cannot derive a file name from the URI; set output_file")
	}
	name, err = destName(name)
	if err != nil {
		return err
	}
	if src.local != "" && own != nil {
		if err := own.canRead(src.local); err != nil {
			return fmt.Errorf("user %s may not read %s: %w", own.name, src.local, err)
		}
	}
	created, err := mkdirParents(root, name)
	if err != nil {
		return fmt.Errorf("creating the directory of %s: %w", name, err)
	}
	dest := filepath.Join(root.Name(), filepath.FromSlash(name))

	cached := u.Cache != nil && *u.Cache
	switch {
	case cached && f.index != nil:
		logf(log, "Fetching through the cache into %q", dest)
		err = f.fetchThroughCache(ctx, src, cacheKey(user, u.Value), root, name, log)
		if ce := (*cacheError)(nil); errors.As(err, &ce) {
			logf(log, "Fetching directly into the sandbox instead: the cache failed: %v", ce.err)
			f.logger.Warn("fetcher cache failed, fetching directly", "uri", u.Value, "err", ce.err)
			err = f.fetchDirect(ctx, src, root, name, log)
		}
	default:
		if cached {
			logf(log, "The fetcher cache is disabled on this agent")
		}
		logf(log, "Fetching directly into %q", dest)
		err = f.fetchDirect(ctx, src, root, name, log)
	}
	if err != nil {
		return err
	}
	created = append(created, name)

	switch {
	case u.Executable != nil && *u.Executable:
		if err := root.Chmod(name, 0o755); err != nil {
			return fmt.Errorf("making %s executable: %w", name, err)
		}
		logf(log, "Made %q executable", dest)
	case u.ShouldExtract():
		ex, isArchive, err := extractArchive(ctx, root, name)
		created = append(created, ex...)
		if err != nil {
			return err
		}
		if isArchive {
			logf(log, "Extracted %q into %q", dest, filepath.Dir(dest))
		} else {
			logf(log, "%q is not an archive; kept as is", dest)
		}
	}
	if own != nil {
		if err := own.chown(root, created); err != nil {
			return err
		}
		logf(log, "Changed the owner of what was fetched to %s", own.name)
	}
	return nil
}

// destName validates a destination name relative to the sandbox (the
// output_file, or the URI's last segment) and returns it slash-separated
// and clean.
func destName(name string) (string, error) {
	clean := path.Clean(filepath.ToSlash(name))
	if !filepath.IsLocal(name) || clean == "." || strings.HasPrefix(clean, "../") {
		return "", fmt.Errorf("output file %q must be a relative path inside the sandbox", name)
	}
	return clean, nil
}

// mkdirParents creates the missing parent directories of name and returns
// them.
func mkdirParents(root *os.Root, name string) ([]string, error) {
	var created []string
	parts := strings.Split(name, "/")
	for i := 1; i < len(parts); i++ {
		p := strings.Join(parts[:i], "/")
		err := root.Mkdir(p, 0o755)
		switch {
		case err == nil:
			created = append(created, p)
		case errors.Is(err, fs.ErrExist):
			if fi, err := root.Stat(p); err != nil || !fi.IsDir() {
				return created, fmt.Errorf("%s exists and is not a directory", p)
			}
		default:
			return created, err
		}
	}
	return created, nil
}

// fetchDirect downloads src to name in the sandbox.
func (f *Fetcher) fetchDirect(ctx context.Context, src source, root *os.Root, name string, log io.Writer) error {
	w, err := createReplacing(root, name)
	if err != nil {
		return err
	}
	n, err := download(ctx, f.cfg.HTTPClient, src, w, f.cfg.StallTimeout)
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = root.Remove(name)
		return err
	}
	logf(log, "Downloaded %d bytes from %q", n, src)
	return nil
}

// createReplacing creates name for writing, removing a file (or symlink)
// already there rather than writing through it.
func createReplacing(root *os.Root, name string) (*os.File, error) {
	if fi, err := root.Lstat(name); err == nil {
		if fi.IsDir() {
			return nil, fmt.Errorf("%s is a directory in the sandbox", name)
		}
		if err := root.Remove(name); err != nil {
			return nil, err
		}
	}
	return root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
}

// copyIntoFrom copies the local file from to name in the sandbox.
func copyIntoFrom(from string, root *os.Root, name string) error {
	r, err := os.Open(from)
	if err != nil {
		return err
	}
	defer r.Close()
	return copyInto(r, root, name)
}

// copyInto copies r to name in the sandbox.
func copyInto(r io.Reader, root *os.Root, name string) error {
	w, err := createReplacing(root, name)
	if err != nil {
		return err
	}
	_, err = io.Copy(w, r)
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = root.Remove(name)
	}
	return err
}

func logf(w io.Writer, format string, args ...any) {
	fmt.Fprintf(w, format+"\n", args...)
}
