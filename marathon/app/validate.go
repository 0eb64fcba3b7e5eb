package app

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Messages of Marathon's validators (AppValidation.scala and friends), kept
// verbatim: clients and people match on them.
const (
	MsgCmdArgsContainer        = "AppDefinition must either contain one of 'cmd' or 'args', and/or a 'container'."
	MsgEmptyCmd                = "must not be an empty string"
	MsgHealthPortIndex         = "Health check port indices must address an element of the ports array or container port mappings."
	MsgHealthIPv6              = "IPv6 can only be used for container type DOCKER and Mesos http/https/tcp health checks"
	MsgOneMesosHealthCheck     = "AppDefinition can contain at most one Mesos health check"
	MsgPortNamesUnique         = "Port names must be unique."
	MsgPortsUnique             = "Ports must be unique."
	MsgPortMappingsHost        = "portMappings are not allowed with host-networking"
	MsgPortDefinitionsNonHost  = "portDefinitions are only allowed with host-networking"
	MsgInvalidURI              = "URI has invalid syntax."
	MsgSecretRefsNeedFeature   = "use of secret-references in the environment requires the secrets feature to be enabled"
	MsgUndefinedSecret         = "references an undefined secret"
	MsgGPUDocker               = "GPU resources only work with the Mesos containerizer"
	MsgSingleInstance          = "Single instance app may only have one instance"
	MsgDockerOneNetwork        = "may only specify a single container network when using the Docker container engine"
	MsgNetworkNameForHostPort  = "networkNames must be a single item list when hostPort is specified and more than 1 container network is defined"
	MsgNetworkNameRequired     = "Network name must be specified when container network is selected."
	MsgHostNetworkNameOrLabels = "Host networks may not have names or labels"
	MsgBridgeNetworkName       = "Bridge networks may not have names"
	MsgDuplicateNetworks       = "Duplicate networks are not allowed"
	MsgNetworkModes            = "May specify a single host network, single bridge network, or else 1-to-n container networks"
	MsgPullConfigDocker        = "pullConfig is not supported with Docker containerizer"
	MsgPullConfigSecret        = "pullConfig.secret must refer to an existing secret"
	MsgVolumeSecret            = "volume.secret must refer to an existing secret"
	MsgMustBeEmpty             = "must be empty"
	MsgMustNotBeEmpty          = "must not be empty"
	MsgNotDefined              = "not defined"
	MsgMigrationAPI            = "DCOS_PACKAGE_FRAMEWORK_NAME and DCOS_MIGRATION_API_PATH must be defined when using DCOS_MIGRATION_API_VERSION"

	MsgConstraintArity     = "Each constraint must have either 2 or 3 fields"
	MsgConstraintField     = "missing field for constraint declaration"
	MsgConstraintIllegal   = "illegal constraint specification"
	MsgConstraintOperator  = "operator must be one of the following UNIQUE, CLUSTER, GROUP_BY, LIKE, MAX_PER, UNLIKE or IS"
	MsgConstraintUnique    = "UNIQUE does not accept a value"
	MsgConstraintGroupBy   = "GROUP BY must define an integer value or else no value at all"
	MsgConstraintMaxPer    = "MAX_PER requires an integer value"
	MsgConstraintLike      = "LIKE and UNLIKE require a non-empty, regular expression value"
	MsgConstraintRegex     = "is not a valid regular expression"
	MsgConstraintIs        = "IS only supports Mesos text and float values (see http://mesos.apache.org/documentation/latest/attributes-resources/)"
	msgDockerNetworkAndNet = "must not specify both container.docker.network and networks"
	msgNetworksAndIP       = "must not specify both networks and ipAddress"
	msgPortsUniqueOld      = "ports must be unique"
	msgIPAndPorts          = "cannot specify both an IP address and port"
	msgPortsAndDefs        = "cannot specify both ports and port definitions"
	msgURIsAndFetch        = "may not be set in conjunction with fetch"
	msgIPDiscoveryDocker   = "ipAddress/discovery is not allowed for Docker containers"
)

