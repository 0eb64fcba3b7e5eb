package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/strata-sched/strata/internal/testenv"
)

// buildStrata builds the binary once per test run.
func buildStrata(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "strata")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Env = append(os.Environ(), "GOTOOLCHAIN=local")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func freePort(t *testing.T) int {
	t.Helper()
	for {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		p := ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		// dev uses the next ports for agents; make sure they are free too.
		if ln2, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p+1)); err == nil {
			ln2.Close()
			if ln3, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p+2)); err == nil {
				ln3.Close()
				return p
			}
		}
	}
}

type devProc struct {
	cmd *exec.Cmd
	out *bytes.Buffer
}

func startDev(t *testing.T, bin string, port, marathonPort int, workDir string, extraEnv ...string) *devProc {
	t.Helper()
	var out bytes.Buffer
	cmd := exec.Command(bin, "dev", "--port", strconv.Itoa(port), "--agents", "2", "--resources", "cpus:2;mem:2048;disk:1000;ports:[31000-31100]",
		"--marathon_port", strconv.Itoa(marathonPort))
	cmd.Env = append(append(os.Environ(), "STRATA_WORK_DIR="+workDir), extraEnv...)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &devProc{cmd: cmd, out: &out}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Signal(syscall.SIGINT)
			done := make(chan struct{})
			go func() { cmd.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(15 * time.Second):
				cmd.Process.Kill()
			}
		}
	})
	return p
}

func (p *devProc) stop(t *testing.T) {
	t.Helper()
	p.cmd.Process.Signal(syscall.SIGINT)
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("strata dev exited with %v\n%s", err, p.out)
		}
	case <-time.After(20 * time.Second):
		p.cmd.Process.Kill()
		t.Fatalf("strata dev did not stop on Ctrl-C\n%s", p.out)
	}
}

