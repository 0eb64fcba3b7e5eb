package sched

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/strata-sched/strata/core/mesos"
	"github.com/strata-sched/strata/marathon/app"
)

func norm(t *testing.T, js string) *app.App {
	t.Helper()
	a, err := app.Normalize([]byte(js))
	if err != nil {
		t.Fatalf("%s: %v", js, err)
	}
	return &a
}

func offer(host string, cpus, mem float64, ports [2]uint64, attrs string, role string) *mesos.Offer {
	res, err := mesos.ParseResources(fmt.Sprintf("cpus:%v;mem:%v;disk:1000;ports:[%d-%d]", cpus, mem, ports[0], ports[1]), role)
	if err != nil {
		panic(err)
	}
	o := &mesos.Offer{ID: mesos.OfferID{Value: "o-" + host}, AgentID: mesos.AgentID{Value: "a-" + host}, Hostname: host, Resources: res}
	if attrs != "" {
		o.Attributes, err = mesos.ParseAttributes(attrs)
		if err != nil {
			panic(err)
		}
	}
	return o
}

func req(t *testing.T, a *app.App, n int, placed ...app.Placement) Request {
	cs, err := app.ParseConstraints(a.Constraints)
	if err != nil {
		t.Fatal(err)
	}
	return Request{App: a, Constraints: cs, Count: n, Placed: placed}
}

func ids() func(string) string {
	n := 0
	return func(appID string) string { n++; return fmt.Sprintf("%s.%d", app.SafeID(appID), n) }
}

