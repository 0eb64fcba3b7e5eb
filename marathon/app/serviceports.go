package app

import (
	"fmt"
)

// ServicePorts assigns service ports (the ports load balancers bind) from
// an inclusive range, Marathon's [--local_port_min, --local_port_max]. The
// zero value uses 10000-20000.
type ServicePorts struct {
	Min, Max int
}

func (s ServicePorts) bounds() (int, int) {
	if s.Min == 0 && s.Max == 0 {
		return 10000, 20000
	}
	return s.Min, s.Max
}

// Assign returns app with every service port 0 replaced by a concrete port
// (AssignDynamicServiceLogic), given existing, the apps currently defined
// (their service ports already assigned; the stored version of app itself,
// matched by id, may be among them):
//
//  1. ports the previous version of the app held (inside the range) and the
//     new version no longer names are reused first, in their old order, so
//     an app keeps its service ports across updates;
//  2. then the lowest free ports of the range, ascending, skipping every
//     port any app uses.
//
// A non-zero port the app asks for that another app already uses is a 422
// *ValidationError at that port's path. (Marathon does not check this and
// leaves the conflict to the load balancer; Strata rejects it.) When the
// range is exhausted the error is a *MessageError with Marathon's text.
func (s ServicePorts) Assign(app App, existing []App) (App, error) {
	lo, hi := s.bounds()
	out := cloneApp(app)
	requested := out.ServicePorts()

	owner := map[int]string{} // port -> app id, for every other app
	var previous []int
	for i := range existing {
		e := &existing[i]
		if e.ID == app.ID {
			previous = e.ServicePorts()
			continue
		}
		for _, p := range e.ServicePorts() {
			if p != 0 {
				if _, taken := owner[p]; !taken {
					owner[p] = e.ID
				}
			}
		}
	}

	var vs violations
	asked := map[int]bool{}
	for i, p := range requested {
		if p == 0 {
			continue
		}
		asked[p] = true
		if other, taken := owner[p]; taken {
			vs.addf(servicePortPath(&out, i), "Requested service port %d conflicts with a service port in use by app %s", p, other)
		}
	}
	if err := vs.err(MsgNotValid); err != nil {
		return App{}, err
	}

	var reuse []int
	for _, p := range previous {
		if p >= lo && p <= hi && !asked[p] {
			reuse = append(reuse, p)
		}
	}
	used := func(p int) bool {
		_, taken := owner[p]
		return taken || asked[p]
	}
	next := lo
	for i, p := range requested {
		if p != 0 {
			continue
		}
		var port int
		for port == 0 && len(reuse) > 0 {
			if c := reuse[0]; !used(c) {
				port = c
			}
			reuse = reuse[1:]
		}
		for port == 0 {
			if next > hi {
				return App{}, &MessageError{Message: fmt.Sprintf("All ports in the range [%d-%d) are already in use", lo, hi)}
			}
			if !used(next) && !contains(previous, next) {
				port = next
			}
			next++
		}
		asked[port] = true
		out.setServicePort(i, port)
	}
	return out, nil
}

func servicePortPath(a *App, i int) string {
	if a.UsesPortMappings() {
		return fmt.Sprintf("/container/portMappings(%d)/servicePort", i)
	}
	return fmt.Sprintf("/portDefinitions(%d)/port", i)
}

func contains(xs []int, x int) bool {
	for _, e := range xs {
		if e == x {
			return true
		}
	}
	return false
}