// Rejections that are Strata's own: Marathon supports these, Strata does
// not (no local persistent volumes, no volume providers).
const (
	MsgPersistentVolumes = "persistent volumes (resident apps) are not supported"
	MsgResidency         = "residency (resident apps) is not supported"
)

func featureMsg(f string) string {
	return fmt.Sprintf("Feature %s is not enabled. Enable with --enable_features %s)", f, f)
}

// validateOldAPI checks the deprecated fields and how they combine with the
// canonical ones (AppValidation.validateOldAppAPI); it runs before they are
// migrated.
func validateOldAPI(a *App, vs *violations) {
	if ct := a.Container; ct != nil && ct.Docker != nil {
		d := ct.Docker
		if d.Credential != nil {
			vs.add("/container/docker/credential", MsgMustBeEmpty)
		}
		if ct.Type == EngineMesos {
			if d.Network != "" {
				vs.add("/container/docker/network", MsgMustBeEmpty)
			}
			if len(d.Parameters) > 0 {
				vs.add("/container/docker/parameters", MsgMustBeEmpty)
			}
			if len(d.PortMappings) > 0 {
				vs.add("/container/docker/portMappings", MsgMustBeEmpty)
			}
		}
		if hasDuplicateNames(portMappingNames(d.PortMappings)) {
			vs.add("/container/docker/portMappings", MsgPortNamesUnique)
		}
	}
	if a.IPAddress != nil && a.Container != nil && a.Container.Type == EngineDocker && a.IPAddress.Discovery != nil {
		vs.add("/ipAddress", msgIPDiscoveryDocker)
	}
	for i, u := range a.Uris {
		if !uriValid(u) {
			vs.add(fmt.Sprintf("/uris(%d)", i), MsgInvalidURI)
		}
	}
	if len(a.Uris) > 0 && len(a.Fetch) > 0 {
		vs.add("/uris", msgURIsAndFetch)
	}
	if a.Container != nil && a.Container.Docker != nil && a.Container.Docker.Network != "" && len(a.Networks) > 0 {
		vs.add("/", msgDockerNetworkAndNet)
	}
	if a.IPAddress != nil && len(a.Networks) > 0 {
		vs.add("/", msgNetworksAndIP)
	}
	var nonZero []int
	for _, p := range a.Ports {
		if p != 0 {
			nonZero = append(nonZero, p)
		}
	}
	if hasDuplicates(nonZero) {
		vs.add("/", msgPortsUniqueOld)
	}
	if a.IPAddress != nil && (len(a.Ports) > 0 || len(a.PortDefinitions) > 0) {
		vs.add("/", msgIPAndPorts)
	}
	if a.Ports != nil && a.PortDefinitions != nil {
		same := len(a.Ports) == len(a.PortDefinitions)
		for i := 0; same && i < len(a.Ports); i++ {
			same = a.Ports[i] == a.PortDefinitions[i].Port
		}
		if !same {
			vs.add("/", msgPortsAndDefs)
		}
	}
}

