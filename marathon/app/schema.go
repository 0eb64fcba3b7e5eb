package app

import (
	"maps"
	"regexp"
	"slices"
	"strings"
)

// The RAML types of Marathon's docs/docs/rest-api/public/api/v2/types as
// reader schemas: the same required fields, facets and nested defaults.
// Top-level App fields carry no defaults here: a partial update must see
// which fields were sent, and [Config.Normalize] fills the top level.

var (
	// strings.LegacyName, strings.Name and strings.NetworkName.
	legacyNameRe  = regexp.MustCompile(`^(?:[a-z0-9]([-a-z0-9]*[a-z0-9])?)$`)
	networkNameRe = regexp.MustCompile(`^(?:[a-z0-9]([-a-z0-9_]*[a-z0-9])?)$`)
	// app.executor.
	executorRe = regexp.MustCompile(`^(?:^(//cmd)|(/?[^/]+(/[^/]+)*)|$)$`)
)

func sPathID() *schema { return tString(minLength(1), pattern(ramlPathIDRe)) }
func sLegacyName() *schema {
	return tString(minLength(1), pattern(legacyNameRe))
}
func sName() *schema {
	return tString(minLength(1), maxLength(63), pattern(legacyNameRe))
}
func sNetworkName() *schema {
	return tString(minLength(1), maxLength(63), pattern(networkNameRe))
}
func sURI() *schema            { return tString(minLength(1), maxLength(1024)) }
func sAnyPort() *schema        { return tInt(minimum(0), maximum(65535)) }
func sLabels() *schema         { return tMap(tString()) }
func sProtocol() *schema       { return tEnum("tcp", "udp", "udp,tcp") }
func sReadMode() *schema       { return tEnum("RO", "RW") }
func emptyObject() any         { return map[string]any{} }
func emptyArray() any          { return []any{} }
func int64Default(n int64) any { return n }

func sPortMapping() *schema {
	return tObject(
		withDef("containerPort", sAnyPort(), int64Default(0)),
		optional("hostPort", sAnyPort()),
		withDef("labels", sLabels(), emptyObject()),
		optional("name", sLegacyName()),
		withDef("protocol", sProtocol(), "tcp"),
		withDef("servicePort", sAnyPort(), int64Default(0)),
		optional("networkNames", tArray(sName())),
	)
}

func sDocker() *schema {
	return tObject(
		optional("credential", tObject(required("principal", tString()), optional("secret", tString()))),
		optional("pullConfig", tObject(required("secret", tString(minLength(1))))),
		withDef("forcePullImage", tBool(), false),
		required("image", tString(minLength(1))),
		optional("network", tEnum("BRIDGE", "HOST", "NONE", "USER")),
		withDef("parameters", tArray(tObject(
			required("key", tString(minLength(1))),
			required("value", tString()),
		)), emptyArray()),
		optional("portMappings", tArray(sPortMapping())),
		withDef("privileged", tBool(), false),
	)
}

// Volume kinds are told apart by their distinguishing member, as the RAML
// union (persistent | external | secret | host) is.
var (
	volPersistent = tObject(
		required("containerPath", tString(minLength(1))),
		required("persistent", tAny()),
		optional("mode", sReadMode()),
	)
	volExternal = tObject(
		required("containerPath", tString(minLength(1))),
		required("external", tAny()),
		optional("mode", sReadMode()),
	)
	volSecret = tObject(
		required("containerPath", tString(minLength(1))),
		required("secret", tString(minLength(1))),
	)
	volHost = tObject(
		required("containerPath", tString(minLength(1))),
		required("hostPath", tString(minLength(1))),
		required("mode", sReadMode()),
	)
)

func readVolume(r *reader, v any, path string) (any, bool) {
	m, ok := v.(map[string]any)
	if !ok {
		r.fail(path, errExpObject)
		return nil, false
	}
	s := volHost
	switch {
	case m["persistent"] != nil:
		s = volPersistent
	case m["external"] != nil:
		s = volExternal
	case m["secret"] != nil:
		s = volSecret
	}
	return r.read(m, s, path)
}

