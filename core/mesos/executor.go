package mesos

// Executor call types (mesos.v1.executor.Call.Type).
const (
	ExecCallSubscribe = "SUBSCRIBE"
	ExecCallUpdate    = "UPDATE"
	ExecCallMessage   = "MESSAGE"
	ExecCallHeartbeat = "HEARTBEAT"
)

// ExecutorCall is mesos.v1.executor.Call.
type ExecutorCall struct {
	ExecutorID  ExecutorID  `json:"executor_id"`
	FrameworkID FrameworkID `json:"framework_id"`
	Type        string      `json:"type"`
	Subscribe   *struct {
		UnacknowledgedTasks   []TaskInfo `json:"unacknowledged_tasks,omitempty"`
		UnacknowledgedUpdates []struct {
			FrameworkID FrameworkID `json:"framework_id"`
			Status      TaskStatus  `json:"status"`
		} `json:"unacknowledged_updates,omitempty"`
	} `json:"subscribe,omitempty"`
	Update *struct {
		Status TaskStatus `json:"status"`
	} `json:"update,omitempty"`
	Message *struct {
		Data []byte `json:"data"`
	} `json:"message,omitempty"`
}

// Executor event types (mesos.v1.executor.Event.Type).
const (
	ExecEventSubscribed   = "SUBSCRIBED"
	ExecEventLaunch       = "LAUNCH"
	ExecEventLaunchGroup  = "LAUNCH_GROUP"
	ExecEventKill         = "KILL"
	ExecEventAcknowledged = "ACKNOWLEDGED"
	ExecEventMessage      = "MESSAGE"
	ExecEventError        = "ERROR"
	ExecEventShutdown     = "SHUTDOWN"
	ExecEventHeartbeat    = "HEARTBEAT"
)

// ExecutorEvent is mesos.v1.executor.Event.
type ExecutorEvent struct {
	Type       string `json:"type"`
	Subscribed *struct {
		ExecutorInfo  ExecutorInfo  `json:"executor_info"`
		FrameworkInfo FrameworkInfo `json:"framework_info"`
		AgentInfo     AgentInfo     `json:"agent_info"`
		ContainerID   *ContainerID  `json:"container_id,omitempty"`
	} `json:"subscribed,omitempty"`
	Launch *struct {
		Task TaskInfo `json:"task"`
	} `json:"launch,omitempty"`
	LaunchGroup *struct {
		TaskGroup TaskGroupInfo `json:"task_group"`
	} `json:"launch_group,omitempty"`
	Kill *struct {
		TaskID     TaskID      `json:"task_id"`
		KillPolicy *KillPolicy `json:"kill_policy,omitempty"`
	} `json:"kill,omitempty"`
	Acknowledged *struct {
		TaskID TaskID `json:"task_id"`
		UUID   []byte `json:"uuid"`
	} `json:"acknowledged,omitempty"`
	Message *struct {
		Data []byte `json:"data"`
	} `json:"message,omitempty"`
	Error *struct {
		Message string `json:"message"`
	} `json:"error,omitempty"`
}
