package app

import (
	"net/url"
	"slices"
	"strings"
)

// Features that Marathon gates behind --enable_features and that validation
// consults. Strata has no secret store, GPU scheduling or external volume
// provider, so the zero Config enables none of them and the rules that need
// them answer 422.
const (
	FeatureSecrets         = "secrets"
	FeatureGPUResources    = "gpu_resources"
	FeatureExternalVolumes = "external_volumes"
)

// Config holds the cluster settings that normalization and validation
// depend on. The zero value is Marathon's default configuration.
type Config struct {
	// DefaultRole is the role of apps that name none (--mesos_role, "*").
	DefaultRole string
	// DefaultNetworkName names unnamed container networks
	// (--default_network_name); empty means such networks are invalid.
	DefaultNetworkName string
	// MesosBridgeName is the CNI bridge network name that the deprecated
	// ipAddress.networkName may use to ask for bridge networking
	// (--mesos_bridge_name, "mesos-bridge").
	MesosBridgeName string
	// Features are the enabled Marathon features (FeatureSecrets, ...).
	Features []string

	// groupRole is the role of a group update's top-level group that the
	// same update makes enforce its role: the default of its apps.
	groupRole string
}

func (c Config) role() string {
	if c.DefaultRole == "" {
		return "*"
	}
	return c.DefaultRole
}

func (c Config) bridgeName() string {
	if c.MesosBridgeName == "" {
		return "mesos-bridge"
	}
	return c.MesosBridgeName
}

func (c Config) enabled(feature string) bool { return slices.Contains(c.Features, feature) }

// Defaults of AppDefinition (app.raml, AppDefinition.scala).
const (
	DefaultInstances             = 1
	DefaultCPUs                  = 1.0
	DefaultMem                   = 128.0
	DefaultDisk                  = 0.0
	DefaultGPUs                  = 0
	DefaultBackoffSeconds        = 1
	DefaultBackoffFactor         = 1.15
	DefaultMaxLaunchDelaySeconds = 300 // 3600 before Marathon 1.7 (PR marathon#6686)
)

// ParseApp reads a POST /v2/apps body (or one element of a batch): JSON
// syntax (400 *SyntaxError) and Marathon's reader rules (422
// *ValidationError with MsgInvalidJSON). The result is not normalized.
func ParseApp(data []byte) (App, error) {
	var a App
	_, err := readInto(data, appSchema, &a)
	return a, err
}

// Normalize is Config{}.Normalize.
func Normalize(data []byte) (App, error) { return Config{}.Normalize(data) }

// Normalize reads, validates and normalizes an app body for the root group:
// the full pipeline of POST /v2/apps and PUT ?partialUpdate=false. The id
// may be relative; it is resolved against the root.
func (c Config) Normalize(data []byte) (App, error) {
	a, err := ParseApp(data)
	if err != nil {
		return App{}, err
	}
	return c.NormalizeApp(a, "/")
}

// NormalizeApp runs everything after reading on an app: ids resolved against
// the group path base, deprecated fields checked and migrated, canonical
// validation, then defaults. Errors are *ValidationError with MsgNotValid.
// The input is not modified.
func (c Config) NormalizeApp(in App, base string) (App, error) {
	a := cloneApp(in)
	a.ID = CanonicalID(a.ID, base)
	for i, d := range a.Dependencies {
		a.Dependencies[i] = CanonicalID(d, base)
	}
	fillScalarDefaults(&a)

	var vs violations
	validateOldAPI(&a, &vs)
	if !vs.empty() {
		return App{}, vs.err(MsgNotValid)
	}
	if msg := c.migrateDeprecated(&a); msg != "" {
		vs.add("/", msg)
		return App{}, vs.err(MsgNotValid)
	}
	// Marathon looks only at portDefinitions as sent, so {"ports":[0,0]}
	// with an unindexed HTTP check is rejected and the default port gets no
	// portIndex; Strata, like the reference, indexes whenever the app ends
	// up with a port.
	if len(a.PortDefinitions) > 0 || a.UsesPortMappings() {
		defaultHealthCheckPortIndex(a.HealthChecks)
	}
	switch {
	case a.Role != "":
	case ParentID(a.ID) == "/":
		a.Role = c.role()
	case c.groupRole != "":
		a.Role = c.groupRole
	default:
		// Below a group the default is the group's role when its top-level
		// group enforces one: ResolveRoles decides with the tree.
	}
	if a.UpgradeStrategy == nil {
		a.UpgradeStrategy = &UpgradeStrategy{MaximumOverCapacity: 1, MinimumHealthCapacity: 1}
	}

	c.validateCanonical(&a, &vs)
	if !vs.empty() {
		return App{}, vs.err(MsgNotValid)
	}
	c.postNormalize(&a)
	return a, nil
}