// validateCanonical is Marathon's canonical app validation
// (validateCanonicalAppAPI with validBasicAppDefinition, and the model
// rules of AppDefinition.validAppDefinition that can fail on API input).
func (c Config) validateCanonical(a *App, vs *violations) {
	secretsOn := c.enabled(FeatureSecrets)
	if ct := a.Container; ct != nil {
		c.validateContainer(a, ct, vs)
	}
	if hasDuplicateNames(portDefinitionNames(a.PortDefinitions)) {
		vs.add("/portDefinitions", MsgPortNamesUnique)
	}
	var pdPorts []int
	for _, pd := range a.PortDefinitions {
		if pd.Port != 0 {
			pdPorts = append(pdPorts, pd.Port)
		}
	}
	if hasDuplicates(pdPorts) {
		vs.add("/portDefinitions", MsgPortsUnique)
	}

	// cmd, args, container
	cmd, args := a.Cmd != "", len(a.Args) > 0
	container := a.Container != nil && (a.Container.Docker != nil || a.Container.Type == EngineMesos)
	if !((cmd != args) || (!(cmd && args) && container)) {
		vs.add("/", MsgCmdArgsContainer)
	}

	nPorts := len(a.ServicePorts())
	mesosChecks, commandChecks := 0, 0
	for i, h := range a.HealthChecks {
		p := fmt.Sprintf("/healthChecks(%d)", i)
		marathonLevel := h.Protocol == ProtoHTTP || h.Protocol == ProtoHTTPS || h.Protocol == ProtoTCP
		if h.Command == nil && marathonLevel {
			var ok bool
			if h.PortIndex != nil {
				ok = *h.PortIndex >= 0 && *h.PortIndex < nPorts
			} else {
				ok = h.Port != nil || nPorts == 1
			}
			if !ok {
				vs.add(p, MsgHealthPortIndex)
			}
		}
		mesosHTTPish := h.Protocol == ProtoMesosHTTP || h.Protocol == ProtoMesosHTTPS || h.Protocol == ProtoMesosTCP
		isDocker := a.Container != nil && a.Container.Type == EngineDocker
		if h.IPProtocol != "" && h.IPProtocol != "IPv4" && !(mesosHTTPish && isDocker) {
			vs.add(p, MsgHealthIPv6)
		}
		if h.Command != nil {
			commandChecks++
		}
		if h.Command != nil || h.Protocol == ProtoCommand || mesosHTTPish {
			mesosChecks++
		}
	}
	if mesosChecks-commandChecks > 1 {
		vs.add("/", MsgOneMesosHealthCheck)
	}
	for i, f := range a.Fetch {
		if !uriValid(f.URI) {
			vs.add(fmt.Sprintf("/fetch(%d)/uri", i), MsgInvalidURI)
		}
	}
	if rl := a.ResourceLimits; rl != nil {
		validateLimit(rl.CPUs, deref(a.CPUs, DefaultCPUs), "/resourceLimits/cpus", vs)
		validateLimit(rl.Mem, deref(a.Mem, DefaultMem), "/resourceLimits/mem", vs)
	}
	if len(a.Secrets) > 0 && !secretsOn {
		vs.add("/secrets", featureMsg(FeatureSecrets))
	}
	if secretsOn {
		for _, name := range sortedKeys(a.Secrets) {
			if name == "" {
				vs.add("/secrets", MsgMustNotBeEmpty)
			}
		}
	}
	c.validateEnv(a, vs)
	// An app without role yet gets it from the tree (ResolveRoles), and
	// ValidateRoles checks its accepted roles then.
	if a.AcceptedResourceRoles != nil && a.Role != "" {
		validateAcceptedRoles(a.AcceptedResourceRoles, a.Role, vs)
	}
	if deref(a.GPUs, 0) > 0 {
		if a.Container != nil && a.Container.Type == EngineDocker {
			vs.add("/", MsgGPUDocker)
		}
		if !c.enabled(FeatureGPUResources) {
			vs.add("/", featureMsg(FeatureGPUResources))
		}
	}
	if v, ok := a.Labels["DCOS_MIGRATION_API_VERSION"]; ok && v != "" {
		if v != "v1" || a.Labels["DCOS_PACKAGE_FRAMEWORK_NAME"] == "" || a.Labels["DCOS_MIGRATION_API_PATH"] == "" {
			vs.add("/", MsgMigrationAPI)
		}
	}
	validateReadiness(a, vs)
	if a.Labels["MARATHON_SINGLE_INSTANCE_APP"] == "true" {
		if deref(a.Instances, DefaultInstances) > 1 {
			vs.add("/", MsgSingleInstance)
		}
		if us := a.UpgradeStrategy; us != nil {
			if us.MinimumHealthCapacity != 0 {
				vs.addf("/upgradeStrategy/minimumHealthCapacity", "got %s, expected 0.0", javaDouble(us.MinimumHealthCapacity))
			}
			if us.MaximumOverCapacity != 0 {
				vs.addf("/upgradeStrategy/maximumOverCapacity", "got %s, expected 0.0", javaDouble(us.MaximumOverCapacity))
			}
		}
	}
	if a.Container != nil && a.Container.Type == EngineDocker {
		n := 0
		for _, net := range a.Networks {
			if net.Mode == NetworkContainer {
				n++
			}
		}
		if n > 1 {
			vs.add("/", MsgDockerOneNetwork)
		}
	}
	if a.Residency != nil {
		vs.add("/residency", MsgResidency)
	}
	for i, cons := range a.Constraints {
		for _, msg := range ConstraintViolations(cons) {
			vs.add(fmt.Sprintf("/constraints(%d)", i), msg)
		}
	}
	validateNetworks(a.Networks, vs)
	for _, n := range a.Networks {
		if n.Mode == NetworkContainer && n.Name == "" && c.DefaultNetworkName == "" {
			vs.add("/networks", MsgNetworkNameRequired)
			break
		}
	}
	if u := a.UnreachableStrategy; u != nil && !u.Disabled && u.InactiveAfterSeconds > u.ExpungeAfterSeconds {
		vs.addf("/unreachableStrategy/inactiveAfterSeconds",
			"inactiveAfterSeconds (%d) must be less or equal to expungeAfterSeconds, which is %d",
			u.InactiveAfterSeconds, u.ExpungeAfterSeconds)
	}

	// id and dependencies (canonical: already absolute)
	for _, msg := range IDViolations(a.ID) {
		vs.add("/id", msg)
	}
	for i, d := range a.Dependencies {
		for _, msg := range IDViolations(d) {
			vs.add(fmt.Sprintf("/dependencies(%d)", i), msg)
		}
	}
	if len(segments(a.ID)) == 0 {
		vs.add("/", msgIDRoot)
	}
	// Marathon's rule is cmd.length > 1, so a one-character cmd fails too.
	if a.Cmd != "" && len([]rune(a.Cmd)) <= 1 {
		vs.add("/", MsgEmptyCmd)
	}
	host := a.HostNetworking()
	if host && a.Container != nil && len(a.Container.PortMappings) > 0 {
		vs.add("/", MsgPortMappingsHost)
	}
	if !host && len(a.PortDefinitions) > 0 {
		vs.add("/", MsgPortDefinitionsNonHost)
	}
}

