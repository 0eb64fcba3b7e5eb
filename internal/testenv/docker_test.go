//go:build unix

package testenv

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"github.com/strata-sched/strata/internal/ci"
	"io"
	"os/exec"
	"slices"
	"testing"
)

func TestBusyboxContext(t *testing.T) {
	ctxTar, err := busyboxContext([]byte("binary"), []string{"sh", "sleep", "busybox", "httpd"}, "h1")
	if err != nil {
		t.Fatal(err)
	}
	links := map[string]string{}
	var names []string
	tr := tar.NewReader(bytes.NewReader(ctxTar))
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
		if h.Typeflag == tar.TypeSymlink {
			links[h.Name] = h.Linkname
		}
		if h.Name == "Dockerfile" {
			b, _ := io.ReadAll(tr)
			if !bytes.HasPrefix(b, []byte("FROM scratch\n")) || !bytes.Contains(b, []byte(testImageLabel+"=h1")) {
				t.Errorf("Dockerfile = %q", b)
			}
		}
	}
	for _, want := range []string{"rootfs/bin/busybox", "rootfs/tmp/", "rootfs/etc/passwd"} {
		if !slices.Contains(names, want) {
			t.Errorf("context lacks %s: %q", want, names)
		}
	}
	for _, a := range []string{"sh", "sleep", "httpd"} {
		if links["rootfs/bin/"+a] != "busybox" {
			t.Errorf("%s is not a symlink to busybox: %v", a, links)
		}
	}
	if _, ok := links["rootfs/bin/busybox"]; ok {
		t.Error("busybox links to itself")
	}
}

func TestCheckStatic(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		ci.SkipOrFail(t, "no sh on PATH: %v", err)
	}
	// The distribution's sh is dynamically linked on every machine the
	// project uses.
	if err := checkStatic(sh); err == nil {
		t.Logf("%s is static; nothing to check", sh)
	}
}

func TestBuildBusyboxImageOnce(t *testing.T) {
	const tag = "strata-test-busybox:latest"
	BuildBusyboxImage(t, tag)
	ctx := context.Background()
	id1, hash := imageLabel(ctx, dockerHTTP(), tag)
	if id1 == "" || hash == "" {
		t.Fatalf("image %s: id %q, hash %q", tag, id1, hash)
	}
	BuildBusyboxImage(t, tag)
	if id2, _ := imageLabel(ctx, dockerHTTP(), tag); id2 != id1 {
		t.Errorf("second call rebuilt the image: %s, then %s", id1, id2)
	}
	if err := checkStatic(BusyboxPath); err != nil {
		t.Errorf("%s: %v", BusyboxPath, err)
	}
}
