// Package containerizer launches, watches, kills and recovers the processes of
// containers (executors and command tasks) on an agent.
//
// A Containerizer has a small surface: Launch, Wait, Kill, Recover, Usage and
// Destroy. It knows nothing of tasks or frameworks; the agent maps those onto
// containers. Every implementation (posix here; cgroups and docker later) passes
// the same conformance suite in containerizertest.
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
package containerizer
