package containerizer

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// The Docker Engine API versions this client speaks. It asks the engine for
// its version and uses the lower of that and dockerMaxAPIVersion. Below
// dockerMinAPIVersion the endpoints used here (wait?condition=not-running,
// logs with fractional since, labels filters) do not all exist.
const (
	dockerMinAPIVersion = "1.30" // Docker 17.06
	dockerMaxAPIVersion = "1.47" // Docker 27.x
)

// dockerAPI is the small part of the Docker Engine API the containerizer
// uses, spoken over the engine's unix socket with net/http (see Docker for
// why not the docker CLI or the official client module).
type dockerAPI struct {
	client *http.Client
	// prefix is "/v1.NN", the negotiated API version.
	prefix string
}

// dockerError is a non-2xx answer of the engine, with the engine's message.
type dockerError struct {
	Status  int
	Message string
}

func (e *dockerError) Error() string {
	return fmt.Sprintf("docker engine: %s (HTTP %d)", e.Message, e.Status)
}

// dockerStatus returns the HTTP status of a *dockerError in err, or 0.
func dockerStatus(err error) int {
	var de *dockerError
	if errors.As(err, &de) {
		return de.Status
	}
	return 0
}

func isDockerNotFound(err error) bool { return dockerStatus(err) == http.StatusNotFound }

// newDockerAPI connects to the engine at socket and negotiates the version.
func newDockerAPI(ctx context.Context, socket string) (*dockerAPI, error) {
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", socket)
		},
		// Log streams hold one connection per container; short calls reuse
		// idle ones.
		MaxIdleConns:        64,
		MaxIdleConnsPerHost: 64,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	a := &dockerAPI{client: &http.Client{Transport: tr}}
	var v struct {
		Version       string
		APIVersion    string `json:"ApiVersion"`
		MinAPIVersion string `json:"MinAPIVersion"`
	}
	if err := a.call(ctx, http.MethodGet, "/version", nil, nil, &v); err != nil {
		return nil, fmt.Errorf("docker engine at %s: %w", socket, err)
	}
	use := v.APIVersion
	if apiVersionLess(dockerMaxAPIVersion, use) {
		use = dockerMaxAPIVersion
	}
	if apiVersionLess(use, dockerMinAPIVersion) {
		return nil, fmt.Errorf("docker engine %s at %s speaks API %s; at least %s (Docker 17.06) is needed",
			v.Version, socket, v.APIVersion, dockerMinAPIVersion)
	}
	if v.MinAPIVersion != "" && apiVersionLess(use, v.MinAPIVersion) {
		return nil, fmt.Errorf("docker engine %s at %s needs API %s or later; this build speaks up to %s",
			v.Version, socket, v.MinAPIVersion, dockerMaxAPIVersion)
	}
	a.prefix = "/v" + use
	return a, nil
}

// apiVersionLess compares "1.41"-style versions.
func apiVersionLess(a, b string) bool {
	am, an := splitAPIVersion(a)
	bm, bn := splitAPIVersion(b)
	if am != bm {
		return am < bm
	}
	return an < bn
}

func splitAPIVersion(v string) (major, minor int) {
	ma, mi, _ := strings.Cut(v, ".")
	major, _ = strconv.Atoi(ma)
	minor, _ = strconv.Atoi(mi)
	return major, minor
}

// do sends a request and returns the response of a 2xx or 304 answer; any
// other status is returned as a *dockerError carrying the engine's message.
// The caller closes the body.
func (a *dockerAPI) do(ctx context.Context, method, path string, query url.Values, body any) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	u := "http://docker" + a.prefix + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := a.client.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 == 2 || resp.StatusCode == http.StatusNotModified {
		return resp, nil
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var m struct{ Message string }
	if json.Unmarshal(b, &m) != nil || m.Message == "" {
		m.Message = strings.TrimSpace(string(b))
	}
	return nil, &dockerError{Status: resp.StatusCode, Message: m.Message}
}

