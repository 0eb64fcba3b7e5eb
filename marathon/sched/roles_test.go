package sched

import (
	"testing"

	"github.com/strata-sched/strata/core/mesos"
)

// allocated is an offer of resources (Mesos text form) allocated to role,
// as a MULTI_ROLE framework receives it.
func allocated(t *testing.T, resources, role string) *mesos.Offer {
	t.Helper()
	res, err := mesos.ParseResources(resources, "")
	if err != nil {
		t.Fatal(err)
	}
	for i := range res {
		res[i].AllocationInfo = &mesos.AllocationInfo{Role: role}
	}
	return &mesos.Offer{ID: mesos.OfferID{Value: "o"}, AgentID: mesos.AgentID{Value: "a"}, Hostname: "h",
		Resources: res, AllocationInfo: &mesos.AllocationInfo{Role: role}}
}

// TestMatchOfferRoles: an app uses only offers allocated to its role, takes
// its role's reserved resources before unreserved ones, and never gets
// another role's reservation.
func TestMatchOfferRoles(t *testing.T) {
	const mixed = "cpus(dev):1;mem(dev):256;cpus:1;mem:512"
	for _, tc := range []struct {
		name     string
		app      string
		offer    string
		role     string // the offer's allocation role
		launches int
		reason   string
		reserved float64 // reserved cpus the launches hold
	}{
		{"dev app on a dev offer takes the reservation first",
			`{"id":"/dev/a","cmd":"xx","cpus":1,"mem":256,"role":"dev","instances":2}`, mixed, "dev", 2, "", 1},
		{"dev app refuses an offer for *",
			`{"id":"/dev/a","cmd":"xx","cpus":0.5,"mem":64,"role":"dev"}`, "cpus:4;mem:1024", "*", 0, ReasonUnfulfilledRole, 0},
		{"default app refuses an offer for dev",
			`{"id":"/a","cmd":"xx","cpus":0.5,"mem":64}`, mixed, "dev", 0, ReasonUnfulfilledRole, 0},
		{"default app on * uses unreserved resources",
			`{"id":"/a","cmd":"xx","cpus":0.5,"mem":64,"instances":4}`, "cpus:1;mem:512", "*", 2, ReasonInsufficientCpus, 0},
		{"accepted roles [dev]: reserved only",
			`{"id":"/dev/a","cmd":"xx","cpus":0.5,"mem":64,"role":"dev","acceptedResourceRoles":["dev"],"instances":4}`, mixed, "dev", 2, ReasonInsufficientCpus, 1},
		{"accepted roles [*]: unreserved only",
			`{"id":"/dev/a","cmd":"xx","cpus":0.5,"mem":64,"role":"dev","acceptedResourceRoles":["*"],"instances":4}`, mixed, "dev", 2, ReasonInsufficientCpus, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := norm(t, tc.app)
			a.PortDefinitions = nil
			res := MatchOffer(allocated(t, tc.offer, tc.role), []Request{req(t, a, a.NumInstances())}, 0, ids())
			if len(res.Launches) != tc.launches || res.Reasons[0] != tc.reason {
				t.Fatalf("%d launches, reason %q; want %d, %q", len(res.Launches), res.Reasons[0], tc.launches, tc.reason)
			}
			reserved := 0.0
			for _, l := range res.Launches {
				for _, r := range l.Resources {
					if r.AllocationInfo == nil || r.AllocationInfo.Role != tc.role {
						t.Errorf("launch holds %s not allocated to %s", mesos.Resources{r}, tc.role)
					}
					if r.IsReserved() && r.ReservationRole() != a.Role {
						t.Errorf("launch of role %s holds %s", a.Role, mesos.Resources{r})
					}
					if r.IsReserved() && r.Name == "cpus" {
						reserved += r.Scalar.Value
					}
				}
			}
			if reserved != tc.reserved {
				t.Errorf("launches hold %v reserved cpus, want %v", reserved, tc.reserved)
			}
		})
	}
}
