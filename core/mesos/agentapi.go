package mesos

// The agent <-> master protocol is Strata's own (Mesos uses libprocess
// messages here). It mirrors the scheduler API: the agent POSTs a REGISTER
// AgentCall to the master's /api/v1/agent and keeps the response open as a
// RecordIO stream of AgentEvents; every other AgentCall is a separate POST
// carrying the stream's Mesos-Stream-Id header and answered 202.
//
// Reliability follows Mesos: status updates are retried by the agent until
// the master forwards the scheduler's ACKNOWLEDGE; everything else is
// at-most-once and ordered per connection.

// Agent call types.
const (
	AgentCallRegister       = "REGISTER"         // register or re-register (agent_info.id set)
	AgentCallStatusUpdate   = "STATUS_UPDATE"    // a task status update (reliable, retried)
	AgentCallExecutorMsg    = "EXECUTOR_MESSAGE" // executor -> framework message
	AgentCallExitedExecutor = "EXITED_EXECUTOR"  // a custom executor's container ended
	AgentCallPong           = "PONG"             // answer to PING
)

// AgentCall is sent by an agent to the master.
type AgentCall struct {
	Type    string   `json:"type"`
	AgentID *AgentID `json:"agent_id,omitempty"`

	Register       *AgentRegister       `json:"register,omitempty"`
	StatusUpdate   *StatusUpdate        `json:"status_update,omitempty"`
	ExecutorMsg    *AgentExecutorMsg    `json:"executor_message,omitempty"`
	ExitedExecutor *AgentExitedExecutor `json:"exited_executor,omitempty"`
}

// AgentRegister carries everything a (re-)registering agent knows.
type AgentRegister struct {
	AgentInfo AgentInfo `json:"agent_info"`
	Version   string    `json:"version"`
	// Checkpointed or running state, for re-registration.
	Frameworks []FrameworkInfo `json:"frameworks,omitempty"`
	Executors  []ExecutorInfo  `json:"executors,omitempty"`
	Tasks      []Task          `json:"tasks,omitempty"`
	// ResourceVersion-free: total resources (including dynamic reservations
	// the agent has checkpointed) are in AgentInfo.Resources.
}

// AgentRegistered is the REGISTERED event: the agent's ID, the master, and
// how the master checks the agent's health. An agent that hears nothing
// for TotalPingTimeoutSeconds (--agent_ping_timeout ×
// --max_agent_ping_timeouts, as Mesos' SlaveRegisteredMessage.connection)
// takes the connection for dead and registers again.
type AgentRegistered struct {
	AgentID                 AgentID    `json:"agent_id"`
	MasterInfo              MasterInfo `json:"master_info"`
	PingIntervalSeconds     float64    `json:"ping_interval_seconds"`
	TotalPingTimeoutSeconds float64    `json:"total_ping_timeout_seconds,omitempty"`
}

// StatusUpdate is one reliable task status update from an agent.
type StatusUpdate struct {
	FrameworkID FrameworkID `json:"framework_id"`
	ExecutorID  *ExecutorID `json:"executor_id,omitempty"`
	Status      TaskStatus  `json:"status"`
	// LatestState is the newest state the agent knows for the task, which
	// may be ahead of Status while earlier updates await acknowledgement.
	LatestState TaskState `json:"latest_state,omitempty"`
	Timestamp   float64   `json:"timestamp"`
}

type AgentExecutorMsg struct {
	FrameworkID FrameworkID `json:"framework_id"`
	ExecutorID  ExecutorID  `json:"executor_id"`
	Data        []byte      `json:"data"`
}

type AgentExitedExecutor struct {
	FrameworkID FrameworkID `json:"framework_id"`
	ExecutorID  ExecutorID  `json:"executor_id"`
	Status      int32       `json:"status"`
}