// call is do for JSON answers: it decodes the body into out (if not nil).
func (a *dockerAPI) call(ctx context.Context, method, path string, query url.Values, in, out any) error {
	resp, err := a.do(ctx, method, path, query, in)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil || resp.StatusCode == http.StatusNoContent || resp.StatusCode == http.StatusNotModified {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("decode %s %s: %w", method, path, err)
	}
	return nil
}

// imageExists tells whether the engine has the image locally.
func (a *dockerAPI) imageExists(ctx context.Context, ref string) (bool, error) {
	err := a.call(ctx, http.MethodGet, "/images/"+ref+"/json", nil, nil, nil)
	switch {
	case err == nil:
		return true, nil
	case isDockerNotFound(err):
		return false, nil
	default:
		return false, err
	}
}

// pullImage pulls ref. The engine reports failures either as an error
// status or, once the pull has started, as an "error" line in the progress
// stream; both come back as a *dockerError with the engine's message.
func (a *dockerAPI) pullImage(ctx context.Context, ref string) error {
	name, tag := splitImageRef(ref)
	q := url.Values{"fromImage": {name}, "tag": {tag}}
	resp, err := a.do(ctx, http.MethodPost, "/images/create", q, nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	dec := json.NewDecoder(bufio.NewReader(resp.Body))
	for {
		var m struct {
			Error       string `json:"error"`
			ErrorDetail struct {
				Message string `json:"message"`
			} `json:"errorDetail"`
		}
		if err := dec.Decode(&m); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return fmt.Errorf("reading the pull progress of %s: %w", ref, err)
		}
		if m.Error != "" || m.ErrorDetail.Message != "" {
			msg := m.ErrorDetail.Message
			if msg == "" {
				msg = m.Error
			}
			return &dockerError{Status: resp.StatusCode, Message: msg}
		}
	}
}

// splitImageRef splits an image reference into the fromImage and tag
// parameters of a pull: a digest or tag when present, else "latest" (an
// empty tag would pull every tag of the repository).
func splitImageRef(ref string) (name, tag string) {
	if i := strings.LastIndexByte(ref, '@'); i >= 0 {
		return ref[:i], ref[i+1:]
	}
	slash := strings.LastIndexByte(ref, '/')
	if i := strings.LastIndexByte(ref, ':'); i > slash {
		return ref[:i], ref[i+1:]
	}
	return ref, "latest"
}

// dockerInspect is the part of GET /containers/{id}/json we read.
type dockerInspect struct {
	ID    string `json:"Id"`
	Name  string
	State struct {
		Status     string
		Running    bool
		OOMKilled  bool
		Dead       bool
		Pid        int
		ExitCode   int
		Error      string
		StartedAt  string
		FinishedAt string
	}
	Config struct {
		Labels     map[string]string
		StopSignal string
	}
}

func (a *dockerAPI) inspect(ctx context.Context, idOrName string) (dockerInspect, error) {
	var out dockerInspect
	err := a.call(ctx, http.MethodGet, "/containers/"+url.PathEscape(idOrName)+"/json", nil, nil, &out)
	return out, err
}

// create creates a container and returns its ID.
func (a *dockerAPI) create(ctx context.Context, name string, body *dockerCreateBody) (string, error) {
	var out struct {
		ID       string `json:"Id"`
		Warnings []string
	}
	if err := a.call(ctx, http.MethodPost, "/containers/create", url.Values{"name": {name}}, body, &out); err != nil {
		return "", err
	}
	return out.ID, nil
}

func (a *dockerAPI) start(ctx context.Context, id string) error {
	return a.call(ctx, http.MethodPost, "/containers/"+id+"/start", nil, nil, nil)
}

// kill sends a signal to the container's PID 1. A container that does not
// run (409) is not an error.
func (a *dockerAPI) kill(ctx context.Context, id, signal string) error {
	err := a.call(ctx, http.MethodPost, "/containers/"+id+"/kill", url.Values{"signal": {signal}}, nil, nil)
	if dockerStatus(err) == http.StatusConflict {
		return nil
	}
	return err
}

