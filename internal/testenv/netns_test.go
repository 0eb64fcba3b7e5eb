package testenv

import (
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"testing"
	"time"

	"github.com/strata-sched/strata/internal/ci"
)

// TestNetNSPartition: a server inside the namespace answers through the
// veth link, stops answering while the link is cut (the request times out:
// no error reaches either side), and answers again once it is healed.
func TestNetNSPartition(t *testing.T) {
	n := StartNetNS(t)
	py, err := exec.LookPath("python3")
	if err != nil {
		ci.SkipOrFail(t, "python3 (Debian package python3) serves HTTP inside the namespace: %v", err)
	}
	prog, args := n.Exec(py, "-m", "http.server", "--bind", n.IP, "8000", "--directory", t.TempDir())
	srv := StartProc(t, "http-server", prog, args...)
	url := "http://" + net.JoinHostPort(n.IP, "8000") + "/"
	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	get := func() error {
		resp, err := client.Get(url)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: %s", url, resp.Status)
		}
		return nil
	}
	Eventually(t, 20*time.Second, get)

	n.Partition(t)
	for i := 0; i < 2; i++ {
		if err := get(); err == nil {
			t.Fatalf("the server answered through a cut link\n%s", srv.Output())
		}
	}
	n.Heal(t)
	Eventually(t, 20*time.Second, get)
}