func (c Config) validateContainer(a *App, ct *Container, vs *violations) {
	secretsOn := c.enabled(FeatureSecrets)
	if hasDuplicateNames(portMappingNames(ct.PortMappings)) {
		vs.add("/container/portMappings", MsgPortNamesUnique)
	}
	var netNames []string
	containerNets := 0
	for _, n := range a.Networks {
		if n.Mode == NetworkContainer {
			containerNets++
		}
		if n.Name != "" {
			netNames = append(netNames, n.Name)
		}
	}
	for i, pm := range ct.PortMappings {
		p := fmt.Sprintf("/container/portMappings(%d)", i)
		if containerNets > 1 && pm.HostPort != nil && len(pm.NetworkNames) != 1 {
			vs.add(p, MsgNetworkNameForHostPort)
		}
		for j, nn := range pm.NetworkNames {
			if !slices.Contains(netNames, nn) {
				vs.addf(fmt.Sprintf("%s/networkNames(%d)", p, j), "is not one of (%s)", strings.Join(netNames, ","))
			}
		}
	}
	for i, v := range ct.Volumes {
		p := fmt.Sprintf("/container/volumes(%d)", i)
		switch {
		case v.Persistent != nil:
			vs.add(p, MsgPersistentVolumes)
		case v.External != nil:
			vs.add(p, featureMsg(FeatureExternalVolumes))
		case v.Secret != "":
			if !secretsOn {
				vs.add(p, featureMsg(FeatureSecrets))
			}
			if _, ok := a.Secrets[v.Secret]; !ok {
				vs.add(p, MsgVolumeSecret)
			}
		}
	}
	switch ct.Type {
	case EngineDocker:
		if ct.Docker == nil {
			vs.add("/container/docker", MsgNotDefined)
			break
		}
		if ct.Docker.Image == "" {
			vs.add("/container/docker/image", MsgMustNotBeEmpty)
		}
		if ct.Docker.PullConfig != nil {
			vs.add("/container/docker/pullConfig", MsgPullConfigDocker)
		}
	case EngineMesos:
		if d := ct.Docker; d != nil {
			if d.Image == "" {
				vs.add("/container/docker/image", MsgMustNotBeEmpty)
			}
			if d.PullConfig != nil {
				if !secretsOn {
					vs.add("/container/docker/pullConfig", MsgMustBeEmpty)
					vs.add("/container/docker/pullConfig", featureMsg(FeatureSecrets))
				}
				if _, ok := a.Secrets[d.PullConfig.Secret]; !ok {
					vs.add("/container/docker/pullConfig", MsgPullConfigSecret)
				}
			}
		}
	}
}