// wait blocks until the container does not run and returns its exit code.
func (a *dockerAPI) wait(ctx context.Context, id string) (int, error) {
	var out struct {
		StatusCode int
		Error      *struct{ Message string }
	}
	if err := a.call(ctx, http.MethodPost, "/containers/"+id+"/wait", url.Values{"condition": {"not-running"}}, nil, &out); err != nil {
		return 0, err
	}
	if out.Error != nil && out.Error.Message != "" {
		return out.StatusCode, errors.New(out.Error.Message)
	}
	return out.StatusCode, nil
}

// remove force-removes a container and its anonymous volumes; one that is
// already gone is not an error.
func (a *dockerAPI) remove(ctx context.Context, id string) error {
	err := a.call(ctx, http.MethodDelete, "/containers/"+id, url.Values{"force": {"1"}, "v": {"1"}}, nil, nil)
	if isDockerNotFound(err) {
		return nil
	}
	return err
}

// dockerSummary is one entry of GET /containers/json.
type dockerSummary struct {
	ID     string `json:"Id"`
	Names  []string
	State  string
	Labels map[string]string
}

// list returns all containers (running or not) carrying every label k=v.
func (a *dockerAPI) list(ctx context.Context, labels map[string]string) ([]dockerSummary, error) {
	var f []string
	for k, v := range labels {
		f = append(f, k+"="+v)
	}
	filters, err := json.Marshal(map[string][]string{"label": f})
	if err != nil {
		return nil, err
	}
	var out []dockerSummary
	err = a.call(ctx, http.MethodGet, "/containers/json", url.Values{"all": {"1"}, "filters": {string(filters)}}, nil, &out)
	return out, err
}

// logs returns the container's stdout and stderr, multiplexed, each message
// prefixed with its timestamp, from since (a "sec.nanosec" string; "" for
// all). With follow the stream ends when the container has stopped.
func (a *dockerAPI) logs(ctx context.Context, id, since string, follow bool) (io.ReadCloser, error) {
	q := url.Values{"follow": {"0"}, "stdout": {"1"}, "stderr": {"1"}, "timestamps": {"1"}}
	if follow {
		q.Set("follow", "1")
	}
	if since != "" {
		q.Set("since", since)
	}
	resp, err := a.do(ctx, http.MethodGet, "/containers/"+id+"/logs", q, nil)
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

// dockerStats is the part of GET /containers/{id}/stats we read.
type dockerStats struct {
	Read      time.Time `json:"read"`
	PidsStats struct {
		Current uint64 `json:"current"`
	} `json:"pids_stats"`
	CPUStats struct {
		CPUUsage struct {
			UsageInKernelmode uint64 `json:"usage_in_kernelmode"`
			UsageInUsermode   uint64 `json:"usage_in_usermode"`
		} `json:"cpu_usage"`
		ThrottlingData struct {
			Periods          uint64 `json:"periods"`
			ThrottledPeriods uint64 `json:"throttled_periods"`
			ThrottledTime    uint64 `json:"throttled_time"` // ns
		} `json:"throttling_data"`
	} `json:"cpu_stats"`
	MemoryStats struct {
		Usage uint64            `json:"usage"`
		Stats map[string]uint64 `json:"stats"`
	} `json:"memory_stats"`
}

// stats takes one sample (one-shot: no second sample for CPU percentages).
func (a *dockerAPI) stats(ctx context.Context, id string) (dockerStats, error) {
	var out dockerStats
	q := url.Values{"stream": {"0"}}
	if !apiVersionLess(strings.TrimPrefix(a.prefix, "/v"), "1.41") {
		q.Set("one-shot", "1")
	}
	err := a.call(ctx, http.MethodGet, "/containers/"+id+"/stats", q, nil, &out)
	return out, err
}