func runCLI(t *testing.T, bin string, args ...string) string {
	t.Helper()
	out, err := exec.Command(bin, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("strata %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// TestDevAndTools runs the built binary as a user would: `strata dev` with
// two agents, a task launched through the scheduler API, the operator
// tools, Ctrl-C (tasks killed) and a restart that reuses the state.
func TestDevAndTools(t *testing.T) {
	bin := buildStrata(t)
	port := freePort(t)
	work := t.TempDir()
	master := "127.0.0.1:" + strconv.Itoa(port)
	mport := freePort(t)
	dev := startDev(t, bin, port, mport, work)
	waitAgents := func() map[string]bool {
		ids := map[string]bool{}
		testenv.Eventually(t, 30*time.Second, func() error {
			var st struct {
				Slaves []struct {
					ID     string `json:"id"`
					Active bool   `json:"active"`
				} `json:"slaves"`
			}
			if err := testenv.GetJSON("http://"+master+"/master/state", &st); err != nil {
				return err
			}
			for _, s := range st.Slaves {
				if s.Active {
					ids[s.ID] = true
				}
			}
			if len(ids) != 2 {
				return fmt.Errorf("%d active agents", len(ids))
			}
			return nil
		})
		return ids
	}
	agents := waitAgents()

	// A framework launches a long task and a short one.
	sched := newCLIFramework(t, master)
	pid := sched.run(t, "long", "echo started; sleep 1000")
	sched.run(t, "short", "echo hello-from-strata")
	sched.waitFinished(t, "short")

	ps := runCLI(t, bin, "ps", "-a", "--master", master)
	for _, want := range []string{"long", "RUNNING", "short", "FINISHED", "127.0.0.1"} {
		if !strings.Contains(ps, want) {
			t.Errorf("strata ps -a lacks %q:\n%s", want, ps)
		}
	}
	if out := runCLI(t, bin, "cat", "short", "--master", master); out != "hello-from-strata\n" {
		t.Errorf("strata cat: %q", out)
	}
	if out := runCLI(t, bin, "tail", "-n", "1", "long", "--master", master); !strings.Contains(out, "started") {
		t.Errorf("strata tail: %q", out)
	}
	if out := runCLI(t, bin, "state", "activated_slaves", "--master", master); strings.TrimSpace(out) != "2" {
		t.Errorf("strata state activated_slaves: %q", out)
	}
	if out := runCLI(t, bin, "state", "frameworks", "--master", master); !strings.Contains(out, `"cli-test"`) || !strings.Contains(out, `"marathon"`) {
		t.Errorf("strata state frameworks should list cli-test and marathon:\n%s", out)
	}
	// An unknown task names the way out.
	if out, err := exec.Command(bin, "cat", "nope", "--master", master).CombinedOutput(); err == nil || !strings.Contains(string(out), "strata ps") {
		t.Errorf("strata cat nope: %v %s", err, out)
	}

	// Marathon runs inside strata dev: an app POSTed as Marathon JSON runs.
	sched.stopTakingOffers(t)
	marathon := "http://127.0.0.1:" + strconv.Itoa(mport)
	resp, err := http.Post(marathon+"/v2/apps", "application/json",
		strings.NewReader(`{"id":"/dev/hello","cmd":"echo hi; sleep 1000","cpus":0.1,"mem":32,"instances":2}`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST /v2/apps: %d %s", resp.StatusCode, body)
	}
	testenv.Eventually(t, 30*time.Second, func() error {
		var app struct {
			App struct {
				TasksRunning int `json:"tasksRunning"`
			} `json:"app"`
		}
		if err := testenv.GetJSON(marathon+"/v2/apps/dev/hello", &app); err != nil {
			return err
		}
		if app.App.TasksRunning != 2 {
			return fmt.Errorf("tasksRunning %d", app.App.TasksRunning)
		}
		return nil
	})

	// Ctrl-C stops everything and kills the tasks.
	dev.stop(t)
	if syscall.Kill(pid, 0) == nil {
		t.Errorf("task process %d survived Ctrl-C of strata dev", pid)
	}
	// Starting again reuses the state: the same agent IDs come back.
	startDev(t, bin, port, mport, work)
	again := waitAgents()
	for id := range agents {
		if !again[id] {
			t.Errorf("agent %s did not come back after restart (got %v)", id, again)
		}
	}

	// Maintenance from the CLI: schedule the machine, drain one agent,
	// bring it back.
	if out := runCLI(t, bin, "maintenance", "schedule", "127.0.0.1", "--start", "+1h", "--master", master); !strings.Contains(out, "DRAINING") {
		t.Errorf("strata maintenance schedule: %q", out)
	}
	if out := runCLI(t, bin, "maintenance", "status", "--master", master); !strings.Contains(out, "127.0.0.1") || !strings.Contains(out, "DRAINING") {
		t.Errorf("strata maintenance status:\n%s", out)
	}
	if out, err := exec.Command(bin, "maintenance", "up", "127.0.0.1", "--master", master).CombinedOutput(); err == nil ||
		!strings.Contains(string(out), "is not in DOWN mode") {
		t.Errorf("strata maintenance up on a draining machine: %v %s", err, out)
	}
	var drained string
	for id := range again {
		drained = id
		break
	}
	runCLI(t, bin, "maintenance", "drain", drained, "--max_grace_period", "1s", "--master", master)
	testenv.Eventually(t, 30*time.Second, func() error {
		var st struct {
			Slaves []struct {
				ID        string `json:"id"`
				DrainInfo *struct {
					State string `json:"state"`
				} `json:"drain_info"`
			} `json:"slaves"`
		}
		if err := testenv.GetJSON("http://"+master+"/master/slaves", &st); err != nil {
			return err
		}
		for _, s := range st.Slaves {
			if s.ID == drained && s.DrainInfo != nil && s.DrainInfo.State == "DRAINED" {
				return nil
			}
		}
		return fmt.Errorf("agent %s not drained: %+v", drained, st.Slaves)
	})
	runCLI(t, bin, "maintenance", "reactivate", drained, "--master", master)
	waitAgents()
}

// TestFlagErrors checks that bad flags name the flag and the expected form.
func TestFlagErrors(t *testing.T) {
	bin := buildStrata(t)
	for _, tc := range []struct {
		args []string
		env  []string
		want string
	}{
		{[]string{"agent", "--master", "127.0.0.1:1", "--resources", "cpus:abc", "--work_dir", t.TempDir()}, nil, "--resources"},
		{[]string{"agent", "--master", "127.0.0.1:1", "--attributes", "rack", "--work_dir", t.TempDir()}, nil, "--attributes"},
		{[]string{"agent", "--master", "127.0.0.1:1", "--recover", "maybe", "--work_dir", t.TempDir()}, nil, "--recover"},
		{[]string{"master", "--weights", "eng=-1", "--work_dir", t.TempDir()}, nil, "--weights"},
		{[]string{"master", "--agent_ping_timeout", "soon"}, nil, "agent_ping_timeout"},
		{[]string{"master", "--work_dir", t.TempDir()}, []string{"STRATA_OFFER_TIMEOUT=later"}, "STRATA_OFFER_TIMEOUT"},
		{[]string{"dev", "--agents", "0"}, nil, "--agents"},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		cmd := exec.CommandContext(ctx, bin, tc.args...)
		cmd.Env = append(os.Environ(), tc.env...)
		out, err := cmd.CombinedOutput()
		cancel()
		if err == nil || !strings.Contains(string(out), tc.want) {
			t.Errorf("strata %v: want an error naming %q, got %v: %s", tc.args, tc.want, err, out)
		}
	}
}
