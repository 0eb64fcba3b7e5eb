// Package containerizer launches, watches, kills and recovers the processes of
// containers (executors and command tasks) on an agent.
//
// A Containerizer has a small surface: Launch, Wait, Kill, Recover, Usage and
// Destroy. It knows nothing of tasks or frameworks; the agent maps those onto
// containers. Every implementation (posix, cgroups, docker) passes the same
// conformance suite in containerizertest.
//
// # Lifecycle
//
//	Launch
//	  |
//	  v
//	launched --> running --+--> exited     the command ended on its own;
//	               |   ^   |                Wait reports its exit code/signal
//	               |   |   +--> killed     Kill or Destroy ended it;
//	   agent dies  |   |                    Termination.Killed is true
//	               v   | Recover(checkpoint) re-attaches
//	            orphaned   (same process: it is never restarted)
//
//	exited | killed --Destroy--> forgotten  (Wait: ErrUnknownContainer)
//
// Launch returns a Checkpoint that the agent persists next to the task. After
// an agent restart the agent passes the checkpoints to Recover, which
// re-attaches to the containers that still run and reports those that ended
// meanwhile with the exit status they recorded (or with ExitCode -1 when none
// was recorded). Wait may be called any number of times, before and after the
// end, until Destroy kills whatever is left and forgets the container; Wait,
// Kill, Usage and Destroy then return ErrUnknownContainer.
//
// # Posix
//
// The posix containerizer (NewPosix, Linux only) isolates nothing: it runs the
// command in its own session under a tiny /bin/sh wrapper that records the
// exit code in <RunDir>/exit_status, so that the code survives an agent
// restart. A container's processes are the wrapper's session and process group
// plus all their descendants found through /proc, including those that called
// setsid or setpgid while their parent was alive. A process that leaves the
// session and is then orphaned before the containerizer has seen it cannot be
// tracked without cgroups.
//
// # Cgroups
//
// The cgroups containerizer (NewCgroups, Linux, root) is Mesos' linux
// launcher with its cgroups isolators, built on the posix machinery: the
// same wrapper, exit status file, kill with grace and recovery, plus one
// cgroup per container under <mount>/<hierarchy>/<container ID> (cgroups v1;
// <root>/<hierarchy>/<container ID> on v2), "strata" by default.
//
//	Launch:  mkdir cgroup, write limits -> start wrapper -> wrapper waits at
//	         its gate -> wrapper pid into cgroup.procs -> go-ahead -> command
//	running: OOM notification (v1 eventfd on memory.oom_control, v2 inotify
//	         on memory.events) or disk/du over quota -> limitation recorded,
//	         container killed at once
//	Kill:    SIGTERM to every process in cgroup.procs; after grace SIGKILL to
//	         all at once (cgroup.kill, or frozen by the freezer)
//	end:     the wrapper exits -> an OOM kill counted in the cgroup becomes
//	         Termination.Limitation "memory" -> processes left in the cgroup
//	         are killed -> rmdir (retried while busy) -> Wait returns
//
// Because the wrapper joins the cgroup before the command starts, every
// process of the container is in it, including daemons that double-forked
// into sessions of their own; none outlives the container. The isolators
// (ParseIsolation, Mesos' names) are cgroups/cpu (cpu.shares = max(1024 x
// cpus, 2), v2 cpu.weight; a CFS quota of max(100 ms x cpus, 1 ms) per
// 100 ms with CgroupsConfig.EnableCFS or a CPU limit), cgroups/mem (limit
// max(limit or request, 32 MB), soft limit max(request, 32 MB); an OOM kill
// ends the container with Limitation "memory" and Mesos' "Memory limit
// exceeded: Requested: ... Maximum Used: ..." message), disk/du (the sandbox
// is measured every DiskWatchInterval; with EnforceDiskQuota a container
// over Spec.DiskMB ends with Limitation "disk"), namespaces/pid (the wrapper
// is init of a new PID and mount namespace and mounts a private /proc, so
// the command sees only its own processes, while the agent still tracks
// host pids) and filesystem/posix (nothing to do). posix/cpu and posix/mem
// leave the resource unlimited. Usage reads the cgroup (cpuacct.stat or
// cpu.stat, throttling, memory usage, rss and cache, threads) and reports
// the limits. Recover re-attaches to each container's cgroup (a posix
// checkpoint is recovered as posix) and then destroys every cgroup of the
// hierarchy that no known container holds.
package containerizer
