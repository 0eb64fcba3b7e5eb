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
// stream's front is sent at once. STATUS_UPDATE calls are posted
// concurrently (they are fronts of different streams); any other call waits
// for the calls before it.
//
// # Checkpoints and group commit (journal)
//
// An update is durable before it is forwarded, and a task is checkpointed
// before it is launched, but nothing waits for the disk under the agent's
// lock: update and acknowledgement records are handed to the journal,
// which writes what has queued, makes it durable with one syncfs(2) of the
// work dir's filesystem, and then releases the updates to be forwarded
// (updateStream.markDurable). Launches stage their files (executor.info,
// task.info, latest symlinks: written and renamed, no fsync) and wait at a
// journal barrier, so concurrent launches share one sync. At most
// maxParallelLaunches launches are set up at once; a fetch does not hold
// a slot.
//
// # Launching a task
//
// A command task or a task of a group: checkpoint (above), fetch its
// CommandInfo.uris into the sandbox (core/fetcher; the log goes to the
// sandbox's stderr; a failure is TASK_FAILED with
// REASON_CONTAINER_PREPARATION_FAILED), launch the container (a DOCKER
// ContainerInfo becomes containerizer.Spec.Docker; a containerizer that
// cannot run it fails the task with REASON_CONTAINER_LAUNCH_FAILED and how
// to enable docker), report TASK_STARTING and TASK_RUNNING, and start its
// health check and general check (health.go; core/healthcheck probes, the
// agent reports TASK_RUNNING updates and kills a task whose health check
// fails). A container ended by a resource limitation fails its task with
// REASON_CONTAINER_LIMITATION_MEMORY or _DISK and the exceeded resource.
// A custom executor's URIs are fetched into its sandbox the same way; it
// runs its tasks' checks itself.
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
// its end, short-lived ones for kills, one per running check, the journal,
// and the retry and GC loops.
//
// # HTTP
//
// The executor API (POST /api/v1/executor), the operator API (POST
// /api/v1: GET_HEALTH, GET_FLAGS, GET_VERSION, GET_METRICS, GET_STATE,
// GET_TASKS, GET_EXECUTORS, GET_FRAMEWORKS, GET_CONTAINERS, GET_AGENT;
// JSON only), /state, /flags, /monitor/statistics (usage and limits),
// /files/*, /metrics/snapshot and /metrics.
package agent
