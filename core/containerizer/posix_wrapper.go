//go:build linux

package containerizer

import (
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// wrapperShell runs the wrapper script and shell-form commands.
const wrapperShell = "/bin/sh"

// wrapperStateVar is the wrapper's only variable. It is one of the fixed-up
// variables, so a variable of that name in the container's environment is
// kept out of the wrapper's and restored for the command.
const wrapperStateVar = "STRATA_WRAPPER_STATE"

// wrapperScript returns the script of the wrapper, the parent of every posix
// container's command. It runs as the session leader of the container; its
// pid is the checkpointed pid. The positional parameters are:
//
//	$1      absolute RunDir, where the exit code is written
//	$2      flags, each a letter: "p": the wrapper is init of a new PID and
//	        mount namespace; it makes all mounts private and mounts a /proc
//	        of the namespace (namespaces/pid). "g": say "ready" on fd 3 (a
//	        socket) and wait for the go-ahead on it before starting the
//	        command (the agent sets rlimits on the wrapper and moves it into
//	        the container's cgroups meanwhile, so the command inherits them).
//	        "p" is done before "g", so that a failed mount fails Launch.
//	$3..$7  PWD, PPID, OPTIND, IFS and STRATA_WRAPPER_STATE as the command
//	        must see them: "-" for absent, "=value" otherwise. The shell alters
//	        the first four at start-up and the wrapper uses the last, so the
//	        agent keeps them out of the wrapper's environment and the
//	        command's subshell restores them.
//	$8...   the command's argv; $8 is also the program (looked up in PATH).
//
// Design notes:
//   - The command runs in the foreground of a subshell that execs it, so it
//     costs no extra process, gets the default disposition of every signal
//     the wrapper catches (the subshell resets traps, and a caught signal
//     reverts to default on exec anyway), and does not get the
//     SIGINT/SIGQUIT ignoring that a shell gives to asynchronous (&)
//     commands. Nothing is ever set to ignored (a trap with an empty
//     action), which exec would pass on. Signals the agent itself ignores
//     are inherited by the wrapper and cannot be undone by a shell.
//   - The wrapper traps the usual termination signals. A shell defers traps
//     while a foreground command runs, so when Kill sends SIGTERM to the
//     process group the wrapper outlives the command and records its real
//     exit code (e.g. 0 when the command traps TERM and exits cleanly). Only
//     SIGKILL, after the grace period, stops it from recording. A signal that
//     arrives before the command starts (Kill right after Launch) is recorded
//     by the trap; the command is then not started and the wrapper exits as
//     if the command had been killed by that signal. One window remains:
//     between fork and exec the subshell still has the wrapper's trap
//     handlers, and a signal caught there is dropped when the subshell resets
//     its traps. Kill closes it by sending SIGTERM to the command once it has
//     exec'd if it had not when the first SIGTERM was sent.
//   - In a PID namespace ("p") the wrapper is the namespace's init, which
//     the kernel shields from every signal it has no handler for: a
//     SIGTERM that arrives before the traps are set is lost, and the
//     command gets its SIGTERM from Kill's re-send once it has exec'd. When
//     the wrapper exits, the kernel kills whatever is left in the namespace.
//   - The code is written to exit_status.tmp and renamed, so a reader sees
//     either no file or the complete code. "command -p" finds mv in the
//     default PATH whatever PATH the task set.
//   - The exit code is the shell's $?: 128+N when the command was killed by
//     signal N.
func wrapperScript() string {
	var b strings.Builder
	b.WriteString(`case $2 in *p*) command -p mount --make-rprivate / && command -p mount -t proc proc /proc || exit 125 ;; esac
case $2 in *g*) echo ready >&3; read -r ` + wrapperStateVar + ` <&3 || exit 126; exec 3<&- ;; esac
` + wrapperStateVar + `=
`)
	for _, sig := range []unix.Signal{unix.SIGHUP, unix.SIGINT, unix.SIGQUIT, unix.SIGUSR1, unix.SIGUSR2, unix.SIGALRM, unix.SIGTERM} {
		fmt.Fprintf(&b, "trap '%s=%d' %s\n", wrapperStateVar, 128+int(sig), strings.TrimPrefix(unix.SignalName(sig), "SIG"))
	}
	b.WriteString(`if [ -z "$` + wrapperStateVar + `" ]; then
(
case $3 in -) unset PWD ;; *) PWD=${3#?}; export PWD ;; esac
case $4 in -) ;; *) PPID=${4#?}; export PPID ;; esac
case $5 in -) ;; *) OPTIND=${5#?}; export OPTIND ;; esac
case $6 in -) ;; *) IFS=${6#?}; export IFS ;; esac
case $7 in -) unset ` + wrapperStateVar + ` ;; *) ` + wrapperStateVar + `=${7#?}; export ` + wrapperStateVar + ` ;; esac
shift 7
exec "$@"
)
set -- "$1" "$?"
else
set -- "$1" "$` + wrapperStateVar + `"
fi
printf '%s\n' "$2" >"$1/exit_status.tmp" && command -p mv -f "$1/exit_status.tmp" "$1/exit_status"
exit "$2"
`)
	return b.String()
}

// wrapperArgv0 is the wrapper's $0, shown in its error messages.
const wrapperArgv0 = "strata-wrapper"

const (
	exitStatusFile    = "exit_status"
	exitStatusTmpFile = "exit_status.tmp"
)

// wrapperEnvFixups are the variables the wrapper restores for the command, in
// the order of $3..$7: those /bin/sh (dash) changes or adds at start-up, and
// the wrapper's own.
func wrapperEnvFixups() [5]string {
	return [5]string{"PWD", "PPID", "OPTIND", "IFS", wrapperStateVar}
}

// wrapperPlan is everything needed to start a container's wrapper.
type wrapperPlan struct {
	args   []string // argv of /bin/sh
	env    []string
	limits []rlimit
	// cred is the container's user: RunDir, the sandbox and its logs are
	// chowned to it. wrapperCred is what the wrapper runs as: cred, except
	// in a PID namespace, where the wrapper stays root to mount /proc and
	// setpriv switches to cred for the command.
	cred, wrapperCred *syscall.Credential
	// gate makes the wrapper wait on a socket before it starts the command.
	gate bool
	// pidNamespace starts the wrapper as init of new PID and mount namespaces.
	pidNamespace bool
}

// flags returns the wrapper's $2.
func (w *wrapperPlan) flags() string {
	f := ""
	if w.pidNamespace {
		f += "p"
	}
	if w.gate {
		f += "g"
	}
	return f
}

// sysProcAttr returns how the wrapper is started: in its own session, as
// wrapperCred, and in new PID and mount namespaces when asked.
func (w *wrapperPlan) sysProcAttr() *syscall.SysProcAttr {
	a := &syscall.SysProcAttr{Setsid: true, Credential: w.wrapperCred}
	if w.pidNamespace {
		a.Cloneflags = syscall.CLONE_NEWPID | syscall.CLONE_NEWNS
	}
	return a
}

// setprivArgv returns the prefix that runs a command as cred with setpriv(1)
// at path.
func setprivArgv(path string, cred *syscall.Credential) []string {
	argv := []string{path,
		"--reuid=" + strconv.FormatUint(uint64(cred.Uid), 10),
		"--regid=" + strconv.FormatUint(uint64(cred.Gid), 10)}
	if len(cred.Groups) == 0 {
		argv = append(argv, "--clear-groups")
	} else {
		groups := make([]string, len(cred.Groups))
		for i, g := range cred.Groups {
			groups[i] = strconv.FormatUint(uint64(g), 10)
		}
		argv = append(argv, "--groups="+strings.Join(groups, ","))
	}
	return append(argv, "--")
}

// rlimit is one resolved resource limit.
type rlimit struct {
	name     string
	resource int
	lim      unix.Rlimit
}

// isShellBuiltin reports whether a command word is one of dash's builtins
// or keywords: such a command runs in the shell (some have no program at
// all, like exit or cd).
func isShellBuiltin(w string) bool {
	switch w {
	case ".", ":", "[", "alias", "bg", "break", "cd", "chdir", "command", "continue", "echo", "eval", "exec",
		"exit", "export", "false", "fc", "fg", "getopts", "hash", "jobs", "kill", "local", "printf", "pwd", "read",
		"readonly", "return", "set", "shift", "test", "times", "trap", "true", "type", "ulimit", "umask",
		"unalias", "unset", "wait",
		"if", "then", "else", "elif", "fi", "case", "esac", "for", "while", "until", "do", "done", "in", "!", "{", "}":
		return true
	}
	return false
}

// simpleCommand splits a shell command into the words the shell would
// exec when it is nothing but a program and plain arguments: no quoting,
// expansion, globbing, redirection, operator, assignment or builtin. Only
// then is exec'ing the words the same as `sh -c value`.
func simpleCommand(value string) ([]string, bool) {
	if strings.Contains(value, "  ") || strings.HasPrefix(value, " ") || strings.HasSuffix(value, " ") {
		return nil, false
	}
	for _, c := range value {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.ContainsRune(" _./:,@%+=-", c):
		default:
			return nil, false
		}
	}
	words := strings.Split(value, " ")
	first := words[0]
	if first == "" || isShellBuiltin(first) || strings.Contains(first, "=") || strings.HasPrefix(first, "-") {
		return nil, false
	}
	return words, true
}