func fillScalarDefaults(a *App) {
	setDefault(&a.Instances, DefaultInstances)
	setDefault(&a.CPUs, DefaultCPUs)
	setDefault(&a.Mem, DefaultMem)
	setDefault(&a.Disk, DefaultDisk)
	setDefault(&a.GPUs, DefaultGPUs)
	setDefault(&a.BackoffSeconds, DefaultBackoffSeconds)
	setDefault(&a.BackoffFactor, DefaultBackoffFactor)
	setDefault(&a.MaxLaunchDelaySeconds, DefaultMaxLaunchDelaySeconds)
	setDefault(&a.Executor, "")
	setDefault(&a.RequirePorts, false)
	if a.KillSelection == "" {
		a.KillSelection = KillYoungestFirst
	}
	if a.Labels == nil {
		a.Labels = map[string]string{}
	}
}

func setDefault[T any](p **T, v T) {
	if *p == nil {
		*p = &v
	}
}

// defaultPortDefinitions is what an app without ports on host networking
// gets.
func defaultPortDefinitions() []PortDefinition {
	return []PortDefinition{{Port: 0, Name: "default", Protocol: "tcp"}}
}

func defaultPortMapping() PortMapping {
	return PortMapping{Labels: map[string]string{}, Protocol: "tcp"}
}

// migrateDeprecated converts the deprecated fields to the canonical API
// (AppNormalization.forDeprecated). It returns a message when the fields
// contradict each other; Marathon raises these as NormalizationException
// (a 500), Strata reports them as a 422 at "/".
func (c Config) migrateDeprecated(a *App) string {
	// uris -> fetch
	if len(a.Uris) > 0 {
		if len(a.Fetch) > 0 {
			return "cannot specify both uris and fetch fields"
		}
		for _, u := range a.Uris {
			a.Fetch = append(a.Fetch, Artifact{URI: u, Extract: isExtract(u)})
		}
	}
	a.Uris = nil

	// ipAddress / container.docker.network -> networks
	dockerNet := ""
	if a.Container != nil && a.Container.Docker != nil {
		dockerNet = a.Container.Docker.Network
	}
	nets, msg := c.translateNetworks(a.IPAddress, dockerNet, a.Networks)
	if msg != "" {
		return msg
	}

	// ports -> portDefinitions, then the default for host networking
	migrated := a.PortDefinitions
	if migrated == nil && a.Ports != nil {
		migrated = make([]PortDefinition, 0, len(a.Ports))
		for _, p := range a.Ports {
			migrated = append(migrated, PortDefinition{Port: p, Protocol: "tcp"})
		}
	}
	nonHost := slices.ContainsFunc(nets, func(n Network) bool { return n.Mode != NetworkHost })
	switch {
	case nonHost:
		a.PortDefinitions = nil
	case migrated == nil:
		a.PortDefinitions = defaultPortDefinitions()
	default:
		a.PortDefinitions = migrated
	}
	a.Ports = nil

	// container: an ipAddress without a container implies an empty MESOS one
	if a.Container == nil && a.IPAddress != nil {
		a.Container = &Container{Type: EngineMesos, Volumes: []Volume{}}
	}
	if ct := a.Container; ct != nil {
		if d := ct.Docker; d != nil && d.PortMappings != nil {
			switch {
			case ct.PortMappings != nil && len(d.PortMappings) > 0:
				return "cannot specify both portMappings and docker.portMappings"
			case ct.PortMappings == nil:
				ct.PortMappings = d.PortMappings
			}
			d.PortMappings = nil
		}
		if a.IPAddress != nil && a.IPAddress.Discovery != nil && len(a.IPAddress.Discovery.Ports) > 0 {
			if ct.Type != EngineMesos {
				return "ipAddress.discovery.ports do not apply for container type " + ct.Type
			}
			if ct.PortMappings != nil {
				return "container.portMappings and ipAddress.discovery.ports must not both be set"
			}
			for _, p := range a.IPAddress.Discovery.Ports {
				ct.PortMappings = append(ct.PortMappings, PortMapping{
					ContainerPort: p.Number, Name: p.Name, Protocol: p.Protocol, Labels: p.Labels,
				})
			}
		}
		if ct.Docker != nil {
			ct.Docker.Network = ""
		}
		hostish := len(nets) == 0 || slices.ContainsFunc(nets, func(n Network) bool { return n.Mode == NetworkHost })
		if hostish {
			ct.PortMappings = nil
		} else {
			if ct.PortMappings == nil {
				pm := defaultPortMapping()
				pm.Name = "default"
				ct.PortMappings = []PortMapping{pm}
			}
			for len(ct.PortMappings) < len(migrated) {
				ct.PortMappings = append(ct.PortMappings, defaultPortMapping())
			}
		}
	}
	a.Networks = nets
	a.IPAddress = nil

	for i := range a.ReadinessChecks {
		if len(a.ReadinessChecks[i].HTTPStatusCodesForReady) == 0 {
			a.ReadinessChecks[i].HTTPStatusCodesForReady = []int{200}
		}
	}
	return ""
}

