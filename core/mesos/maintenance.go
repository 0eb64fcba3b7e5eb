package mesos

import (
	"errors"
	"fmt"
	"net"
	"strings"
)

// Machine modes (mesos.v1.MachineInfo.Mode).
const (
	MachineUp       = "UP"
	MachineDraining = "DRAINING"
	MachineDown     = "DOWN"
)

// Inverse offer answers (mesos.v1.InverseOfferStatus.Status).
const (
	InverseOfferUnknown = "UNKNOWN"
	InverseOfferAccept  = "ACCEPT"
	InverseOfferDecline = "DECLINE"
)

// MachineID is mesos.v1.MachineID: the machine an agent runs on, named by
// hostname and/or IP.
type MachineID struct {
	Hostname string `json:"hostname,omitempty"`
	IP       string `json:"ip,omitempty"`
}

// Normalize lower-cases the hostname (machine hostnames are not
// case-sensitive in Mesos' maintenance API).
func (id MachineID) Normalize() MachineID {
	id.Hostname = strings.ToLower(id.Hostname)
	return id
}

// String renders id the way Mesos' error messages show a machine.
func (id MachineID) String() string {
	var parts []string
	if id.Hostname != "" {
		parts = append(parts, fmt.Sprintf("hostname: %q", id.Hostname))
	}
	if id.IP != "" {
		parts = append(parts, fmt.Sprintf("ip: %q", id.IP))
	}
	return strings.Join(parts, " ")
}

// Validate checks one machine: a hostname or an IP, and a well-formed IPv4
// address when one is given.
func (id MachineID) Validate() error {
	if id.Hostname == "" && id.IP == "" {
		return errors.New("Both 'hostname' and 'ip' for a machine are empty")
	}
	if id.IP != "" {
		if ip := net.ParseIP(id.IP); ip == nil || ip.To4() == nil {
			return fmt.Errorf("Failed to parse IP '%s' of machine '%s'", id.IP, id)
		}
	}
	return nil
}

// Matches reports whether an agent with hostname and ip runs on machine id.
// Fields the operator left empty match anything (Mesos requires both to be
// equal, which makes a hostname-only schedule silently match no agent).
func (id MachineID) Matches(hostname, ip string) bool {
	if id.Hostname != "" && !strings.EqualFold(id.Hostname, hostname) {
		return false
	}
	if id.IP != "" && id.IP != ip {
		return false
	}
	return true
}

// Unavailability is mesos.v1.Unavailability: when a machine may go away
// and, optionally, for how long.
type Unavailability struct {
	Start    TimeInfo      `json:"start"`
	Duration *DurationInfo `json:"duration,omitempty"`
}

// MaintenanceWindow is mesos.v1.maintenance.Window.
type MaintenanceWindow struct {
	MachineIDs     []MachineID    `json:"machine_ids"`
	Unavailability Unavailability `json:"unavailability"`
}

// MaintenanceSchedule is mesos.v1.maintenance.Schedule.
type MaintenanceSchedule struct {
	Windows []MaintenanceWindow `json:"windows,omitempty"`
}

// Validate checks a schedule on its own: every window names machines, each
// valid and listed once, and no duration is negative. (That DOWN machines
// stay in the schedule is the master's check: it needs the current modes.)
func (s MaintenanceSchedule) Validate() error {
	seen := map[MachineID]bool{}
	for _, w := range s.Windows {
		if len(w.MachineIDs) == 0 {
			return errors.New("List of machines in the maintenance window is empty")
		}
		if d := w.Unavailability.Duration; d != nil && d.Nanoseconds < 0 {
			return errors.New("Unavailability 'duration' is negative")
		}
		if err := validateMachines(w.MachineIDs, seen); err != nil {
			return err
		}
	}
	return nil
}

// validateMachines checks each machine and that none is in seen (or
// twice in ids), adding them to seen.
func validateMachines(ids []MachineID, seen map[MachineID]bool) error {
	for _, id := range ids {
		if err := id.Validate(); err != nil {
			return err
		}
		n := id.Normalize()
		if seen[n] {
			return fmt.Errorf("Machine '%s' appears more than once in the schedule", id)
		}
		seen[n] = true
	}
	return nil
}

// ValidateMachineList checks the machine list of START_MAINTENANCE,
// STOP_MAINTENANCE, /machine/down and /machine/up.
func ValidateMachineList(ids []MachineID) error {
	if len(ids) == 0 {
		return errors.New("List of machines is empty")
	}
	return validateMachines(ids, map[MachineID]bool{})
}

// InverseOfferStatus is a framework's answer to the inverse offers of a
// draining machine.
type InverseOfferStatus struct {
	Status      string      `json:"status"`
	FrameworkID FrameworkID `json:"framework_id"`
	Timestamp   TimeInfo    `json:"timestamp"`
}

// DrainingMachine is mesos.v1.maintenance.ClusterStatus.DrainingMachine.
type DrainingMachine struct {
	ID       MachineID            `json:"id"`
	Statuses []InverseOfferStatus `json:"statuses,omitempty"`
}

// MaintenanceStatus is mesos.v1.maintenance.ClusterStatus.
type MaintenanceStatus struct {
	DrainingMachines []DrainingMachine `json:"draining_machines,omitempty"`
	DownMachines     []MachineID       `json:"down_machines,omitempty"`
}

// InverseOffer is mesos.v1.InverseOffer: the master asks a framework to
// give back its resources on an agent before the unavailability starts.
// No resources means all of them.
type InverseOffer struct {
	ID             OfferID        `json:"id"`
	URL            *URL           `json:"url,omitempty"`
	FrameworkID    FrameworkID    `json:"framework_id"`
	AgentID        *AgentID       `json:"agent_id,omitempty"`
	Unavailability Unavailability `json:"unavailability"`
	Resources      []Resource     `json:"resources,omitempty"`
}

// EventInverseOffersBody is the INVERSE_OFFERS event.
type EventInverseOffersBody struct {
	InverseOffers []InverseOffer `json:"inverse_offers"`
}

// EventRescindInverseOfferBody is the RESCIND_INVERSE_OFFER event.
type EventRescindInverseOfferBody struct {
	InverseOfferID OfferID `json:"inverse_offer_id"`
}

// Agent drain states (mesos.v1.DrainState).
const (
	DrainStateDraining = "DRAINING"
	DrainStateDrained  = "DRAINED"
)

// DrainConfig is mesos.v1.DrainConfig: how DRAIN_AGENT kills and what
// happens once the agent is empty.
type DrainConfig struct {
	MaxGracePeriod *DurationInfo `json:"max_grace_period,omitempty"`
	MarkGone       bool          `json:"mark_gone,omitempty"`
}

// DrainInfo is mesos.v1.DrainInfo, shown on agents being drained.
type DrainInfo struct {
	State  string      `json:"state"`
	Config DrainConfig `json:"config"`
}