func (c Config) validateEnv(a *App, vs *violations) {
	names := sortedKeys(a.Env)
	refs := false
	for _, name := range names {
		if name == "" {
			vs.add("/env", MsgMustNotBeEmpty)
		}
		if _, ok := a.Env[name].Secret(); ok {
			refs = true
		}
	}
	if refs && !c.enabled(FeatureSecrets) {
		vs.add("/env", MsgSecretRefsNeedFeature)
	}
	for _, name := range names {
		if ref, ok := a.Env[name].Secret(); ok {
			if _, declared := a.Secrets[ref]; !declared {
				vs.add("/env/"+name+"/secret", MsgUndefinedSecret)
			}
		}
	}
}

func validateLimit(l *ResourceLimit, request float64, path string, vs *violations) {
	switch {
	case l == nil || l.Unlimited:
	case l.Raw != "":
		vs.addf(path, "'%s' is an invalid resource limit. It must be 'unlimited' or a number", l.Raw)
	case l.Value < request:
		vs.addf(path, "resource limit must be greater than or equal to requested resource (%s)", javaDouble(request))
	}
}

func validateAcceptedRoles(roles []string, role string, vs *violations) {
	if len(roles) == 0 {
		vs.add("/acceptedResourceRoles", MsgMustNotBeEmpty)
		return
	}
	for i, r := range roles {
		if msg := roleNameViolation(r); msg != "" {
			vs.add(fmt.Sprintf("/acceptedResourceRoles(%d)", i), msg)
		}
	}
	valid := []string{"*"}
	if role != "" && role != "*" {
		valid = append(valid, role)
		slices.Sort(valid)
	}
	ok := len(roles) <= 2
	for _, r := range roles {
		ok = ok && slices.Contains(valid, r)
	}
	if !ok {
		vs.add("/acceptedResourceRoles", "acceptedResourceRoles can only contain "+strings.Join(valid, " and "))
	}
}

// roleNameViolation is ResourceRole.validResourceRole's first failure.
func roleNameViolation(r string) string {
	switch {
	case r == "":
		return `A role name must not be "".`
	case r == ".":
		return `A role name must not be ".".`
	case r == "..":
		return `A role name must not be "..".`
	case strings.HasPrefix(r, "-"):
		return "A role name must not start with a '-'."
	}
	bad := map[rune]string{
		'\t': `horizontal tab (\x09)`, '\n': `line feed (\x0a)`, '\v': `vertical tab (\x0b)`,
		'\f': `form feed (\x0c)`, '\r': `carriage return (\x0d)`, ' ': `space (\x20)`,
		'/': `slash (\x2f)`, '\x7f': `backspace (\x7f)`,
	}
	for _, ch := range r {
		if name, ok := bad[ch]; ok {
			return "A role name must not include a " + name + " character."
		}
	}
	return ""
}

func validateReadiness(a *App, vs *violations) {
	if n := len(a.ReadinessChecks); n > 1 {
		vs.addf("/readinessChecks", "got %d, expected 1 or less", n)
	}
	names := map[string]bool{}
	for _, n := range a.PortNames() {
		if n != "" {
			names[n] = true
		}
	}
	for i, rc := range a.ReadinessChecks {
		p := fmt.Sprintf("/readinessChecks(%d)", i)
		if !names[rc.PortName] {
			vs.addf(p+"/portName", "No port definition reference for portName %s", rc.PortName)
		}
		if rc.TimeoutSeconds >= rc.IntervalSeconds {
			vs.addf(p+"/timeoutSeconds", "got %d, expected less than %d", rc.TimeoutSeconds, rc.IntervalSeconds)
		}
	}
}