func TestMatchOffer(t *testing.T) {
	small := norm(t, `{"id":"/small","cmd":"xx","cpus":1,"mem":100}`)
	big := norm(t, `{"id":"/big","cmd":"xx","cpus":8,"mem":100}`)
	hungry := norm(t, `{"id":"/hungry","cmd":"xx","cpus":0.1,"mem":9000}`)
	ports3 := norm(t, `{"id":"/p3","cmd":"xx","cpus":0.1,"mem":10,"portDefinitions":[{"port":0},{"port":0},{"port":0}]}`)
	fixed := norm(t, `{"id":"/fixed","cmd":"xx","cpus":0.1,"mem":10,"requirePorts":true,"portDefinitions":[{"port":31005}]}`)
	fixedOut := norm(t, `{"id":"/fixedout","cmd":"xx","cpus":0.1,"mem":10,"requirePorts":true,"portDefinitions":[{"port":80}]}`)
	unique := norm(t, `{"id":"/u","cmd":"xx","cpus":0.1,"mem":10,"constraints":[["hostname","UNIQUE"]]}`)
	rack := norm(t, `{"id":"/r","cmd":"xx","cpus":0.1,"mem":10,"constraints":[["rack","LIKE","r[12]"]]}`)
	maxper := norm(t, `{"id":"/m","cmd":"xx","cpus":0.1,"mem":10,"constraints":[["rack","MAX_PER","2"]]}`)
	roleApp := norm(t, `{"id":"/role","cmd":"xx","cpus":0.1,"mem":10,"role":"prod","acceptedResourceRoles":["prod"]}`)

	tests := []struct {
		name       string
		offer      *mesos.Offer
		reqs       []Request
		max        int
		wantCounts []int // launches per request
		wantReason map[int]string
	}{
		{"fits twice", offer("h1", 2.5, 1000, [2]uint64{31000, 31010}, "", ""), []Request{req(t, small, 5)}, 0, []int{2}, map[int]string{0: ReasonInsufficientCpus}},
		{"too big", offer("h1", 4, 1000, [2]uint64{31000, 31010}, "", ""), []Request{req(t, big, 1)}, 0, []int{0}, map[int]string{0: ReasonInsufficientCpus}},
		{"memory", offer("h1", 4, 1000, [2]uint64{31000, 31010}, "", ""), []Request{req(t, hungry, 1)}, 0, []int{0}, map[int]string{0: ReasonInsufficientMemory}},
		{"ports", offer("h1", 4, 1000, [2]uint64{31000, 31004}, "", ""), []Request{req(t, ports3, 3)}, 0, []int{1}, map[int]string{0: ReasonInsufficientPorts}},
		{"require ports", offer("h1", 4, 1000, [2]uint64{31000, 31010}, "", ""), []Request{req(t, fixed, 2)}, 0, []int{1}, map[int]string{0: ReasonInsufficientPorts}},
		{"require ports absent", offer("h1", 4, 1000, [2]uint64{31000, 31010}, "", ""), []Request{req(t, fixedOut, 1)}, 0, []int{0}, map[int]string{0: ReasonInsufficientPorts}},
		{"unique", offer("h1", 4, 1000, [2]uint64{31000, 31010}, "", ""), []Request{req(t, unique, 3)}, 0, []int{1}, map[int]string{0: ReasonUnfulfilledConstraint}},
		{"unique already placed", offer("h1", 4, 1000, [2]uint64{31000, 31010}, "", ""), []Request{req(t, unique, 1, app.Placement{Hostname: "h1"})}, 0, []int{0}, map[int]string{0: ReasonUnfulfilledConstraint}},
		{"like matches", offer("h1", 4, 1000, [2]uint64{31000, 31010}, "rack:r1", ""), []Request{req(t, rack, 1)}, 0, []int{1}, map[int]string{}},
		{"like fails", offer("h1", 4, 1000, [2]uint64{31000, 31010}, "rack:r3", ""), []Request{req(t, rack, 1)}, 0, []int{0}, map[int]string{0: ReasonUnfulfilledConstraint}},
		{"max per", offer("h1", 4, 1000, [2]uint64{31000, 31010}, "rack:r1", ""), []Request{req(t, maxper, 5)}, 0, []int{2}, map[int]string{0: ReasonUnfulfilledConstraint}},
		{"role unreserved refused", offer("h1", 4, 1000, [2]uint64{31000, 31010}, "", ""), []Request{req(t, roleApp, 1)}, 0, []int{0}, map[int]string{0: ReasonUnfulfilledRole}},
		{"role reserved accepted", offer("h1", 4, 1000, [2]uint64{31000, 31010}, "", "prod"), []Request{req(t, roleApp, 1)}, 0, []int{1}, map[int]string{}},
		{"round robin", offer("h1", 2, 1000, [2]uint64{31000, 31010}, "", ""), []Request{req(t, small, 5), req(t, small, 5)}, 0, []int{1, 1}, map[int]string{0: ReasonInsufficientCpus, 1: ReasonInsufficientCpus}},
		{"max per offer", offer("h1", 4, 1000, [2]uint64{31000, 31010}, "", ""), []Request{req(t, small, 5)}, 2, []int{2}, map[int]string{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := MatchOffer(tc.offer, tc.reqs, tc.max, ids())
			got := make([]int, len(tc.reqs))
			for _, l := range res.Launches {
				got[l.Request]++
			}
			if !reflect.DeepEqual(got, tc.wantCounts) {
				t.Errorf("launches %v, want %v", got, tc.wantCounts)
			}
			if !reflect.DeepEqual(res.Reasons, tc.wantReason) {
				t.Errorf("reasons %v, want %v", res.Reasons, tc.wantReason)
			}
			// Launched resources never overlap and come out of the offer.
			var all mesos.Resources
			for _, l := range res.Launches {
				all = all.Plus(l.Resources)
			}
			if !tc.offer.Resources.Contains(all) {
				t.Errorf("launched %v is not within the offer %v", all, tc.offer.Resources)
			}
		})
	}
}

func TestTakePorts(t *testing.T) {
	res, _ := mesos.ParseResources("ports:[31000-31002,31010-31010]", "")
	taken, rest, ports, ok := TakePorts(res, []PortRequest{{}, {Want: 31010}, {None: true}, {}})
	if !ok {
		t.Fatal("not ok")
	}
	if want := []uint64{31000, 31010, 0, 31001}; !reflect.DeepEqual(ports, want) {
		t.Errorf("ports %v, want %v", ports, want)
	}
	if got := rest.Ranges("ports"); !reflect.DeepEqual(got, []mesos.Range{{Begin: 31002, End: 31002}}) {
		t.Errorf("remaining %v", got)
	}
	if !res.Contains(taken) {
		t.Errorf("taken %v not in %v", taken, res)
	}
	if _, _, _, ok := TakePorts(res, []PortRequest{{Want: 80}}); ok {
		t.Error("port 80 taken from a range without it")
	}
}

