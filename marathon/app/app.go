package app

import (
	"reflect"
	"slices"
)

// Resources are an app's per-instance resource requests.
type Resources struct {
	CPUs float64
	Mem  float64
	Disk float64
	GPUs int
}

// Resources returns the requests, defaults applied for unset fields.
func (a *App) Resources() Resources {
	return Resources{
		CPUs: deref(a.CPUs, DefaultCPUs),
		Mem:  deref(a.Mem, DefaultMem),
		Disk: deref(a.Disk, DefaultDisk),
		GPUs: deref(a.GPUs, DefaultGPUs),
	}
}

// NumInstances is instances, default 1.
func (a *App) NumInstances() int { return deref(a.Instances, DefaultInstances) }

// HostNetworking reports whether the app uses host networking (no networks
// given counts as host, the default).
func (a *App) HostNetworking() bool {
	return len(a.Networks) == 0 || slices.ContainsFunc(a.Networks, func(n Network) bool { return n.Mode == NetworkHost })
}

// UsesPortMappings reports whether the app's ports are container port
// mappings (non-host networking) rather than portDefinitions.
func (a *App) UsesPortMappings() bool {
	return a.Container != nil && len(a.Container.PortMappings) > 0
}

// ServicePorts are the app's service ports in port order: the portMappings'
// servicePort when the app has port mappings, else portDefinitions' port
// (AppDefinition.servicePorts). 0 means "not assigned yet".
func (a *App) ServicePorts() []int {
	if a.UsesPortMappings() {
		out := make([]int, len(a.Container.PortMappings))
		for i, pm := range a.Container.PortMappings {
			out[i] = pm.ServicePort
		}
		return out
	}
	out := make([]int, len(a.PortDefinitions))
	for i, pd := range a.PortDefinitions {
		out[i] = pd.Port
	}
	return out
}

// setServicePort sets the i-th service port (see ServicePorts).
func (a *App) setServicePort(i, port int) {
	if a.UsesPortMappings() {
		a.Container.PortMappings[i].ServicePort = port
		return
	}
	a.PortDefinitions[i].Port = port
}

// PortNames are the names of the app's ports, "" for unnamed ones, in the
// order health-check portIndex and PORT<n> use.
func (a *App) PortNames() []string {
	var out []string
	if a.UsesPortMappings() {
		for _, pm := range a.Container.PortMappings {
			out = append(out, pm.Name)
		}
		return out
	}
	for _, pd := range a.PortDefinitions {
		out = append(out, pd.Name)
	}
	return out
}

// DockerImage is the image of a DOCKER container ("" otherwise).
func (a *App) DockerImage() string {
	if a.Container != nil && a.Container.Type == EngineDocker && a.Container.Docker != nil {
		return a.Container.Docker.Image
	}
	return ""
}

func deref[T any](p *T, def T) T {
	if p == nil {
		return def
	}
	return *p
}

// cloneApp returns a deep copy, so that normalization never writes through
// to the caller's slices, maps and pointers.
func cloneApp(a App) App {
	var out App
	deepCopy(reflect.ValueOf(&out).Elem(), reflect.ValueOf(a))
	return out
}

// deepCopy copies src into dst (settable, same type), allocating new
// pointers, slices and maps. Unexported struct fields are copied shallowly
// with the struct value; they hold only immutable data.
func deepCopy(dst, src reflect.Value) {
	switch src.Kind() {
	case reflect.Pointer:
		if src.IsNil() {
			return
		}
		p := reflect.New(src.Type().Elem())
		deepCopy(p.Elem(), src.Elem())
		dst.Set(p)
	case reflect.Slice:
		if src.IsNil() {
			return
		}
		s := reflect.MakeSlice(src.Type(), src.Len(), src.Len())
		for i := range src.Len() {
			deepCopy(s.Index(i), src.Index(i))
		}
		dst.Set(s)
	case reflect.Map:
		if src.IsNil() {
			return
		}
		m := reflect.MakeMapWithSize(src.Type(), src.Len())
		for it := src.MapRange(); it.Next(); {
			v := reflect.New(src.Type().Elem()).Elem()
			deepCopy(v, it.Value())
			m.SetMapIndex(it.Key(), v)
		}
		dst.Set(m)
	case reflect.Struct:
		dst.Set(src)
		for i := range src.NumField() {
			if dst.Type().Field(i).IsExported() {
				deepCopy(dst.Field(i), src.Field(i))
			}
		}
	default:
		dst.Set(src)
	}
}
