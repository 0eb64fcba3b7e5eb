package scheduler

import (
	"math"
	"slices"
	"sort"

	"github.com/strata-sched/strata/core/mesos"
)

// LaunchOp is a LAUNCH offer operation.
func LaunchOp(tasks ...mesos.TaskInfo) mesos.Operation {
	op := mesos.Operation{Type: mesos.OpLaunch}
	op.Launch = &struct {
		TaskInfos []mesos.TaskInfo `json:"task_infos,omitempty"`
	}{TaskInfos: tasks}
	return op
}

// LaunchGroupOp is a LAUNCH_GROUP offer operation.
func LaunchGroupOp(executor mesos.ExecutorInfo, group mesos.TaskGroupInfo) mesos.Operation {
	op := mesos.Operation{Type: mesos.OpLaunchGroup}
	op.LaunchGroup = &struct {
		Executor  mesos.ExecutorInfo  `json:"executor"`
		TaskGroup mesos.TaskGroupInfo `json:"task_group"`
	}{Executor: executor, TaskGroup: group}
	return op
}

// RefuseSeconds returns filters that keep declined resources away for s
// seconds.
func RefuseSeconds(s float64) *mesos.Filters {
	d := mesos.Double(s)
	return &mesos.Filters{RefuseSeconds: &d}
}

// CommandTask builds a task that runs shell with /bin/sh -c on offer's
// agent using res, which must come out of the offer (see Take) so that it
// carries the offer's allocation role and reservations.
func CommandTask(name, id string, offer mesos.Offer, res mesos.Resources, shell string) mesos.TaskInfo {
	yes := true
	return mesos.TaskInfo{
		Name:      name,
		TaskID:    mesos.TaskID{Value: id},
		AgentID:   offer.AgentID,
		Resources: res,
		Command:   &mesos.CommandInfo{Shell: &yes, Value: &shell},
	}
}

// Take takes the scalar amounts in want (e.g. {"cpus": 0.5, "mem": 64})
// out of an offer's resources. The pieces taken are copies of the offer's
// resources with smaller values, so they keep the offer's allocation_info,
// role and reservations as the master requires. Resources reserved to the
// offer's role are used before unreserved ones; revocable, shared and
// persistent-volume resources are never taken. If the offer cannot cover
// all of want, Take returns ok=false, no taken resources and remaining
// equal to offer. offer is not modified.
func Take(offer mesos.Resources, want map[string]float64) (taken, remaining mesos.Resources, ok bool) {
	remaining = offer.Clone()
	names := make([]string, 0, len(want))
	for n := range want {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		need := round3(want[name])
		if need <= 0 {
			continue
		}
		for _, i := range candidates(remaining, name) {
			r := &remaining[i]
			amount := min(need, r.Scalar.Value)
			if amount <= 0 {
				continue
			}
			piece := mesos.Resources{*r}.Clone()[0]
			piece.Scalar.Value = amount
			taken = append(taken, piece)
			r.Scalar.Value = round3(r.Scalar.Value - amount)
			need = round3(need - amount)
			if need <= 0 {
				break
			}
		}
		if need > 0 {
			return nil, offer.Clone(), false
		}
	}
	remaining = slices.DeleteFunc(remaining, func(r mesos.Resource) bool {
		return r.Type == mesos.SCALAR && r.Scalar != nil && r.Scalar.Value <= 0
	})
	return taken, remaining, true
}

// candidates lists the indexes of plain scalar resources called name,
// reserved ones first.
func candidates(rs mesos.Resources, name string) []int {
	var reserved, unreserved []int
	for i := range rs {
		r := &rs[i]
		if r.Name != name || r.Type != mesos.SCALAR || r.Scalar == nil ||
			r.Revocable != nil || r.Shared != nil || (r.Disk != nil && r.Disk.Persistence != nil) {
			continue
		}
		if r.IsReserved() {
			reserved = append(reserved, i)
		} else {
			unreserved = append(unreserved, i)
		}
	}
	return append(reserved, unreserved...)
}

// TakePorts takes n ports, lowest first, out of the offer's "ports" ranges,
// keeping each range's role and reservations as Take does. It returns the
// ports in the order taken; ok=false leaves remaining equal to offer.
func TakePorts(offer mesos.Resources, n int) (taken, remaining mesos.Resources, ports []uint64, ok bool) {
	remaining = offer.Clone()
	if n <= 0 {
		return nil, remaining, nil, true
	}
	for i := range remaining {
		r := &remaining[i]
		if r.Name != "ports" || r.Type != mesos.RANGES || r.Ranges == nil || r.Revocable != nil {
			continue
		}
		var got []mesos.Range
		for len(ports) < n && len(r.Ranges.Range) > 0 {
			rg := &r.Ranges.Range[0]
			p := rg.Begin
			ports = append(ports, p)
			got = appendPort(got, p)
			if rg.Begin == rg.End {
				r.Ranges.Range = r.Ranges.Range[1:]
			} else {
				rg.Begin++
			}
		}
		if len(got) > 0 {
			piece := mesos.Resources{*r}.Clone()[0]
			piece.Ranges = &mesos.Ranges{Range: got}
			taken = append(taken, piece)
		}
		if len(ports) == n {
			break
		}
	}
	if len(ports) < n {
		return nil, offer.Clone(), nil, false
	}
	remaining = slices.DeleteFunc(remaining, func(r mesos.Resource) bool {
		return r.Type == mesos.RANGES && (r.Ranges == nil || len(r.Ranges.Range) == 0)
	})
	return taken, remaining, ports, true
}

func appendPort(rgs []mesos.Range, p uint64) []mesos.Range {
	if k := len(rgs); k > 0 && rgs[k-1].End+1 == p {
		rgs[k-1].End = p
		return rgs
	}
	return append(rgs, mesos.Range{Begin: p, End: p})
}

// round3 keeps three decimal digits, as Mesos' fixed-point scalars do.
func round3(v float64) float64 { return math.Round(v*1000) / 1000 }
