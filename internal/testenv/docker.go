//go:build unix

package testenv

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/strata-sched/strata/internal/ci"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// DockerSocket is the engine socket the Docker helpers use.
const DockerSocket = "/var/run/docker.sock"

// BusyboxPath is where Debian's busybox-static package installs a statically
// linked busybox, the only binary of the test image.
const BusyboxPath = "/bin/busybox"

// testImageLabel carries a hash of the test image's recipe and busybox
// binary: an image with the tag and the same hash is reused as is.
const testImageLabel = "org.strata-sched.testimage"

// testImageRecipe versions the image layout; change it with the layout.
const testImageRecipe = "busybox-v1"

// missing skips the test, or fails it under CI=true, naming what to install.
func missing(t testing.TB, what, install string) {
	t.Helper()
	ci.SkipOrFail(t, "%s is missing: %s", what, install)
}

// dockerHTTP returns a client that talks to the engine's unix socket.
func dockerHTTP() *http.Client {
	return &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", DockerSocket)
		},
	}}
}

// dockerRequest sends one request to the engine (unversioned paths: the
// engine's own API version) and returns the response of a 2xx answer.
func dockerRequest(ctx context.Context, c *http.Client, method, path string, q url.Values, body io.Reader, contentType string) (*http.Response, error) {
	u := "http://docker" + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 != 2 {
		defer resp.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		return nil, fmt.Errorf("%s %s: HTTP %d: %s", method, path, resp.StatusCode, strings.TrimSpace(string(b)))
	}
	return resp, nil
}

// RequireDocker checks that the Docker engine answers on DockerSocket. When
// it does not, the test is skipped, or fails under CI=true.
func RequireDocker(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := dockerRequest(ctx, dockerHTTP(), http.MethodGet, "/_ping", nil, nil, "")
	if err != nil {
		missing(t, "the Docker engine ("+DockerSocket+": "+err.Error()+")",
			"install and start it (apt-get install docker.io; dockerd)")
		return
	}
	resp.Body.Close()
}

// BuildBusyboxImage makes sure the engine has an image tagged tag built
// FROM scratch with a static busybox: /bin/busybox, every applet as a
// symlink in /bin (sh, sleep, httpd, nc, cat, echo, printf, env, …), /tmp,
// and an /etc/passwd and /etc/group with root and nobody. The image has no
// ENTRYPOINT and CMD ["sh"]. It is built at most once per recipe and busybox
// binary: an image with the tag and the same content hash (label
// org.strata-sched.testimage) is reused, across tests and test processes,
// and is left in place for the next run; builds of one tag are serialized
// through a lock file in the temp dir, and an image the tag pointed to
// before a rebuild is removed. The build needs no registry.
//
// The test is skipped (failed under CI=true) when the engine does not answer
// or busybox-static is not installed.
func BuildBusyboxImage(t testing.TB, tag string) {
	t.Helper()
	RequireDocker(t)
	bin, err := os.ReadFile(BusyboxPath)
	if err != nil {
		missing(t, "a static busybox at "+BusyboxPath, "apt-get install busybox-static")
		return
	}
	if err := checkStatic(BusyboxPath); err != nil {
		missing(t, "a static busybox at "+BusyboxPath+" ("+err.Error()+")", "apt-get install busybox-static")
		return
	}
	applets, err := exec.Command(BusyboxPath, "--list").Output()
	if err != nil {
		t.Fatalf("%s --list: %v", BusyboxPath, err)
	}
	h := sha256.New()
	h.Write([]byte(testImageRecipe))
	h.Write(bin)
	hash := hex.EncodeToString(h.Sum(nil))[:16]

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c := dockerHTTP()
	oldID, oldHash := imageLabel(ctx, c, tag)
	if oldHash == hash {
		return
	}
	unlock, err := lockFile(filepath.Join(os.TempDir(), "strata-testimage-"+strings.NewReplacer("/", "_", ":", "_").Replace(tag)+".lock"))
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	// Another test (or test process) may have built it while we waited.
	if oldID, oldHash = imageLabel(ctx, c, tag); oldHash == hash {
		return
	}

	buildCtx, err := busyboxContext(bin, strings.Fields(string(applets)), hash)
	if err != nil {
		t.Fatal(err)
	}
	q := url.Values{"t": {tag}, "rm": {"1"}, "forcerm": {"1"}}
	resp, err := dockerRequest(ctx, c, http.MethodPost, "/build", q, bytes.NewReader(buildCtx), "application/x-tar")
	if err != nil {
		t.Fatalf("building test image %s: %v", tag, err)
	}
	defer resp.Body.Close()
	dec := json.NewDecoder(resp.Body)
	var log strings.Builder
	for {
		var m struct {
			Stream string `json:"stream"`
			Error  string `json:"error"`
		}
		if err := dec.Decode(&m); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("building test image %s: reading the build output: %v", tag, err)
		}
		log.WriteString(m.Stream)
		if m.Error != "" {
			t.Fatalf("building test image %s: %s\n%s", tag, m.Error, log.String())
		}
	}
	if newID, _ := imageLabel(ctx, c, tag); oldID != "" && newID != oldID {
		// The outdated image, untagged now; kept if a container uses it.
		if resp, err := dockerRequest(ctx, c, http.MethodDelete, "/images/"+oldID, nil, nil, ""); err == nil {
			resp.Body.Close()
		}
	}
}