// commandArgv returns the argv the wrapper execs; argv[0] is also the program.
// /bin/sh cannot exec a program under a different argv[0], so when
// Arguments[0] differs from Value the program gets Value as argv[0]; ok is
// false in that case so that the caller can log it.
func commandArgv(spec Spec) (argv []string, ok bool, err error) {
	switch {
	case spec.Value == "":
		return nil, false, errors.New("empty command value")
	case spec.Shell:
		if words, ok := simpleCommand(spec.Value); ok {
			// `sh -c 'sleep 600'` and exec'ing `sleep 600` do the same
			// (dash forks for -c rather than exec'ing the last command),
			// one process and one exec fewer per task.
			return words, true, nil
		}
		return []string{wrapperShell, "-c", spec.Value}, true, nil
	case strings.HasPrefix(spec.Value, "-"):
		// The shell's exec would take it for an option.
		return nil, false, fmt.Errorf("command value %q starts with '-'", spec.Value)
	case len(spec.Arguments) == 0:
		return []string{spec.Value}, true, nil
	}
	argv = make([]string, 0, len(spec.Arguments))
	argv = append(argv, spec.Value)
	argv = append(argv, spec.Arguments[1:]...)
	return argv, spec.Arguments[0] == spec.Value || filepath.Base(spec.Arguments[0]) == filepath.Base(spec.Value), nil
}

