package app

import (
	"reflect"
	"testing"
)

func hostApp(id string, ports ...int) App {
	a := App{ID: id}
	for _, p := range ports {
		a.PortDefinitions = append(a.PortDefinitions, PortDefinition{Port: p, Protocol: "tcp"})
	}
	return a
}

func bridgeApp(id string, servicePorts ...int) App {
	a := App{ID: id, Networks: []Network{{Mode: NetworkBridge}}, Container: &Container{Type: EngineDocker}}
	for _, p := range servicePorts {
		a.Container.PortMappings = append(a.Container.PortMappings, PortMapping{ContainerPort: 80, ServicePort: p})
	}
	return a
}

func TestServicePortsAssign(t *testing.T) {
	tests := []struct {
		name     string
		sp       ServicePorts
		app      App
		existing []App
		want     []int
	}{
		{"lowest free", ServicePorts{}, hostApp("/a", 0, 0), nil, []int{10000, 10001}},
		{"skips used", ServicePorts{}, hostApp("/b", 0, 0),
			[]App{hostApp("/a", 10000, 10002), bridgeApp("/c", 10001)}, []int{10003, 10004}},
		{"explicit kept", ServicePorts{}, hostApp("/b", 0, 10000, 0), nil, []int{10001, 10000, 10002}},
		{"keeps ports across update", ServicePorts{}, hostApp("/a", 0, 0),
			[]App{hostApp("/x", 10000), hostApp("/a", 10005, 10003)}, []int{10005, 10003}},
		{"update adds a port", ServicePorts{}, hostApp("/a", 0, 0, 0),
			[]App{hostApp("/a", 10001), hostApp("/x", 10000)}, []int{10001, 10002, 10003}},
		{"update frees nothing it still names", ServicePorts{}, hostApp("/a", 10003, 0),
			[]App{hostApp("/a", 10003, 10004)}, []int{10003, 10004}},
		{"previous ports outside range not reused", ServicePorts{Min: 20000, Max: 20010}, hostApp("/a", 0),
			[]App{hostApp("/a", 8080)}, []int{20000}},
		{"port mappings", ServicePorts{}, bridgeApp("/w", 0, 0), []App{hostApp("/a", 10000)}, []int{10001, 10002}},
		{"unchanged ports", ServicePorts{}, hostApp("/a", 10000), []App{hostApp("/a", 10000)}, []int{10000}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := tc.app.ServicePorts()
			got, err := tc.sp.Assign(tc.app, tc.existing)
			if err != nil {
				t.Fatal(err)
			}
			if ports := got.ServicePorts(); !reflect.DeepEqual(ports, tc.want) {
				t.Errorf("service ports %v, want %v", ports, tc.want)
			}
			if !reflect.DeepEqual(tc.app.ServicePorts(), before) {
				t.Error("Assign modified its input")
			}
		})
	}
}

func TestServicePortsConflict(t *testing.T) {
	_, err := ServicePorts{}.Assign(hostApp("/b", 0, 10000), []App{hostApp("/a", 10000)})
	status, body := errorBody(t, err)
	if status != 422 {
		t.Errorf("status %d", status)
	}
	golden(t, "serviceports_conflict.json", append(body, '\n'))

	_, err = ServicePorts{}.Assign(bridgeApp("/b", 10001), []App{bridgeApp("/a", 10001)})
	if _, body := errorBody(t, err); string(body) != `{"message":"Object is not valid","details":[{"path":"/container/portMappings(0)/servicePort","errors":["Requested service port 10001 conflicts with a service port in use by app /a"]}]}` {
		t.Errorf("port mapping conflict body %s", body)
	}
}

func TestServicePortsExhausted(t *testing.T) {
	sp := ServicePorts{Min: 10000, Max: 10002}
	_, err := sp.Assign(hostApp("/b", 0, 0), []App{hostApp("/a", 10000, 10001)})
	status, body := errorBody(t, err)
	if status != 422 || string(body) != `{"message":"All ports in the range [10000-10002) are already in use"}` {
		t.Errorf("got %d %s", status, body)
	}
	got, err := sp.Assign(hostApp("/b", 0), []App{hostApp("/a", 10000, 10001)})
	if err != nil || got.ServicePorts()[0] != 10002 {
		t.Errorf("last port of an inclusive range: %v %v", got.ServicePorts(), err)
	}
}
