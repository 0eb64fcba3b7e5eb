package agent

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/strata-sched/strata/core/mesos"
)

// tarGz builds a .tar.gz holding files (name -> content); names ending in
// .sh are executable.
func tarGz(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for name, content := range files {
		mode := int64(0o644)
		if strings.HasSuffix(name, ".sh") {
			mode = 0o755
		}
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: mode, Size: int64(len(content)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(content)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// sandboxOf returns the sandbox of a running command task from /state.
func (ta *testAgent) sandboxOf(taskID string) string {
	ta.t.Helper()
	var st stateJSON
	ta.getJSON("/state", &st)
	for _, fw := range append(st.Frameworks, st.CompletedFrameworks...) {
		for _, ex := range append(fw.Executors, fw.CompletedExecutors...) {
			for _, tasks := range [][]taskJSON{ex.Tasks, ex.CompletedTasks} {
				for _, tj := range tasks {
					if tj.ID == taskID {
						return ex.Directory
					}
				}
			}
		}
	}
	ta.t.Fatalf("task %s not in /state", taskID)
	return ""
}

func TestFetchURIsIntoSandbox(t *testing.T) {
	archive := tarGz(t, map[string]string{
		"app/run.sh":       "#!/bin/sh\necho \"app says $(cat app/greeting.txt)\"\n",
		"app/greeting.txt": "hello",
	})
	mux := http.NewServeMux()
	mux.HandleFunc("/app.tar.gz", func(w http.ResponseWriter, r *http.Request) { w.Write(archive) })
	mux.HandleFunc("/tool", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("#!/bin/sh\necho tool ran\n")) })
	srv := httptest.NewServer(mux)
	defer srv.Close()

	fm := newFakeMaster(t)
	ta := startAgent(t, fm, t.TempDir(), nil)
	ta.waitRegistered()
	fw := testFramework("fw1")

	// The archive is extracted next to itself; the tool is renamed and made
	// executable; the command uses both.
	ti := shellTask("fetcher", `./app/run.sh > out.txt && ./mytool >> out.txt && grep -q "app says hello" out.txt && grep -q "tool ran" out.txt`)
	yes := true
	ti.Command.URIs = []mesos.URI{
		{Value: srv.URL + "/app.tar.gz"},
		{Value: srv.URL + "/tool", Executable: &yes, OutputFile: "mytool"},
	}
	fm.send(runTaskEvent(fw, ti))
	if fin := fm.waitState("fetcher", mesos.TaskFinished); fin.Status.Reason != "" {
		t.Fatalf("FINISHED = %+v", fin.Status)
	}
	sandbox := ta.sandboxOf("fetcher")
	for _, f := range []string{"app.tar.gz", "app/run.sh", "mytool", "out.txt"} {
		if _, err := os.Stat(filepath.Join(sandbox, f)); err != nil {
			t.Errorf("sandbox: %v", err)
		}
	}
	// The fetcher's log is in the sandbox's stderr, ahead of the task's.
	stderr, err := os.ReadFile(filepath.Join(sandbox, "stderr"))
	if err != nil || !strings.Contains(string(stderr), srv.URL+"/app.tar.gz") {
		t.Fatalf("stderr = %q, %v; want the fetcher's log", stderr, err)
	}

	// A URI that cannot be fetched fails the task before it runs, naming it.
	bad := shellTask("badfetch", "touch ran")
	bad.Command.URIs = []mesos.URI{{Value: srv.URL + "/app.tar.gz"}, {Value: srv.URL + "/missing.tar.gz"}}
	fm.send(runTaskEvent(fw, bad))
	failed := fm.waitState("badfetch", mesos.TaskFailed)
	if failed.Status.Reason != mesos.ReasonContainerPreparationFailed || failed.Status.Source != mesos.SourceAgent ||
		!strings.Contains(failed.Status.Message, srv.URL+"/missing.tar.gz") || !strings.Contains(failed.Status.Message, "404") {
		t.Fatalf("FAILED = %+v", failed.Status)
	}
	if got := fm.states("badfetch"); len(got) != 1 {
		t.Fatalf("states = %v, want only TASK_FAILED", got)
	}
	if _, err := os.Stat(filepath.Join(ta.sandboxOf("badfetch"), "ran")); err == nil {
		t.Fatal("the task ran although a URI failed")
	}

	var metrics map[string]float64
	ta.getJSON("/metrics/snapshot", &metrics)
	if metrics["containerizer/fetcher/task_fetches_succeeded"] != 1 || metrics["containerizer/fetcher/task_fetches_failed"] != 1 {
		t.Fatalf("fetcher metrics = %v %v", metrics["containerizer/fetcher/task_fetches_succeeded"],
			metrics["containerizer/fetcher/task_fetches_failed"])
	}
	if _, ok := metrics["containerizer/fetcher/cache_size_used_bytes"]; !ok {
		t.Fatal("no containerizer/fetcher/cache_size_used_bytes")
	}
}

// A kill while the task's URIs are being fetched ends the fetch; the task
// is TASK_KILLED without having run.
func TestKillDuringFetch(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("partial"))
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)

	fm := newFakeMaster(t)
	ta := startAgent(t, fm, t.TempDir(), nil)
	ta.waitRegistered()
	ti := shellTask("slowfetch", "touch ran")
	ti.Command.URIs = []mesos.URI{{Value: srv.URL + "/big"}}
	fm.send(runTaskEvent(testFramework("fw1"), ti))
	waitUntil(t, "fetch in progress", func() bool {
		ta.mu.Lock()
		defer ta.mu.Unlock()
		tk := ta.tasks[taskKey{"fw1", "slowfetch"}]
		return tk != nil && tk.cancelLaunch != nil && fileExists(filepath.Join(tk.sandbox, "stderr"))
	})
	fm.send(killTaskEvent("fw1", "slowfetch", 0))
	killed := fm.waitState("slowfetch", mesos.TaskKilled)
	if killed.Status.Reason != mesos.ReasonTaskKilledDuringLaunch {
		t.Fatalf("KILLED = %+v", killed.Status)
	}
}
