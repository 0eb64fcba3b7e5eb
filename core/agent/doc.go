// Package agent is Strata's agent (Mesos' "slave"): it registers with the
// master, runs the tasks the master sends through a containerizer, reports
// their status reliably, checkpoints everything under its work dir so that
// a restarted agent re-attaches to running tasks, and serves the agent's
// HTTP endpoints (executor API, /state, /files, metrics).
//
// What it owns: task and executor lifecycles on one host, the status update
// streams, the checkpoint layout (Mesos' paths, see layout), sandboxes and
// their garbage collection. What it leaves to others: processes and their
// isolation (core/containerizer), resource offers and task validation (the
// master), the HTTP listener (the caller serves Handler()).
//
// # Executors
//
// A command task (TaskInfo.command) has the agent itself as its command
// executor: no executor process, one container per task (executor ID = task
// ID). A task group (RUN_TASK_GROUP) has the agent as its default executor:
// one container per task under the run's sandbox, and a task that fails or
// is killed takes the rest of its group down. A custom executor
// (TaskInfo.executor) is a process launched in its own container that
// subscribes to POST /api/v1/executor and gets its tasks as LAUNCH events.
//
// # Task lifecycle (checkTaskTransition enforces it)
//
//	RUN_TASK / RUN_TASK_GROUP
//	   |
//	   v
//	STAGING ------------------------------------------+
//	   | container launched (command, default executor)|
//	   | or the custom executor says so                |
//	   v                                               |
//	STARTING ----------------------------------------->+
//	   |                                               |
//	   v                                               |
//	RUNNING <--+ (RUNNING again: health results)       |
//	   |   |   |                                       |
//	   |   +---+                                       |
//	   | KILL, framework has TASK_KILLING_STATE        |
//	   v                                               |
//	KILLING ------------------------------------------>+
//	                                                   |
//	                                                   v
//	terminal: FINISHED (exit 0)
//	          FAILED   (exit != 0, launch failure, executor gone or timed out)
//	          KILLED   (KILL, executor or framework shut down)
//	          LOST/GONE (unknown task, container lost in a restart, cleanup)
//	          DROPPED  (never reached its executor), ERROR (invalid task)
//	   |
//	   | terminal update acknowledged
//	   v
//	completed: once every task of the run is, the run retires (containers
//	destroyed, sandbox and checkpoint garbage-collected after GCDelay)
//
// Every non-terminal state may go straight to a terminal one (the right-hand
// column). Nothing leaves a terminal state; STAGING is never reported by an
// executor; UNREACHABLE and UNKNOWN are the master's.
//
// # Status updates (mesos.md §1.4)
//
// Every update goes into its task's stream (updateStream): checkpointed to
// task.updates, then forwarded as a STATUS_UPDATE call if it is the front.
// Only the front is in flight; it is resent 10 s later, doubling up to
// 10 min, until the master forwards the scheduler's ACKNOWLEDGE with its
// uuid; then the next update goes out. After every (re-)registration each
// stream's front is sent at once.
//
// # Protocol with the master (mesos/agentapi.go)
//
// REGISTER is POSTed to http://<master>/api/v1/agent and its response is
// the stream of AgentEvents; every other call is a separate POST with the
// stream's Mesos-Stream-Id. A 307 names the leading master; an ERROR event
// or a 4xx ends Run with a *RefusedError; anything else (broken stream, no
// event for 5 ping intervals, 403 to a call) re-registers with backoff.
//
// # Concurrency
//
// One mutex guards the agent's state; the deciding code (stream logic,
// transitions, backoff, GC queue) is synchronous and takes time as an
// argument. Goroutines live only at the edges, all owned by Run: one for the
// master connection (plus its call sender), one per container waiting for
// its end, short-lived ones for kills, and the retry and GC loops.
package agent
