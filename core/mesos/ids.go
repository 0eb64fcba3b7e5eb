package mesos

import (
	"encoding/json"
	"fmt"
	"net"
	"strconv"
	"sync/atomic"

	"github.com/google/uuid"
)

// IDGen makes the IDs a master hands out, in Mesos' formats:
// frameworks "<master>-0000", agents "<master>-S0", offers "<master>-O0".
type IDGen struct {
	MasterID                   string
	frameworks, agents, offers atomic.Uint64
}

// NewIDGen returns a generator for a new master ID (a UUID).
func NewIDGen() *IDGen { return &IDGen{MasterID: uuid.NewString()} }

func (g *IDGen) Framework() FrameworkID {
	return FrameworkID{Value: fmt.Sprintf("%s-%04d", g.MasterID, g.frameworks.Add(1)-1)}
}
func (g *IDGen) Agent() AgentID {
	return AgentID{Value: fmt.Sprintf("%s-S%d", g.MasterID, g.agents.Add(1)-1)}
}
func (g *IDGen) Offer() OfferID {
	return OfferID{Value: fmt.Sprintf("%s-O%d", g.MasterID, g.offers.Add(1)-1)}
}

// NewUUID returns 16 random bytes for status update uuids.
func NewUUID() []byte {
	u := uuid.New()
	return u[:]
}

// HostPort returns the address other processes use to reach the master
// described by m: address.ip (or address.hostname, or hostname) and port.
func (m MasterInfo) HostPort() string {
	port := m.Port
	host := m.Hostname
	if m.Address != nil {
		if m.Address.Port != 0 {
			port = uint32(m.Address.Port)
		}
		switch {
		case m.Address.IP != "":
			host = m.Address.IP
		case m.Address.Hostname != "":
			host = m.Address.Hostname
		}
	}
	if host == "" && m.IP != 0 {
		host = fmt.Sprintf("%d.%d.%d.%d", byte(m.IP), byte(m.IP>>8), byte(m.IP>>16), byte(m.IP>>24))
	}
	if port == 0 {
		port = 5050
	}
	return net.JoinHostPort(host, strconv.Itoa(int(port)))
}

// ParseMasterInfo decodes the MasterInfo JSON a master publishes in
// ZooKeeper (json.info_<seq> nodes).
func ParseMasterInfo(b []byte) (MasterInfo, error) {
	var m MasterInfo
	if err := json.Unmarshal(b, &m); err != nil {
		return MasterInfo{}, fmt.Errorf("bad MasterInfo JSON: %w", err)
	}
	if m.ID == "" {
		return MasterInfo{}, fmt.Errorf("MasterInfo without id")
	}
	return m, nil
}