func sContainer() *schema {
	return tObject(
		withDef("type", tEnum(EngineMesos, EngineDocker), EngineDocker),
		optional("docker", sDocker()),
		optional("linuxInfo", tAny()),
		withDef("volumes", tArray(tCustom(readVolume)), emptyArray()),
		optional("portMappings", tArray(sPortMapping())),
	)
}

func sHealthCheck() *schema {
	return tObject(
		optional("command", tObject(required("value", tString()))),
		withDef("gracePeriodSeconds", tInt(minimum(0)), int64Default(300)),
		optional("ignoreHttp1xx", tBool()),
		withDef("intervalSeconds", tInt(minimum(0)), int64Default(60)),
		withDef("maxConsecutiveFailures", tInt(minimum(0)), int64Default(3)),
		optional("path", tString()),
		optional("port", sAnyPort()),
		optional("portIndex", sAnyPort()),
		withDef("protocol", tEnum(ProtoHTTP, ProtoHTTPS, ProtoTCP, ProtoCommand, ProtoMesosTCP, ProtoMesosHTTP, ProtoMesosHTTPS), ProtoHTTP),
		withDef("ipProtocol", tEnum("IPv4", "IPv6"), "IPv4"),
		withDef("timeoutSeconds", tInt(), int64Default(20)),
		withDef("delaySeconds", tInt(minimum(0)), int64Default(15)),
	)
}

func sReadinessCheck() *schema {
	return tObject(
		withDef("name", tString(minLength(1)), "readinessCheck"),
		withDef("protocol", tEnum("HTTP", "HTTPS"), "HTTP"),
		withDef("path", tString(minLength(1), maxLength(1024)), "/"),
		withDef("portName", sLegacyName(), "http-api"),
		withDef("intervalSeconds", tInt(minimum(0)), int64Default(30)),
		withDef("timeoutSeconds", tInt(minimum(1)), int64Default(10)),
		// Absent means [200]; normalization fills it in.
		optional("httpStatusCodesForReady", tArray(tInt(), uniqueItems(), minLength(1))),
		withDef("preserveLastResponse", tBool(), false),
	)
}

func sPortDefinition() *schema {
	return tObject(
		withDef("port", sAnyPort(), int64Default(0)),
		optional("labels", sLabels()),
		optional("name", sLegacyName()),
		withDef("protocol", sProtocol(), "tcp"),
	)
}

func sIPAddress() *schema {
	return tObject(
		optional("discovery", tObject(
			optional("ports", tArray(tObject(
				withDef("number", sAnyPort(), int64Default(0)),
				required("name", sLegacyName()),
				withDef("protocol", sProtocol(), "tcp"),
				optional("labels", sLabels()),
			))),
		)),
		optional("groups", tArray(tString(), uniqueItems())),
		optional("labels", sLabels()),
		optional("networkName", tString(minLength(1))),
	)
}

// readEnvValue reads EnvVarValueOrSecret: a string, or else the secret form
// (whose errors are the ones reported, as with play's orElse).
func readEnvValue(r *reader, v any, path string) (any, bool) {
	if s, ok := v.(string); ok {
		return s, true
	}
	return r.read(v, envSecretSchema, path)
}

var envSecretSchema = tObject(required("secret", tString()))

// readUnreachable reads "disabled" or {inactiveAfterSeconds, expungeAfterSeconds}.
func readUnreachable(r *reader, v any, path string) (any, bool) {
	switch v := v.(type) {
	case string:
		if strings.EqualFold(v, "disabled") {
			return "disabled", true
		}
		r.fail(path, errEnumLiteral)
		return nil, false
	case map[string]any:
		return r.read(v, unreachableEnabledSchema, path)
	}
	r.fail(path, errExpObject)
	return nil, false
}

var unreachableEnabledSchema = tObject(
	withDef("inactiveAfterSeconds", tLong(minimum(0)), int64Default(0)),
	withDef("expungeAfterSeconds", tLong(minimum(0)), int64Default(0)),
)