// validateNetworks is NetworkValidation.ramlNetworksValidator.
func validateNetworks(nets []Network, vs *violations) {
	counts := map[string]int{}
	unnamedCT := 0
	names := map[string]int{}
	for _, n := range nets {
		counts[n.Mode]++
		if n.Mode == NetworkHost && (n.Name != "" || len(n.Labels) > 0) {
			vs.add("/networks", MsgHostNetworkNameOrLabels)
		}
		if n.Mode == NetworkBridge && n.Name != "" {
			vs.add("/networks", MsgBridgeNetworkName)
		}
		if n.Name == "" && n.Mode == NetworkContainer {
			unnamedCT++
		}
		if n.Name != "" {
			names[n.Name]++
		}
	}
	dup := unnamedCT > 1
	for _, c := range names {
		dup = dup || c > 1
	}
	if dup {
		vs.add("/networks", MsgDuplicateNetworks)
	}
	h, b, ct := counts[NetworkHost], counts[NetworkBridge], counts[NetworkContainer]
	if !((h <= 1 && b == 0 && ct == 0) || (h == 0 && b <= 1 && ct == 0) || (h == 0 && b == 0 && ct > 0)) {
		vs.add("/networks", MsgNetworkModes)
	}
}

// isValueRe is SchedulingValidationMessages.MesosLiteralOrFloatValue.
var isValueRe = regexp.MustCompile(`^[a-zA-Z0-9_/.-]*$`)

// ConstraintViolations checks one app constraint [field, OPERATOR(, value)]
// (SchedulingValidation.complyWithAppConstraintRules). The operator is
// case-insensitive.
func ConstraintViolations(c []string) []string {
	if len(c) < 2 || len(c) > 3 {
		return []string{MsgConstraintArity}
	}
	if c[0] == "" {
		return []string{MsgConstraintIllegal}
	}
	op := Operator(strings.ToUpper(c[1]))
	value, hasValue := "", len(c) == 3
	if hasValue {
		value = c[2]
	}
	switch op {
	case OpUnique:
		if hasValue {
			return []string{MsgConstraintUnique}
		}
	case OpCluster:
	case OpGroupBy:
		if hasValue {
			if _, err := strconv.ParseInt(value, 10, 32); err != nil {
				return []string{MsgConstraintGroupBy}
			}
		}
	case OpMaxPer:
		if _, err := strconv.ParseInt(value, 10, 32); !hasValue || err != nil {
			return []string{MsgConstraintMaxPer}
		}
	case OpLike, OpUnlike:
		if !hasValue {
			return []string{MsgConstraintLike}
		}
		if _, err := compileFull(value); err != nil {
			return []string{MsgConstraintRegex}
		}
	case OpIs:
		if !isValueRe.MatchString(value) {
			return []string{MsgConstraintIs}
		}
	default:
		return []string{MsgConstraintOperator}
	}
	return nil
}

func uriValid(s string) bool {
	_, err := url.Parse(s)
	return err == nil
}

func portMappingNames(pms []PortMapping) []string {
	var out []string
	for _, pm := range pms {
		if pm.Name != "" {
			out = append(out, pm.Name)
		}
	}
	return out
}

func portDefinitionNames(pds []PortDefinition) []string {
	var out []string
	for _, pd := range pds {
		if pd.Name != "" {
			out = append(out, pd.Name)
		}
	}
	return out
}

func hasDuplicateNames(names []string) bool { return hasDuplicates(names) }

func hasDuplicates[T comparable](xs []T) bool {
	seen := make(map[T]bool, len(xs))
	for _, x := range xs {
		if seen[x] {
			return true
		}
		seen[x] = true
	}
	return false
}