// imageLabel returns the ID and the recipe hash of the image tagged tag
// ("", "" when there is none).
func imageLabel(ctx context.Context, c *http.Client, tag string) (id, hash string) {
	resp, err := dockerRequest(ctx, c, http.MethodGet, "/images/"+tag+"/json", nil, nil, "")
	if err != nil {
		return "", ""
	}
	defer resp.Body.Close()
	var img struct {
		ID     string `json:"Id"`
		Config struct{ Labels map[string]string }
	}
	if json.NewDecoder(resp.Body).Decode(&img) != nil {
		return "", ""
	}
	return img.ID, img.Config.Labels[testImageLabel]
}

// lockFile takes an exclusive flock on path (created if needed), waiting for
// it, and returns the function that releases it.
func lockFile(path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return func() { f.Close() }, nil
}

// checkStatic fails for a dynamically linked ELF binary (it has an
// interpreter), which could not run in an image FROM scratch.
func checkStatic(path string) error {
	f, err := elf.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return errors.New("it is dynamically linked")
		}
	}
	return nil
}

// busyboxContext returns the build context (a tar) of the test image.
func busyboxContext(bin []byte, applets []string, hash string) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	mod := time.Unix(0, 0)
	file := func(name string, mode int64, data []byte) error {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: mode, Size: int64(len(data)), ModTime: mod, Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		_, err := tw.Write(data)
		return err
	}
	dir := func(name string, mode int64) error {
		return tw.WriteHeader(&tar.Header{Name: name, Mode: mode, ModTime: mod, Typeflag: tar.TypeDir})
	}
	dockerfile := "FROM scratch\nCOPY rootfs/ /\nLABEL " + testImageLabel + "=" + hash + "\nCMD [\"sh\"]\n"
	steps := []error{
		file("Dockerfile", 0o644, []byte(dockerfile)),
		dir("rootfs/", 0o755),
		dir("rootfs/bin/", 0o755),
		dir("rootfs/etc/", 0o755),
		dir("rootfs/tmp/", 0o1777),
		dir("rootfs/root/", 0o700),
		file("rootfs/bin/busybox", 0o755, bin),
		file("rootfs/etc/passwd", 0o644, []byte("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n")),
		file("rootfs/etc/group", 0o644, []byte("root:x:0:\nnogroup:x:65534:\n")),
	}
	if err := errors.Join(steps...); err != nil {
		return nil, err
	}
	for _, a := range applets {
		if a == "busybox" || strings.Contains(a, "/") {
			continue
		}
		if err := tw.WriteHeader(&tar.Header{Name: "rootfs/bin/" + a, Linkname: "busybox", Mode: 0o777, ModTime: mod, Typeflag: tar.TypeSymlink}); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
