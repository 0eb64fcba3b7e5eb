package schedulertest

import (
	"github.com/strata-sched/strata/core/mesos"
)

// OffersEvent is an OFFERS event.
func OffersEvent(offers ...mesos.Offer) mesos.Event {
	return mesos.Event{Type: mesos.EventOffers, Offers: &mesos.EventOffersBody{Offers: offers}}
}

// UpdateEvent is an UPDATE event.
func UpdateEvent(status mesos.TaskStatus) mesos.Event {
	return mesos.Event{Type: mesos.EventUpdate, Update: &mesos.EventUpdateBody{Status: status}}
}

// Offer is an offer of unreserved cpus and mem and the ports 31000-32000 on
// agent, allocated to role "*", shaped as the master sends it.
func Offer(id, frameworkID, agent string, cpus, mem float64) mesos.Offer {
	alloc := func() *mesos.AllocationInfo { return &mesos.AllocationInfo{Role: "*"} }
	return mesos.Offer{
		ID:             mesos.OfferID{Value: id},
		FrameworkID:    mesos.FrameworkID{Value: frameworkID},
		AgentID:        mesos.AgentID{Value: agent},
		Hostname:       agent + ".example",
		AllocationInfo: alloc(),
		Resources: []mesos.Resource{
			{Name: "cpus", Type: mesos.SCALAR, Scalar: &mesos.Scalar{Value: cpus}, Role: "*", AllocationInfo: alloc()},
			{Name: "mem", Type: mesos.SCALAR, Scalar: &mesos.Scalar{Value: mem}, Role: "*", AllocationInfo: alloc()},
			{Name: "ports", Type: mesos.RANGES, Ranges: &mesos.Ranges{Range: []mesos.Range{{Begin: 31000, End: 32000}}}, Role: "*", AllocationInfo: alloc()},
		},
	}
}

// Status is a status update for task on agent as an executor sends it:
// with a uuid when withUUID, else as the master generates it.
func Status(task, agent string, state mesos.TaskState, withUUID bool) mesos.TaskStatus {
	st := mesos.TaskStatus{
		TaskID:  mesos.TaskID{Value: task},
		State:   state,
		AgentID: &mesos.AgentID{Value: agent},
		Source:  mesos.SourceExecutor,
	}
	if withUUID {
		st.UUID = mesos.NewUUID()
	} else {
		st.Source = mesos.SourceMaster
		st.Reason = mesos.ReasonReconciliation
	}
	return st
}
