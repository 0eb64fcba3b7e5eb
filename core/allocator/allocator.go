package allocator

import (
	"math/rand/v2"
	"time"

	"github.com/strata-sched/strata/core/mesos"
)

// Agent is one agent as the allocator sees it.
type Agent struct {
	ID       string
	Hostname string
	// Total is everything the agent has, including reserved resources.
	Total mesos.Resources
	// Available is Total minus what tasks use and minus outstanding offers,
	// without allocation_info (the master keeps it up to date).
	Available mesos.Resources
	// Active is false for deactivated, draining or disconnected agents.
	Active bool
	// GPU is true when the agent has gpus (only offered to GPU_RESOURCES frameworks).
	GPU bool
}

// Framework is one subscribed framework.
type Framework struct {
	ID    string
	Roles []string
	// Suppressed roles get no offers.
	Suppressed map[string]bool
	// Active is false for disconnected or inactive frameworks.
	Active bool
	// GPUAware mirrors the GPU_RESOURCES capability.
	GPUAware bool
	// Allocated is what the framework holds per role (tasks + outstanding
	// offers), used for DRF shares.
	Allocated map[string]mesos.Resources
	// MinAllocatable per role overrides Snapshot.MinAllocatable (offer_filters).
	MinAllocatable map[string][]map[string]float64
}

// Filter is a refusal filter: framework FrameworkID, for Role, declined
// Resources on AgentID until Expires.
type Filter struct {
	FrameworkID string
	Role        string
	AgentID     string
	Resources   mesos.Resources
	Expires     time.Time
}

// Quota of a role: Guarantees are offered first (stage 1) and held as
// headroom; Limits cap what the role may consume. Keys are scalar names.
type Quota struct {
	Guarantees map[string]float64
	Limits     map[string]float64
}

// Snapshot is everything one allocation cycle looks at.
type Snapshot struct {
	Now        time.Time
	Agents     []Agent
	Frameworks []Framework
	// Weights per role; missing roles weigh 1.
	Weights map[string]float64
	Quotas  map[string]Quota
	Filters []Filter
	// MinAllocatable: an offer must contain at least one of these quantity
	// sets (Mesos' --min_allocatable_resources, default cpus:0.01 | mem:32).
	MinAllocatable []map[string]float64
	// Consumed per role, for quota: reservations + unreserved allocations.
	// When nil it is computed from the snapshot: scalars in agents' Total
	// reserved to the role or a descendant, plus the unreserved non-revocable
	// scalars of Frameworks' Allocated in the role or a descendant.
	Consumed map[string]map[string]float64
}

// Offer is one decision: offer Resources of AgentID to FrameworkID for Role.
// Resources carry allocation_info.role = Role.
type Offer struct {
	FrameworkID string
	AgentID     string
	Role        string
	Resources   mesos.Resources
}

// Reason codes for things the allocator did not offer.
const (
	ReasonSuppressed        = "suppressed"
	ReasonFiltered          = "refusal_filter"
	ReasonBelowMinimum      = "below_min_allocatable"
	ReasonQuotaLimit        = "quota_limit"
	ReasonQuotaHeadroom     = "quota_headroom"
	ReasonGPUAgent          = "gpu_agent_non_gpu_framework"
	ReasonAgentInactive     = "agent_inactive"
	ReasonNothingLeft       = "no_resources_left"
	ReasonFrameworkInactive = "framework_inactive"
)

// Result is what one cycle decided.
type Result struct {
	Offers []Offer
	// Skipped counts, per framework ID then reason code, the (agent, role)
	// pairs that were not offered to it; an operator reads it to see why a
	// framework got no offers.
	Skipped map[string]map[string]int
	// Shares are the dominant shares per role after the cycle (for metrics).
	Shares map[string]float64
}

// Allocate runs one allocation cycle. rng shuffles agents as Mesos does; a
// nil rng keeps the snapshot's order (deterministic tests).
func Allocate(s *Snapshot, rng *rand.Rand) Result {
	return allocate(s, rng)
}
