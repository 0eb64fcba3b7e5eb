package fetcher

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path"
	"strings"
	"time"
)

// ErrStalled is wrapped by download errors when the source made no progress
// for Config.StallTimeout.
var ErrStalled = errors.New("download stalled")

// source is where a URI's bytes come from.
type source struct {
	uri   string
	url   *url.URL // http and https
	local string   // absolute path of a local file
	base  string   // the default destination name; "" if the URI has none
}

func (s source) String() string { return s.uri }

// parseSource accepts http://, https://, file:///abs (or file://localhost/abs)
// and plain absolute paths.
func parseSource(v string) (source, error) {
	s := source{uri: v}
	if strings.HasPrefix(v, "/") {
		s.local = path.Clean(v)
	} else {
		u, err := url.Parse(v)
		if err != nil {
			return s, fmt.Errorf("invalid URI: %w", err)
		}
		switch strings.ToLower(u.Scheme) {
		case "http", "https":
			if u.Host == "" {
				return s, errors.New("invalid URI: no host")
			}
			s.url = u
		case "file":
			if u.Host != "" && u.Host != "localhost" {
				return s, fmt.Errorf("file URI with a remote host %q is not supported", u.Host)
			}
			if !strings.HasPrefix(u.Path, "/") {
				return s, errors.New("file URI must hold an absolute path")
			}
			s.local = path.Clean(u.Path)
		case "":
			return s, errors.New("relative paths are not supported: use an absolute path or a URL")
		default:
			return s, fmt.Errorf("unsupported URI scheme %q (supported: http, https, file)", u.Scheme)
		}
	}
	p := s.local
	if s.url != nil {
		p = s.url.Path
	}
	if b := path.Base(p); p != "" && b != "/" && b != "." && b != ".." {
		s.base = b
	}
	return s, nil
}

// download copies the source into w and returns the number of bytes. A
// source that makes no progress for stall aborts with an error wrapping
// ErrStalled; that includes waiting for the connection and the response
// headers.
func download(ctx context.Context, client *http.Client, src source, w io.Writer, stall time.Duration) (int64, error) {
	if src.local != "" {
		f, err := os.Open(src.local)
		if err != nil {
			return 0, err
		}
		defer f.Close()
		if fi, err := f.Stat(); err != nil {
			return 0, err
		} else if fi.IsDir() {
			return 0, fmt.Errorf("%s is a directory", src.local)
		}
		return io.Copy(w, &ctxReader{ctx: ctx, r: f})
	}

	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	stalled := fmt.Errorf("%w: no progress for %s", ErrStalled, stall)
	watchdog := time.AfterFunc(stall, func() { cancel(stalled) })
	defer watchdog.Stop()

	req, err := http.NewRequestWithContext(ctx, http.MethodGet, src.url.String(), nil)
	if err != nil {
		return 0, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, causeOf(ctx, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return 0, fmt.Errorf("unexpected HTTP response: %s", resp.Status)
	}
	n, err := io.Copy(w, &progressReader{r: resp.Body, progress: func() { watchdog.Reset(stall) }})
	if err != nil {
		return n, causeOf(ctx, err)
	}
	return n, nil
}

// causeOf prefers the reason ctx was cancelled (a stall) over the error it
// caused.
func causeOf(ctx context.Context, err error) error {
	if c := context.Cause(ctx); c != nil && errors.Is(c, ErrStalled) {
		return c
	}
	return err
}

type progressReader struct {
	r        io.Reader
	progress func()
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	if n > 0 {
		p.progress()
	}
	return n, err
}

// ctxReader stops a local copy when ctx ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(b []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(b)
}
