package scheduler

import (
	"net/url"
	"testing"
	"time"

	"github.com/strata-sched/strata/core/mesos"
)

func TestParseMasters(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"127.0.0.1:5050", []string{"http://127.0.0.1:5050/api/v1/scheduler"}},
		{"http://m1:5050", []string{"http://m1:5050/api/v1/scheduler"}},
		{"https://m1:5050/", []string{"https://m1:5050/api/v1/scheduler"}},
		{"http://m1:5050/prefix/api/v1/scheduler", []string{"http://m1:5050/prefix/api/v1/scheduler"}},
		{" m1:5050, http://m2:5050 ,", []string{"http://m1:5050/api/v1/scheduler", "http://m2:5050/api/v1/scheduler"}},
	} {
		got, err := parseMasters(tc.in)
		if err != nil {
			t.Errorf("parseMasters(%q): %v", tc.in, err)
			continue
		}
		var s []string
		for _, u := range got {
			s = append(s, u.String())
		}
		if len(s) != len(tc.want) {
			t.Errorf("parseMasters(%q) = %v, want %v", tc.in, s, tc.want)
			continue
		}
		for i := range s {
			if s[i] != tc.want[i] {
				t.Errorf("parseMasters(%q) = %v, want %v", tc.in, s, tc.want)
			}
		}
	}
	for _, bad := range []string{"", " , ", "ftp://m:1", "http://"} {
		if _, err := parseMasters(bad); err == nil {
			t.Errorf("parseMasters(%q): no error", bad)
		}
	}
}

func TestRedirectLocation(t *testing.T) {
	base, _ := url.Parse("http://standby:5050/api/v1/scheduler")
	for loc, want := range map[string]string{
		"//leader:5050":                        "http://leader:5050/api/v1/scheduler",
		"//leader:5050/api/v1/scheduler":       "http://leader:5050/api/v1/scheduler",
		"https://leader:5050/api/v1/scheduler": "https://leader:5050/api/v1/scheduler",
		"http://leader:5050":                   "http://leader:5050/api/v1/scheduler",
		"/api/v1/scheduler":                    "http://standby:5050/api/v1/scheduler",
	} {
		u, err := parseEndpoint(loc, base)
		if err != nil || u.String() != want {
			t.Errorf("Location %q -> %v, %v; want %s", loc, u, err, want)
		}
	}
}

func TestBackoffBounds(t *testing.T) {
	lo, hi := 100*time.Millisecond, 2*time.Second
	for n := range 70 {
		cap := hi
		if n < 5 {
			cap = lo << n
		}
		for range 20 {
			d := backoff(n, lo, hi)
			if d < cap/2 || d > cap {
				t.Fatalf("backoff(%d) = %v, want in [%v, %v]", n, d, cap/2, cap)
			}
		}
	}
}

func TestIsRemovedMessage(t *testing.T) {
	for msg, want := range map[string]bool{
		"Framework has been removed":           true,
		"framework fw-1 was removed":           true,
		"Framework torn down":                  true,
		"Framework failed over":                false,
		"Not authorized to use roles '[web]'":  false,
		"":                                     false,
		"removed agent a-1 (no mention of fw)": false,
	} {
		if got := isRemovedMessage(msg); got != want {
			t.Errorf("isRemovedMessage(%q) = %v", msg, got)
		}
	}
}

func TestReconcilerRound(t *testing.T) {
	t0 := time.Unix(1000, 0)
	task := func(id string) mesos.ReconcileTask { return mesos.ReconcileTask{TaskID: mesos.TaskID{Value: id}} }
	r := NewReconciler([]mesos.ReconcileTask{task("a"), task("b"), task("a"), task("c")}, time.Second, 4*time.Second)

	ask, next := r.Due(t0)
	if ids(ask) != "a,b,c" || !next.Equal(t0.Add(time.Second)) {
		t.Fatalf("first Due = %s, %v", ids(ask), next)
	}
	if ask, next := r.Due(t0.Add(500 * time.Millisecond)); ask != nil || !next.Equal(t0.Add(time.Second)) {
		t.Fatalf("early Due = %s, %v", ids(ask), next)
	}
	r.Observe(mesos.TaskID{Value: "b"})
	r.Observe(mesos.TaskID{Value: "unknown"})
	t1 := t0.Add(time.Second)
	if ask, next := r.Due(t1); ids(ask) != "a,c" || !next.Equal(t1.Add(2*time.Second)) {
		t.Fatalf("second Due = %s, %v", ids(ask), next)
	}
	t2 := t1.Add(2 * time.Second)
	if _, next := r.Due(t2); !next.Equal(t2.Add(4 * time.Second)) {
		t.Fatalf("third Due next = %v, want +4s", next)
	}
	t3 := t2.Add(4 * time.Second)
	if _, next := r.Due(t3); !next.Equal(t3.Add(4 * time.Second)) {
		t.Fatalf("fourth Due next = %v, want +4s (truncated)", next)
	}
	r.Observe(mesos.TaskID{Value: "a"})
	r.Observe(mesos.TaskID{Value: "c"})
	if !r.Done() {
		t.Fatal("not done after every task was observed")
	}
	if ask, next := r.Due(t3.Add(time.Hour)); ask != nil || !next.IsZero() {
		t.Fatalf("Due when done = %s, %v", ids(ask), next)
	}
	if r.Attempts() != 4 {
		t.Fatalf("Attempts = %d", r.Attempts())
	}
}

func ids(ts []mesos.ReconcileTask) string {
	s := ""
	for i, t := range ts {
		if i > 0 {
			s += ","
		}
		s += t.TaskID.Value
	}
	return s
}
