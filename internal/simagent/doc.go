// Package simagent runs many simulated agents in one process, for scale
// work on the master: each agent has its own hostname, agent ID and
// resources and speaks the real agent <-> master protocol
// (core/mesos/agentapi.go) over HTTP — REGISTER with a RecordIO event
// stream, STATUS_UPDATE and PONG as separate POSTs — but runs no
// processes: RUN_TASK answers TASK_STARTING then TASK_RUNNING, KILL_TASK
// answers TASK_KILLED. Status updates are reliable as on a real agent (one
// in flight per task, the next sent after the master forwards the
// scheduler's ACKNOWLEDGE, retried on a timer and after re-registration),
// and after a master failover every agent re-registers with its tasks.
//
// Cost per agent is kept small so that 10,000 agents share two cores with
// a master: one goroutine per agent reads its event stream on a raw
// connection (no per-connection goroutines of net/http, small read
// buffers, a read deadline instead of a watchdog timer), calls to the
// master go through one pool of workers sharing one HTTP transport, one
// ZooKeeper session follows the leading master for all agents (--master
// zk://...), and one ticker retries unacknowledged status updates.
//
//	reg := simagent.Config{Master: "zk://127.0.0.1:2181/strata", Count: 1000, Resources: res}
//	pool, err := simagent.New(reg)
//	go pool.Run(ctx)
//	... pool.Stats(), pool.Registered(masterID), pool.Agents()
package simagent
