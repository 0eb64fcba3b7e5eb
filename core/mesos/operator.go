package mesos

import "encoding/json"

// Operator API (mesos.v1.master.Call / Response / Event) — the subset
// Strata serves. Payloads that Strata builds from its own state are kept
// as concrete types; rarely used ones are raw JSON.

// OperatorCall is mesos.v1.master.Call.
type OperatorCall struct {
	Type       string `json:"type"`
	GetMetrics *struct {
		Timeout *DurationInfo `json:"timeout,omitempty"`
	} `json:"get_metrics,omitempty"`
	SetLoggingLevel *struct {
		Level    uint32       `json:"level"`
		Duration DurationInfo `json:"duration"`
	} `json:"set_logging_level,omitempty"`
	UpdateWeights *struct {
		WeightInfos []WeightInfo `json:"weight_infos"`
	} `json:"update_weights,omitempty"`
	UpdateQuota *struct {
		Force        bool          `json:"force,omitempty"`
		QuotaConfigs []QuotaConfig `json:"quota_configs"`
	} `json:"update_quota,omitempty"`
	ReserveResources *struct {
		AgentID   AgentID    `json:"agent_id"`
		Source    []Resource `json:"source,omitempty"`
		Resources []Resource `json:"resources"`
	} `json:"reserve_resources,omitempty"`
	UnreserveResources *struct {
		AgentID   AgentID    `json:"agent_id"`
		Resources []Resource `json:"resources"`
	} `json:"unreserve_resources,omitempty"`
	Teardown *struct {
		FrameworkID FrameworkID `json:"framework_id"`
	} `json:"teardown,omitempty"`
	MarkAgentGone *struct {
		AgentID AgentID `json:"agent_id"`
	} `json:"mark_agent_gone,omitempty"`
	DeactivateAgent *struct {
		AgentID AgentID `json:"agent_id"`
	} `json:"deactivate_agent,omitempty"`
	ReactivateAgent *struct {
		AgentID AgentID `json:"agent_id"`
	} `json:"reactivate_agent,omitempty"`
	UpdateMaintenanceSchedule *struct {
		Schedule MaintenanceSchedule `json:"schedule"`
	} `json:"update_maintenance_schedule,omitempty"`
	StartMaintenance *struct {
		Machines []MachineID `json:"machines"`
	} `json:"start_maintenance,omitempty"`
	StopMaintenance *struct {
		Machines []MachineID `json:"machines"`
	} `json:"stop_maintenance,omitempty"`
	DrainAgent *struct {
		AgentID        AgentID       `json:"agent_id"`
		MaxGracePeriod *DurationInfo `json:"max_grace_period,omitempty"`
		MarkGone       bool          `json:"mark_gone,omitempty"`
	} `json:"drain_agent,omitempty"`
	ListFiles *struct {
		Path string `json:"path"`
	} `json:"list_files,omitempty"`
	ReadFile *struct {
		Path   string  `json:"path"`
		Offset uint64  `json:"offset"`
		Length *uint64 `json:"length,omitempty"`
	} `json:"read_file,omitempty"`
}

// WeightInfo is a role's weight.
type WeightInfo struct {
	Weight float64 `json:"weight"`
	Role   string  `json:"role"`
}

// QuotaConfig is mesos.v1.quota.QuotaConfig.
type QuotaConfig struct {
	Role       string            `json:"role"`
	Guarantees map[string]Scalar `json:"guarantees,omitempty"`
	Limits     map[string]Scalar `json:"limits,omitempty"`
}

// OperatorResponse is mesos.v1.master.Response; one payload is set.
type OperatorResponse struct {
	Type      string `json:"type"`
	GetHealth *struct {
		Healthy bool `json:"healthy"`
	} `json:"get_health,omitempty"`
	GetFlags        *GetFlags   `json:"get_flags,omitempty"`
	GetVersion      *GetVersion `json:"get_version,omitempty"`
	GetMetrics      *GetMetrics `json:"get_metrics,omitempty"`
	GetLoggingLevel *struct {
		Level uint32 `json:"level"`
	} `json:"get_logging_level,omitempty"`
	GetState      *GetState      `json:"get_state,omitempty"`
	GetAgents     *GetAgents     `json:"get_agents,omitempty"`
	GetFrameworks *GetFrameworks `json:"get_frameworks,omitempty"`
	GetExecutors  *GetExecutors  `json:"get_executors,omitempty"`
	GetTasks      *GetTasks      `json:"get_tasks,omitempty"`
	GetRoles      *GetRoles      `json:"get_roles,omitempty"`
	GetWeights    *struct {
		WeightInfos []WeightInfo `json:"weight_infos,omitempty"`
	} `json:"get_weights,omitempty"`
	GetMaster *struct {
		MasterInfo  MasterInfo `json:"master_info"`
		StartTime   float64    `json:"start_time"`
		ElectedTime float64    `json:"elected_time"`
	} `json:"get_master,omitempty"`
	GetMaintenanceStatus *struct {
		Status MaintenanceStatus `json:"status"`
	} `json:"get_maintenance_status,omitempty"`
	GetMaintenanceSchedule *struct {
		Schedule MaintenanceSchedule `json:"schedule"`
	} `json:"get_maintenance_schedule,omitempty"`
	GetQuota *struct {
		Status struct {
			Infos   []json.RawMessage `json:"infos,omitempty"`
			Configs []QuotaConfig     `json:"configs,omitempty"`
		} `json:"status"`
	} `json:"get_quota,omitempty"`
}

