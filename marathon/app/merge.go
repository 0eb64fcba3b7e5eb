package app

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
)

// ErrRollback is returned (wrapped) by Merge and Replace for a body that
// asks for a rollback ({"version": "<ts>"}): the framework must load that
// stored version instead. Use [RollbackVersion] to detect it first.
var ErrRollback = errors.New("app update is a rollback to a stored version")

const msgVersionOnlyWithID = "The 'version' field may only be combined with the 'id' field."

// RollbackVersion reports whether an update body (PUT or PATCH
// /v2/apps/{id}) is a rollback, {"version":"<ts>"} optionally with "id".
// "version" combined with any other field is a 422.
func RollbackVersion(patch []byte) (version string, ok bool, err error) {
	var u App
	keys, err := readInto(patch, appUpdateSchema, &u)
	if err != nil {
		return "", false, err
	}
	if _, has := keys["version"]; !has {
		return "", false, nil
	}
	for k := range keys {
		if k != "version" && k != "id" {
			var vs violations
			vs.add("/", msgVersionOnlyWithID)
			return "", false, vs.err(MsgNotValid)
		}
	}
	return u.Version, true, nil
}

// Merge is Config{}.Merge.
func Merge(base App, patch json.RawMessage) (App, error) { return Config{}.Merge(base, patch) }

// Merge applies a partial update (PATCH /v2/apps/{id}, PUT with
// partialUpdate=true) to the stored app base, the way Marathon does: every
// top-level field present in the patch replaces the base's field as a whole
// (container, healthChecks, env, labels, ... are not merged member by
// member); absent fields and fields set to null keep the base's value (null
// cannot delete, marathon#1418); "id" in the patch is ignored. Deprecated
// fields in the patch are first converted (ports -> portDefinitions, uris ->
// fetch, ipAddress and container.docker.network -> networks), then the
// merged app is normalized and validated like a new one.
//
// Unlike Marathon, executorResources and resourceLimits are kept when the
// patch does not mention them (Marathon drops them, a bug).
func (c Config) Merge(base App, patch json.RawMessage) (App, error) {
	var u App
	keys, err := readInto(patch, appUpdateSchema, &u)
	if err != nil {
		return App{}, err
	}
	if _, has := keys["version"]; has {
		if _, _, err := RollbackVersion(patch); err != nil {
			return App{}, err
		}
		return App{}, fmt.Errorf("%w %s", ErrRollback, u.Version)
	}
	present := make(map[string]bool, len(keys))
	for k := range keys {
		present[k] = true
	}
	if msg := c.migrateUpdate(&u, present); msg != "" {
		var vs violations
		vs.add("/", msg)
		return App{}, vs.err(MsgNotValid)
	}
	out := cloneApp(base)
	copyPresent(&out, &u, present)
	return c.NormalizeApp(out, "/")
}

// Replace builds the app that PUT /v2/apps/{id} with partialUpdate=false
// stores, and that a PUT for an unknown id creates: the body parsed as a
// complete app whose id is the one from the URL (the body's id is ignored),
// all defaults re-applied.
func (c Config) Replace(id string, data []byte) (App, error) {
	var u App
	keys, err := readInto(data, appUpdateSchema, &u)
	if err != nil {
		return App{}, err
	}
	if _, has := keys["version"]; has {
		if _, _, err := RollbackVersion(data); err != nil {
			return App{}, err
		}
		return App{}, fmt.Errorf("%w %s", ErrRollback, u.Version)
	}
	u.ID = id
	return c.NormalizeApp(u, "/")
}

// migrateUpdate converts an update's deprecated fields in place and adjusts
// the set of present fields (AppNormalization.forDeprecatedUpdates).
func (c Config) migrateUpdate(u *App, present map[string]bool) string {
	if present["uris"] {
		if len(u.Uris) > 0 {
			if len(u.Fetch) > 0 {
				return "cannot specify both uris and fetch fields"
			}
			if !present["fetch"] || len(u.Fetch) == 0 {
				u.Fetch = nil
				for _, s := range u.Uris {
					u.Fetch = append(u.Fetch, Artifact{URI: s, Extract: isExtract(s)})
				}
				present["fetch"] = true
			}
		}
		u.Uris, present["uris"] = nil, false
	}
	if present["ports"] {
		if !present["portDefinitions"] {
			u.PortDefinitions = make([]PortDefinition, 0, len(u.Ports))
			for _, p := range u.Ports {
				u.PortDefinitions = append(u.PortDefinitions, PortDefinition{Port: p, Protocol: "tcp"})
			}
			present["portDefinitions"] = true
		}
		u.Ports, present["ports"] = nil, false
	}
	dockerNet := ""
	if u.Container != nil && u.Container.Docker != nil {
		dockerNet = u.Container.Docker.Network
	}
	if u.IPAddress != nil || dockerNet != "" {
		nets, msg := c.translateNetworks(u.IPAddress, dockerNet, u.Networks)
		if msg != "" {
			return msg
		}
		u.Networks, present["networks"] = nets, true
	}
	if u.Container == nil && u.IPAddress != nil {
		u.Container = &Container{Type: EngineMesos}
		present["container"] = true
	}
	if ct := u.Container; ct != nil {
		if d := ct.Docker; d != nil {
			if d.PortMappings != nil {
				if ct.PortMappings != nil && len(d.PortMappings) > 0 {
					return "cannot specify both portMappings and docker.portMappings"
				}
				if ct.PortMappings == nil {
					ct.PortMappings = d.PortMappings
				}
				d.PortMappings = nil
			}
			d.Network = ""
		}
		if ip := u.IPAddress; ip != nil && ip.Discovery != nil && len(ip.Discovery.Ports) > 0 {
			if ct.Type != EngineMesos {
				return "ipAddress.discovery.ports do not apply for container type " + ct.Type
			}
			if ct.PortMappings != nil {
				return "container.portMappings and ipAddress.discovery.ports must not both be set"
			}
			for _, p := range ip.Discovery.Ports {
				ct.PortMappings = append(ct.PortMappings, PortMapping{
					ContainerPort: p.Number, Name: p.Name, Protocol: p.Protocol, Labels: p.Labels,
				})
			}
		}
	}
	u.IPAddress, present["ipAddress"] = nil, false
	return ""
}

// merged reports whether a partial update takes the field from the patch.
func merged(name string) bool {
	switch name {
	case "id", "version", "versionInfo", "ports", "uris", "ipAddress":
		return false
	}
	return true
}

// copyPresent sets every field of dst whose JSON name is in present to the
// value in src.
func copyPresent(dst, src *App, present map[string]bool) {
	dv, sv := reflect.ValueOf(dst).Elem(), reflect.ValueOf(src).Elem()
	t := dv.Type()
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if present[name] && merged(name) {
			dv.Field(i).Set(sv.Field(i))
		}
	}
}