// wrapperEnv splits env into the wrapper's environment and the fix-ups for
// the variables of wrapperEnvFixups ($3..$7 of wrapperScript).
func wrapperEnv(env []string) (wenv []string, fix [5]string, err error) {
	names := wrapperEnvFixups()
	fix = [5]string{"-", "-", "-", "-", "-"}
	wenv = make([]string, 0, len(env)) // never nil: nil means "inherit the agent's"
outer:
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		for i, name := range names {
			if k == name {
				fix[i] = "=" + v
				continue outer
			}
		}
		wenv = append(wenv, kv)
	}
	if o := fix[2]; o != "-" && !isDigits(o[1:]) {
		return nil, fix, fmt.Errorf("environment OPTIND=%q: /bin/sh accepts only a decimal number", o[1:])
	}
	return wenv, fix, nil
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// wrapperArgs returns the argv of /bin/sh that runs the wrapper; flags is
// its $2 (wrapperPlan.flags).
func wrapperArgs(script, runDir, flags string, fix [5]string, argv []string) []string {
	args := make([]string, 0, 11+len(argv))
	args = append(args, wrapperShell, "-c", script, wrapperArgv0, runDir, flags)
	args = append(args, fix[:]...)
	return append(args, argv...)
}

// parseRlimits resolves Spec.Rlimits. A nil Soft or Hard is unlimited.
func parseRlimits(in []Rlimit) ([]rlimit, error) {
	out := make([]rlimit, 0, len(in))
	for _, r := range in {
		name := strings.TrimPrefix(strings.ToUpper(r.Type), "RLIMIT_")
		res, ok := rlimitResource(name)
		if !ok {
			return nil, fmt.Errorf("unknown rlimit type %q", r.Type)
		}
		l := rlimit{name: name, resource: res, lim: unix.Rlimit{Cur: unix.RLIM_INFINITY, Max: unix.RLIM_INFINITY}}
		if r.Soft != nil {
			l.lim.Cur = *r.Soft
		}
		if r.Hard != nil {
			l.lim.Max = *r.Hard
		}
		if l.lim.Cur > l.lim.Max {
			return nil, fmt.Errorf("rlimit %s: soft limit %s above hard limit %s", name, rlimitString(l.lim.Cur), rlimitString(l.lim.Max))
		}
		out = append(out, l)
	}
	return out, nil
}

func rlimitString(v uint64) string {
	if v == unix.RLIM_INFINITY {
		return "unlimited"
	}
	return strconv.FormatUint(v, 10)
}

func rlimitResource(name string) (int, bool) {
	switch name {
	case "AS":
		return unix.RLIMIT_AS, true
	case "CORE":
		return unix.RLIMIT_CORE, true
	case "CPU":
		return unix.RLIMIT_CPU, true
	case "DATA":
		return unix.RLIMIT_DATA, true
	case "FSIZE":
		return unix.RLIMIT_FSIZE, true
	case "LOCKS":
		return unix.RLIMIT_LOCKS, true
	case "MEMLOCK":
		return unix.RLIMIT_MEMLOCK, true
	case "MSGQUEUE":
		return unix.RLIMIT_MSGQUEUE, true
	case "NICE":
		return unix.RLIMIT_NICE, true
	case "NOFILE":
		return unix.RLIMIT_NOFILE, true
	case "NPROC":
		return unix.RLIMIT_NPROC, true
	case "RSS":
		return unix.RLIMIT_RSS, true
	case "RTPRIO":
		return unix.RLIMIT_RTPRIO, true
	case "RTTIME":
		return unix.RLIMIT_RTTIME, true
	case "SIGPENDING":
		return unix.RLIMIT_SIGPENDING, true
	case "STACK":
		return unix.RLIMIT_STACK, true
	}
	return 0, false
}
