// Package executor is the executor side of the Mesos v1 executor HTTP API
// (POST <agent>/api/v1/executor, JSON): the client a custom executor (such
// as Aurora's thermos-style executor) uses to talk to its agent.
//
// It owns the subscription and the reliability bookkeeping the API asks of
// an executor: every status update gets a uuid, a timestamp and source
// SOURCE_EXECUTOR, and is kept — with the tasks launched but not yet
// acknowledged — until the agent sends ACKNOWLEDGED; both lists are resent
// in SUBSCRIBE after a reconnection. It leaves running tasks to the
// Handler.
//
// Connection life, driven by Run:
//
//	SUBSCRIBING ──200 + SUBSCRIBED──► SUBSCRIBED ──SHUTDOWN handled──► Run returns nil
//	     ▲                                │ stream lost
//	     │ backoff ≤ SubscriptionBackoffMax   ▼
//	     └──── checkpoint, and agent seen ◄── lost ──► no checkpoint: Run returns ErrDisconnected
//	           within RecoveryTimeout             └──► otherwise: Run returns ErrRecoveryTimeout
//
// ConfigFromEnv reads the environment the agent gives an executor
// (MESOS_FRAMEWORK_ID, MESOS_EXECUTOR_ID, MESOS_AGENT_ENDPOINT,
// MESOS_CHECKPOINT, MESOS_RECOVERY_TIMEOUT, MESOS_SUBSCRIPTION_BACKOFF_MAX,
// ...).
package executor