// translateNetworks maps the deprecated networking fields to networks
// (AppNormalization.NetworkTranslation).
func (c Config) translateNetworks(ip *IPAddress, dockerNet string, nets []Network) ([]Network, string) {
	if len(nets) == 0 {
		nets = nil
	}
	fromDocker := func(labels map[string]string, name string) ([]Network, string) {
		switch dockerNet {
		case "HOST":
			return []Network{{Mode: NetworkHost}}, ""
		case "USER":
			return []Network{{Mode: NetworkContainer, Name: name, Labels: labels}}, ""
		case "BRIDGE":
			return []Network{{Mode: NetworkBridge, Labels: labels}}, ""
		}
		return nil, "unsupported docker network type " + dockerNet
	}
	switch {
	case ip != nil && dockerNet != "" && nets == nil:
		return fromDocker(ip.Labels, ip.NetworkName)
	case ip != nil && dockerNet == "" && nets == nil:
		if ip.NetworkName != "" && ip.NetworkName == c.bridgeName() {
			return []Network{{Mode: NetworkBridge, Labels: ip.Labels}}, ""
		}
		return []Network{{Mode: NetworkContainer, Name: ip.NetworkName, Labels: ip.Labels}}, ""
	case ip == nil && dockerNet != "" && nets == nil:
		return fromDocker(nil, "")
	case ip == nil && dockerNet == "":
		return nets, ""
	}
	return nil, "cannot mix deprecated and canonical network APIs"
}

// defaultHealthCheckPortIndex gives Marathon-run health checks without port
// and portIndex the first port, as Marathon did when portIndex was
// mandatory.
func defaultHealthCheckPortIndex(hcs []HealthCheck) {
	for i := range hcs {
		h := &hcs[i]
		if h.Protocol != ProtoCommand && h.Port == nil && h.PortIndex == nil {
			zero := 0
			h.PortIndex = &zero
		}
	}
}

// postNormalize is AppNormalization.forPostValidation plus the canonical
// output rules of AppConversion: default networks, container defaults for
// non-host networks, bridge host ports, unreachable strategy, requirePorts,
// and every collection Marathon always writes.
func (c Config) postNormalize(a *App) {
	for i := range a.Networks {
		n := &a.Networks[i]
		if n.Mode == NetworkContainer && n.Name == "" {
			n.Name = c.DefaultNetworkName
		}
	}
	if len(a.Networks) == 0 {
		a.Networks = []Network{{Mode: NetworkHost}}
	}
	host := a.HostNetworking()
	bridge := slices.ContainsFunc(a.Networks, func(n Network) bool { return n.Mode == NetworkBridge })
	if a.Container == nil && !host {
		pm := defaultPortMapping()
		pm.Name = "default"
		a.Container = &Container{Type: EngineMesos, PortMappings: []PortMapping{pm}}
	}
	if ct := a.Container; ct != nil {
		if ct.Volumes == nil {
			ct.Volumes = []Volume{}
		}
		if d := ct.Docker; d != nil {
			d.Network = ""
			if d.Parameters == nil {
				d.Parameters = []DockerParameter{}
			}
		}
		if host {
			ct.PortMappings = nil
		} else if ct.PortMappings == nil {
			ct.PortMappings = []PortMapping{}
		}
		for i := range ct.PortMappings {
			pm := &ct.PortMappings[i]
			if bridge && pm.HostPort == nil {
				zero := 0
				pm.HostPort = &zero
			}
			if pm.Labels == nil {
				pm.Labels = map[string]string{}
			}
			if pm.Protocol == "" {
				pm.Protocol = "tcp"
			}
		}
	}
	if host {
		if a.PortDefinitions == nil {
			a.PortDefinitions = []PortDefinition{}
		}
	} else {
		a.PortDefinitions = nil
		f := false
		a.RequirePorts = &f
	}
	if a.UnreachableStrategy == nil {
		a.UnreachableStrategy = &UnreachableStrategy{}
	}
	for _, c := range a.Constraints {
		c[1] = strings.ToUpper(c[1]) // stored as the operator enum
	}
	for i := range a.HealthChecks {
		h := &a.HealthChecks[i]
		if (h.Protocol == ProtoHTTP || h.Protocol == ProtoHTTPS) && h.IgnoreHTTP1xx == nil {
			f := false
			h.IgnoreHTTP1xx = &f
		}
	}
	if a.Labels == nil {
		a.Labels = map[string]string{}
	}
}

// extractSuffixes are the archive types Mesos' fetcher extracts
// (FetchUri.supportedFileTypes).
var extractSuffixes = []string{".tar", ".tar.gz", ".tar.bz2", ".tar.xz", ".gz", ".tgz", ".tbz2", ".txz", ".zip"}

// isExtract infers fetch[].extract for a deprecated uris entry.
func isExtract(uri string) bool {
	u, err := url.Parse(uri)
	if err != nil {
		return false
	}
	for _, s := range extractSuffixes {
		if strings.HasSuffix(u.Path, s) {
			return true
		}
	}
	return false
}