// readResourceLimit reads a number or a string ("unlimited"; other strings
// are reported by validation).
func readResourceLimit(r *reader, v any, path string) (any, bool) {
	if s, ok := v.(string); ok {
		return s, true
	}
	return r.read(v, tNumber(), path)
}

// appFields lists App's fields in RAML order. idRequired distinguishes App
// from AppUpdate.
func appFields(idRequired bool) []field {
	id := optional("id", sPathID())
	if idRequired {
		id = required("id", sPathID())
	}
	return []field{
		id,
		optional("acceptedResourceRoles", tArray(tString(), uniqueItems())),
		optional("args", tArray(tString())),
		optional("backoffFactor", tNumber(minimum(1.0))),
		optional("backoffSeconds", tInt(minimum(0))),
		optional("cmd", tString(minLength(1))),
		optional("constraints", tArray(tArray(tString()), uniqueItems())),
		optional("container", sContainer()),
		optional("cpus", tNumber(minimum(0.001))),
		optional("dependencies", tArray(sPathID(), uniqueItems())),
		optional("disk", tNumber(minimum(0))),
		optional("env", tMap(tCustom(readEnvValue))),
		optional("executor", tString(pattern(executorRe))),
		optional("executorResources", tObject(
			withDef("cpus", tNumber(minimum(0.1)), 0.1),
			withDef("mem", tNumber(minimum(32)), 32.0),
			withDef("disk", tNumber(minimum(10)), 10.0),
		)),
		optional("fetch", tArray(tObject(
			required("uri", sURI()),
			withDef("extract", tBool(), true),
			withDef("executable", tBool(), false),
			withDef("cache", tBool(), false),
			optional("destPath", sURI()),
		))),
		optional("healthChecks", tArray(sHealthCheck(), uniqueItems())),
		optional("check", tAny()),
		optional("instances", tInt(minimum(0))),
		optional("labels", sLabels()),
		optional("maxLaunchDelaySeconds", tInt(minimum(0))),
		optional("mem", tNumber(minimum(0))),
		optional("gpus", tInt(minimum(0))),
		optional("ipAddress", sIPAddress()),
		optional("networks", tArray(tObject(
			optional("name", sNetworkName()),
			withDef("mode", tEnum(NetworkContainer, NetworkBridge, NetworkHost), NetworkContainer),
			optional("labels", sLabels()),
		))),
		optional("ports", tArray(sAnyPort())),
		optional("portDefinitions", tArray(sPortDefinition())),
		optional("readinessChecks", tArray(sReadinessCheck())),
		optional("residency", tObject(
			withDef("relaunchEscalationTimeoutSeconds", tLong(minimum(0)), int64Default(3600)),
			withDef("taskLostBehavior", tEnum("WAIT_FOREVER", "RELAUNCH_AFTER_TIMEOUT"), "WAIT_FOREVER"),
		)),
		optional("resourceLimits", tObject(
			optional("cpus", tCustom(readResourceLimit)),
			optional("mem", tCustom(readResourceLimit)),
		)),
		optional("requirePorts", tBool()),
		optional("secrets", tMap(tObject(required("source", tString(minLength(1)))))),
		optional("taskKillGracePeriodSeconds", tInt(minimum(0))),
		optional("upgradeStrategy", tObject(
			required("maximumOverCapacity", tNumber(minimum(0), maximum(1))),
			required("minimumHealthCapacity", tNumber(minimum(0), maximum(1))),
		)),
		optional("uris", tArray(sURI())),
		optional("user", tString()),
		optional("version", tString()),
		optional("versionInfo", tAny()),
		optional("killSelection", tEnum(KillYoungestFirst, KillOldestFirst)),
		optional("unreachableStrategy", tCustom(readUnreachable)),
		optional("tty", tBool()),
		optional("role", tString(minLength(1))),
	}
}

var (
	appSchema       = tObject(appFields(true)...)
	appUpdateSchema = tObject(appFields(false)...)
)

func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}
