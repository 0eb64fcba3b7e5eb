// Package app is Marathon's app and group model: the wire types of
// AppDefinition, AppInfo, Task and Group as Marathon 1.x emits and accepts
// them, the decoding, normalization and validation that turn a request body
// into a canonical app, partial updates, service-port assignment, label
// selectors, task IDs, the task environment and placement constraints.
//
// The package is pure: no I/O, no clock, no goroutines. The Marathon
// framework owns storage, versions (timestamps), deployments and HTTP; it
// calls in here to decide.
//
// # Request pipeline
//
// Marathon processes an app body in the order below; the package keeps it,
// because the order decides which error a client sees.
//
//	bytes ──decode──▶ JSON tree ──read──▶ App ──old-API checks──▶ migrate deprecated
//	  │ 400 "Invalid JSON"      │ 422 "Invalid JSON"        │ 422 "Object is not valid"
//	  ▼                         ▼                           ▼
//	syntax error          type / missing / RAML      ──▶ canonical validation ──▶ post-normalize
//	                      pattern, min, max, enum          422 "Object is not valid"   (canonical App)
//
// "read" is Marathon's generated RAML reader: it checks JSON types, required
// fields and the RAML facets (pattern, minLength, minimum, maximum, enum) and
// fills nested defaults; its failures carry play-json codes such as
// "error.expected.jsnumber", "error.path.missing" or "error.pattern". The
// later checks are Marathon's validators with their human messages. Both
// answer 422 with {"message":..., "details":[{"path":..., "errors":[...]}]};
// see [ValidationError] and [ErrorBody].
//
// # Canonical form
//
// A normalized [App] uses only the 1.5+ networking API: deprecated ports,
// uris, ipAddress, container.docker.network and container.docker.portMappings
// are converted to portDefinitions, fetch, networks and
// container.portMappings, every default is filled in and the id is absolute.
// Encoding a normalized App with encoding/json gives the JSON that GET
// /v2/apps returns for it (field order included); [AppInfo] adds the
// response-only fields.
//
// # Roles
//
// An app's role is decided with the group tree (Marathon 1.9+ multi-role,
// [RolesFor]): a root app may only use --mesos_role; an app below a
// top-level group may use the group's name or --mesos_role, only the group's
// name once the group enforces its role (enforceRole); the role an app
// already has stays valid. Normalization cannot know the tree, so it leaves
// the role of an app below a group empty when the request names none;
// the framework calls [ResolveRoles] on the tree a request produces and then
// [ValidateRoles] on the apps it changed ("got dev, expected one of: [*]").
//
// # Where Strata differs from Marathon 1.11
//
// Marathon's code is followed, including its quirks (a one-character cmd is
// "must not be an empty string"; ids with upper case or "_" fail the RAML
// pattern as "error.pattern" under "Invalid JSON"; out-of-range numbers are
// "error.min"/"error.max"; container.portMappings are silently dropped on
// host networking), except:
//
//   - contradictory deprecated fields (Marathon's NormalizationException, a
//     500) and exhausted service ports (a 500) are 422s: go-marathon marks a
//     member down on any 5xx;
//   - a health check without port and portIndex gets portIndex 0 whenever
//     the app ends up with a port (Marathon looks only at portDefinitions as
//     sent, so it rejects {"ports":[0,0]} with such a check);
//   - a partial update keeps resourceLimits and executorResources it does
//     not mention (Marathon drops them);
//   - two apps with the same id in one group body, and a service port
//     another app already uses, are rejected (Marathon keeps the last app
//     and does not check service ports);
//   - persistent volumes, residency, external volumes, secrets and GPUs are
//     rejected with 422 (no local volumes, volume providers, secret store or
//     GPU scheduling); the last three use Marathon's "Feature ... is not
//     enabled" messages and can be enabled through [Config.Features];
//   - an invalid role in a group update is reported at "/role", not below
//     the app's place in the body ("/apps(0)/role"): roles are checked on
//     the resulting tree;
//   - a JSON value of the wrong type where an object is expected is
//     "error.expected.jsobject" (Marathon's generated readers read such a
//     value as an object with every member missing).
//
// What the package leaves to others: versions and versionInfo timestamps, the
// group tree in storage, deployment plans (it only provides [Layers]),
// running health and readiness checks, and anything about pods.
package app