func TestBackoff(t *testing.T) {
	a := norm(t, `{"id":"/b","cmd":"xx","backoffSeconds":1,"backoffFactor":2,"maxLaunchDelaySeconds":5}`)
	now := time.Unix(1000, 0)
	var b Backoff
	var delays []time.Duration
	for i := 0; i < 5; i++ {
		b = b.Failed(a, now)
		delays = append(delays, b.Delay)
	}
	if want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 5 * time.Second, 5 * time.Second}; !reflect.DeepEqual(delays, want) {
		t.Errorf("delays %v, want %v", delays, want)
	}
	if blocked, left := b.Blocked(now.Add(time.Second)); !blocked || left != 4*time.Second {
		t.Errorf("blocked %v %v", blocked, left)
	}
	if blocked, _ := b.Blocked(now.Add(5 * time.Second)); blocked {
		t.Error("still blocked after the delay")
	}
	if b.Expired(a, now.Add(5*time.Second)) || !b.Expired(a, now.Add(6*time.Second)) {
		t.Error("expiry after maxLaunchDelay wrong")
	}
}

func TestBuildTask(t *testing.T) {
	a := norm(t, `{"id":"/prod/web","cmd":"python3 -m http.server $PORT0","cpus":0.5,"mem":64,
		"labels":{"tier":"web"},"fetch":[{"uri":"http://x/y.tgz"}],"user":"nobody","taskKillGracePeriodSeconds":7,
		"healthChecks":[{"protocol":"COMMAND","command":{"value":"true"}}]}`)
	a.Version = "2024-01-01T00:00:00.000Z"
	o := offer("h1", 4, 1000, [2]uint64{31000, 31010}, "", "")
	res := MatchOffer(o, []Request{req(t, a, 1)}, 0, ids())
	if len(res.Launches) != 1 {
		t.Fatal("no launch")
	}
	ti := BuildTask(a, o, res.Launches[0])
	if ti.Name != "web.prod" || ti.Command.GetValue() != a.Cmd || !ti.Command.IsShell() {
		t.Errorf("name/command: %+v", ti)
	}
	env := map[string]string{}
	for _, v := range ti.Command.Environment.Variables {
		env[v.Name] = v.Value
	}
	if env["PORT0"] != "31000" || env["MARATHON_APP_ID"] != "/prod/web" || env["MESOS_TASK_ID"] != ti.TaskID.Value || env["HOST"] != "h1" {
		t.Errorf("env %v", env)
	}
	if len(ti.Command.URIs) != 1 || ti.Command.URIs[0].Value != "http://x/y.tgz" || *ti.Command.User != "nobody" {
		t.Errorf("uris/user %+v", ti.Command)
	}
	if ti.KillPolicy == nil || ti.KillPolicy.GracePeriod.Nanoseconds != int64(7*time.Second) {
		t.Errorf("kill policy %+v", ti.KillPolicy)
	}
	if ti.HealthCheck == nil || ti.HealthCheck.Type != "COMMAND" || ti.HealthCheck.Command.GetValue() != "true" {
		t.Errorf("health check %+v", ti.HealthCheck)
	}
	if ti.Labels == nil || ti.Labels.Labels[0].Key != "tier" {
		t.Errorf("labels %+v", ti.Labels)
	}

	d := norm(t, `{"id":"/d","container":{"type":"DOCKER","docker":{"image":"nginx"},"portMappings":[{"containerPort":80}]},"networks":[{"mode":"container/bridge"}],"cpus":0.1,"mem":10}`)
	res = MatchOffer(o, []Request{req(t, d, 1)}, 0, ids())
	if len(res.Launches) != 1 {
		t.Fatalf("docker: no launch: %v", res.Reasons)
	}
	ti = BuildTask(d, o, res.Launches[0])
	if ti.Container == nil || ti.Container.Type != "DOCKER" || ti.Container.Docker.Image != "nginx" || ti.Container.Docker.Network != "BRIDGE" {
		t.Fatalf("container %+v", ti.Container)
	}
	if pm := ti.Container.Docker.PortMappings; len(pm) != 1 || pm[0].HostPort != 31000 || pm[0].ContainerPort != 80 {
		t.Errorf("port mappings %+v", pm)
	}
}