// Agent event types (master -> agent).
const (
	AgentEventRegistered        = "REGISTERED"
	AgentEventRunTask           = "RUN_TASK"
	AgentEventRunTaskGroup      = "RUN_TASK_GROUP"
	AgentEventKillTask          = "KILL_TASK"
	AgentEventShutdownExecutor  = "SHUTDOWN_EXECUTOR"
	AgentEventShutdownFramework = "SHUTDOWN_FRAMEWORK"
	AgentEventAcknowledge       = "ACKNOWLEDGE"
	AgentEventMessage           = "MESSAGE" // framework -> executor
	AgentEventUpdateFramework   = "UPDATE_FRAMEWORK"
	AgentEventCheckpointRes     = "CHECKPOINT_RESOURCES"
	AgentEventPing              = "PING"
	AgentEventError             = "ERROR"
)

// AgentEvent is sent by the master to an agent on its stream.
type AgentEvent struct {
	Type string `json:"type"`

	Registered *AgentRegistered `json:"registered,omitempty"`
	RunTask    *struct {
		FrameworkInfo FrameworkInfo `json:"framework_info"`
		Task          TaskInfo      `json:"task"`
	} `json:"run_task,omitempty"`
	RunTaskGroup *struct {
		FrameworkInfo FrameworkInfo `json:"framework_info"`
		Executor      ExecutorInfo  `json:"executor"`
		TaskGroup     TaskGroupInfo `json:"task_group"`
	} `json:"run_task_group,omitempty"`
	KillTask *struct {
		FrameworkID FrameworkID `json:"framework_id"`
		TaskID      TaskID      `json:"task_id"`
		KillPolicy  *KillPolicy `json:"kill_policy,omitempty"`
	} `json:"kill_task,omitempty"`
	ShutdownExecutor *struct {
		FrameworkID FrameworkID `json:"framework_id"`
		ExecutorID  ExecutorID  `json:"executor_id"`
	} `json:"shutdown_executor,omitempty"`
	ShutdownFramework *struct {
		FrameworkID FrameworkID `json:"framework_id"`
	} `json:"shutdown_framework,omitempty"`
	Acknowledge *struct {
		FrameworkID FrameworkID `json:"framework_id"`
		TaskID      TaskID      `json:"task_id"`
		UUID        []byte      `json:"uuid"`
	} `json:"acknowledge,omitempty"`
	Message *struct {
		FrameworkID FrameworkID `json:"framework_id"`
		ExecutorID  ExecutorID  `json:"executor_id"`
		Data        []byte      `json:"data"`
	} `json:"message,omitempty"`
	UpdateFramework *struct {
		FrameworkInfo FrameworkInfo `json:"framework_info"`
	} `json:"update_framework,omitempty"`
	CheckpointResources *struct {
		// Resources is the agent's new total, including dynamic reservations.
		Resources Resources `json:"resources"`
	} `json:"checkpoint_resources,omitempty"`
	Error *struct {
		Message string `json:"message"`
	} `json:"error,omitempty"`
}

// Task is mesos.v1.Task: a task as the master and agents track it.
type Task struct {
	Name              string         `json:"name"`
	TaskID            TaskID         `json:"task_id"`
	FrameworkID       FrameworkID    `json:"framework_id"`
	ExecutorID        *ExecutorID    `json:"executor_id,omitempty"`
	AgentID           AgentID        `json:"agent_id"`
	State             TaskState      `json:"state"`
	Resources         Resources      `json:"resources,omitempty"`
	Statuses          []TaskStatus   `json:"statuses,omitempty"`
	StatusUpdateState *TaskState     `json:"status_update_state,omitempty"`
	StatusUpdateUUID  []byte         `json:"status_update_uuid,omitempty"`
	Labels            *Labels        `json:"labels,omitempty"`
	Discovery         *DiscoveryInfo `json:"discovery,omitempty"`
	Container         *ContainerInfo `json:"container,omitempty"`
	HealthCheck       *HealthCheck   `json:"health_check,omitempty"`
	KillPolicy        *KillPolicy    `json:"kill_policy,omitempty"`
	User              string         `json:"user,omitempty"`
}