type Flag struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

type GetFlags struct {
	Flags []Flag `json:"flags,omitempty"`
}

type GetVersion struct {
	VersionInfo struct {
		Version   string  `json:"version"`
		BuildDate string  `json:"build_date,omitempty"`
		BuildTime float64 `json:"build_time,omitempty"`
		BuildUser string  `json:"build_user,omitempty"`
		GitSHA    string  `json:"git_sha,omitempty"`
	} `json:"version_info"`
}

type Metric struct {
	Name  string  `json:"name"`
	Value float64 `json:"value"`
}

type GetMetrics struct {
	Metrics []Metric `json:"metrics,omitempty"`
}

type GetState struct {
	GetTasks      GetTasks      `json:"get_tasks"`
	GetExecutors  GetExecutors  `json:"get_executors"`
	GetFrameworks GetFrameworks `json:"get_frameworks"`
	GetAgents     GetAgents     `json:"get_agents"`
}

// AgentState is GetAgents.Agent.
type AgentState struct {
	AgentInfo          AgentInfo  `json:"agent_info"`
	Active             bool       `json:"active"`
	Deactivated        bool       `json:"deactivated"`
	DrainInfo          *DrainInfo `json:"drain_info,omitempty"`
	Version            string     `json:"version"`
	PID                string     `json:"pid,omitempty"`
	RegisteredTime     *TimeInfo  `json:"registered_time,omitempty"`
	ReregisteredTime   *TimeInfo  `json:"reregistered_time,omitempty"`
	TotalResources     []Resource `json:"total_resources,omitempty"`
	AllocatedResources []Resource `json:"allocated_resources,omitempty"`
	OfferedResources   []Resource `json:"offered_resources,omitempty"`
}

type GetAgents struct {
	Agents          []AgentState `json:"agents,omitempty"`
	RecoveredAgents []AgentInfo  `json:"recovered_agents,omitempty"`
}

// FrameworkState is GetFrameworks.Framework.
type FrameworkState struct {
	FrameworkInfo      FrameworkInfo `json:"framework_info"`
	Active             bool          `json:"active"`
	Connected          bool          `json:"connected"`
	Recovered          bool          `json:"recovered"`
	RegisteredTime     *TimeInfo     `json:"registered_time,omitempty"`
	ReregisteredTime   *TimeInfo     `json:"reregistered_time,omitempty"`
	UnregisteredTime   *TimeInfo     `json:"unregistered_time,omitempty"`
	Offers             []Offer       `json:"offers,omitempty"`
	AllocatedResources []Resource    `json:"allocated_resources,omitempty"`
	OfferedResources   []Resource    `json:"offered_resources,omitempty"`
}

type GetFrameworks struct {
	Frameworks          []FrameworkState `json:"frameworks,omitempty"`
	CompletedFrameworks []FrameworkState `json:"completed_frameworks,omitempty"`
}

type ExecutorState struct {
	ExecutorInfo ExecutorInfo `json:"executor_info"`
	AgentID      AgentID      `json:"agent_id"`
}

type GetExecutors struct {
	Executors []ExecutorState `json:"executors,omitempty"`
}

type GetTasks struct {
	PendingTasks     []TaskInfo `json:"pending_tasks,omitempty"`
	Tasks            []Task     `json:"tasks,omitempty"`
	UnreachableTasks []Task     `json:"unreachable_tasks,omitempty"`
	CompletedTasks   []Task     `json:"completed_tasks,omitempty"`
	OrphanTasks      []Task     `json:"orphan_tasks,omitempty"`
}

type Role struct {
	Name       string        `json:"name"`
	Weight     float64       `json:"weight"`
	Frameworks []FrameworkID `json:"frameworks,omitempty"`
	Resources  []Resource    `json:"resources,omitempty"`
	Allocated  []Resource    `json:"allocated,omitempty"`
	Offered    []Resource    `json:"offered,omitempty"`
	Reserved   []Resource    `json:"reserved,omitempty"`
	Quota      *QuotaConfig  `json:"quota,omitempty"`
}

type GetRoles struct {
	Roles []Role `json:"roles,omitempty"`
}

// OperatorEvent is mesos.v1.master.Event (the SUBSCRIBE stream).
type OperatorEvent struct {
	Type       string `json:"type"`
	Subscribed *struct {
		GetState                 GetState `json:"get_state"`
		HeartbeatIntervalSeconds float64  `json:"heartbeat_interval_seconds"`
	} `json:"subscribed,omitempty"`
	TaskAdded *struct {
		Task Task `json:"task"`
	} `json:"task_added,omitempty"`
	TaskUpdated *struct {
		FrameworkID FrameworkID `json:"framework_id"`
		Status      TaskStatus  `json:"status"`
		State       TaskState   `json:"state"`
	} `json:"task_updated,omitempty"`
	AgentAdded *struct {
		Agent AgentState `json:"agent"`
	} `json:"agent_added,omitempty"`
	AgentRemoved *struct {
		AgentID AgentID `json:"agent_id"`
	} `json:"agent_removed,omitempty"`
	FrameworkAdded *struct {
		Framework FrameworkState `json:"framework"`
	} `json:"framework_added,omitempty"`
	FrameworkUpdated *struct {
		Framework FrameworkState `json:"framework"`
	} `json:"framework_updated,omitempty"`
	FrameworkRemoved *struct {
		FrameworkInfo FrameworkInfo `json:"framework_info"`
	} `json:"framework_removed,omitempty"`
}
