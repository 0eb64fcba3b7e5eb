package containerizer

import (
	"slices"
	"testing"
)

func TestCommandArgvShell(t *testing.T) {
	cases := []struct {
		value string
		want  []string
	}{
		// Plain programs with plain arguments are exec'ed directly.
		{"sleep 600", []string{"sleep", "600"}},
		{"/usr/bin/java -Xmx512m -Dport=31000 -jar app.jar", []string{"/usr/bin/java", "-Xmx512m", "-Dport=31000", "-jar", "app.jar"}},
		{"./run.sh", []string{"./run.sh"}},
		// Anything the shell would interpret keeps sh -c.
		{"python3 -m http.server $PORT0", nil},
		{"echo hi; sleep 1", nil},
		{"sleep 1 && true", nil},
		{"cat file > out", nil},
		{"ls *.txt", nil},
		{"echo 'quoted'", nil},
		{"FOO=1 env", nil},
		{"exit 3", nil},
		{"cd /tmp", nil},
		{"echo hi", nil},
		{"sleep  600", nil},
		{" sleep 600", nil},
		{"ls ~", nil},
		{"printf %s x", nil},
		{"sleep 1\nsleep 2", nil},
	}
	for _, tc := range cases {
		argv, ok, err := commandArgv(Spec{Shell: true, Value: tc.value})
		if err != nil || !ok {
			t.Fatalf("%q: %v %v", tc.value, ok, err)
		}
		want := tc.want
		if want == nil {
			want = []string{wrapperShell, "-c", tc.value}
		}
		if !slices.Equal(argv, want) {
			t.Errorf("%q: argv %q, want %q", tc.value, argv, want)
		}
	}
}
