package mesos

import (
	"fmt"
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
