package state

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/strata-sched/strata/core/store"
	"github.com/strata-sched/strata/marathon/app"
	"github.com/strata-sched/strata/marathon/deploy"
)

// DefaultPrefix is the key prefix Marathon's state lives under.
const DefaultPrefix = "marathon"

// DefaultMaxVersions is how many versions of an app and of the root group
// are kept (Marathon's --zk_max_versions).
const DefaultMaxVersions = 50

// ErrNotFound is returned for a missing app version or root version.
var ErrNotFound = errors.New("state: not found")

// GroupNode is a group of the tree as stored: everything but the apps,
// which are stored one key each.
type GroupNode struct {
	ID           string      `json:"id"`
	Dependencies []string    `json:"dependencies,omitempty"`
	Version      string      `json:"version,omitempty"`
	EnforceRole  *bool       `json:"enforceRole,omitempty"`
	Groups       []GroupNode `json:"groups,omitempty"`
}

// RootVersion is one stored version of the root group: its tree and the
// version of every app it held (the apps themselves are app versions).
type RootVersion struct {
	Version string            `json:"version"`
	Tree    GroupNode         `json:"tree"`
	Apps    map[string]string `json:"apps"`
}

// Snapshot is everything Load reads.
type Snapshot struct {
	Root        app.Group
	Deployments []deploy.Plan
	Instances   []Instance
	// Failures holds the failure record of every app that has one.
	Failures map[string]AppFailures
}

// Repo reads and writes Marathon's state in a store.Store. It assumes it
// is the only writer of its prefix while in use (the leader).
type Repo struct {
	st          store.Store
	prefix      string
	maxVersions int

	mu           sync.Mutex
	rootVersions []string // stored root versions, oldest first; nil until listed
}

// NewRepo returns a Repo using keys under prefix (DefaultPrefix if empty)
// and keeping maxVersions versions (DefaultMaxVersions if 0).
func NewRepo(st store.Store, prefix string, maxVersions int) *Repo {
	if prefix == "" {
		prefix = DefaultPrefix
	}
	if maxVersions <= 0 {
		maxVersions = DefaultMaxVersions
	}
	return &Repo{st: st, prefix: prefix, maxVersions: maxVersions}
}

// FrameworkIDKey is where the framework ID is kept.
func (r *Repo) FrameworkIDKey() string { return r.prefix + "/framework-id" }

// Store returns the underlying store.
func (r *Repo) Store() store.Store { return r.st }

func (r *Repo) appKey(id string) string { return r.prefix + "/apps/" + app.SafeID(id) }
func (r *Repo) versionsDir(id string) string {
	return r.prefix + "/app-versions/" + app.SafeID(id) + "/"
}
func (r *Repo) groupsKey() string       { return r.prefix + "/groups" }
func (r *Repo) rootVersionsDir() string { return r.prefix + "/root-versions/" }
func (r *Repo) deploymentKey(id string) string {
	return r.prefix + "/deployments/" + id
}
func (r *Repo) instanceKey(taskID string) string { return r.prefix + "/instances/" + taskID }

// Load reads the whole state: the root group with its apps, the running
// deployments and the instances.
func (r *Repo) Load(ctx context.Context) (Snapshot, error) {
	var snap Snapshot
	tree := GroupNode{ID: "/"}
	kv, err := r.st.Get(ctx, r.groupsKey())
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		return snap, fmt.Errorf("state: loading groups: %w", err)
	default:
		if err := json.Unmarshal(kv.Value, &tree); err != nil {
			return snap, fmt.Errorf("state: decoding groups: %w", err)
		}
	}
	kvs, err := r.st.List(ctx, r.prefix+"/apps/")
	if err != nil {
		return snap, fmt.Errorf("state: loading apps: %w", err)
	}
	apps := make([]app.App, 0, len(kvs))
	for _, kv := range kvs {
		var a app.App
		if err := json.Unmarshal(kv.Value, &a); err != nil {
			return snap, fmt.Errorf("state: decoding %s: %w", kv.Key, err)
		}
		apps = append(apps, a)
	}
	snap.Root = BuildTree(tree, apps)

	kvs, err = r.st.List(ctx, r.prefix+"/deployments/")
	if err != nil {
		return snap, fmt.Errorf("state: loading deployments: %w", err)
	}
	for _, kv := range kvs {
		var p deploy.Plan
		if err := json.Unmarshal(kv.Value, &p); err != nil {
			return snap, fmt.Errorf("state: decoding %s: %w", kv.Key, err)
		}
		snap.Deployments = append(snap.Deployments, p)
	}
	sort.SliceStable(snap.Deployments, func(i, j int) bool { return snap.Deployments[i].Version < snap.Deployments[j].Version })

	kvs, err = r.st.List(ctx, r.prefix+"/instances/")
	if err != nil {
		return snap, fmt.Errorf("state: loading instances: %w", err)
	}
	for _, kv := range kvs {
		var in Instance
		if err := json.Unmarshal(kv.Value, &in); err != nil {
			return snap, fmt.Errorf("state: decoding %s: %w", kv.Key, err)
		}
		snap.Instances = append(snap.Instances, in)
	}

	snap.Failures, err = r.loadFailures(ctx)
	if err != nil {
		return snap, err
	}
	for id := range snap.Failures {
		if _, ok := snap.Root.FindApp(id); !ok {
			// Left by a crash between removing the app and its record.
			if err := r.DeleteAppFailures(ctx, id); err != nil {
				return snap, err
			}
			delete(snap.Failures, id)
		}
	}
	return snap, nil
}

// PutApp stores a (new) current version of an app: first as a version,
// then as the current definition; versions beyond the limit are pruned.
func (r *Repo) PutApp(ctx context.Context, a app.App) error {
	b, err := json.Marshal(a)
	if err != nil {
		return fmt.Errorf("state: encoding app %s: %w", a.ID, err)
	}
	if a.Version != "" {
		if _, err := r.st.Put(ctx, r.versionsDir(a.ID)+a.Version, b, store.AnyVersion); err != nil {
			return fmt.Errorf("state: storing version %s of %s: %w", a.Version, a.ID, err)
		}
	}
	if _, err := r.st.Put(ctx, r.appKey(a.ID), b, store.AnyVersion); err != nil {
		return fmt.Errorf("state: storing app %s: %w", a.ID, err)
	}
	return r.prune(ctx, r.versionsDir(a.ID))
}

// DeleteApp removes an app, its versions and its failure record.
func (r *Repo) DeleteApp(ctx context.Context, id string) error {
	if err := r.st.Delete(ctx, r.appKey(id), store.AnyVersion); err != nil {
		return fmt.Errorf("state: deleting app %s: %w", id, err)
	}
	if err := r.DeleteAppFailures(ctx, id); err != nil {
		return err
	}
	kvs, err := r.st.List(ctx, r.versionsDir(id))
	if err != nil {
		return fmt.Errorf("state: listing versions of %s: %w", id, err)
	}
	for _, kv := range kvs {
		if err := r.st.Delete(ctx, kv.Key, store.AnyVersion); err != nil {
			return fmt.Errorf("state: deleting %s: %w", kv.Key, err)
		}
	}
	return nil
}

// AppVersions lists the stored versions of an app, oldest first.
func (r *Repo) AppVersions(ctx context.Context, id string) ([]string, error) {
	kvs, err := r.st.List(ctx, r.versionsDir(id))
	if err != nil {
		return nil, fmt.Errorf("state: listing versions of %s: %w", id, err)
	}
	out := make([]string, 0, len(kvs))
	for _, kv := range kvs {
		out = append(out, strings.TrimPrefix(kv.Key, r.versionsDir(id)))
	}
	return out, nil
}

// AppVersion reads one stored version of an app; ErrNotFound if there is
// none.
func (r *Repo) AppVersion(ctx context.Context, id, version string) (app.App, error) {
	var a app.App
	kv, err := r.st.Get(ctx, r.versionsDir(id)+version)
	if errors.Is(err, store.ErrNotFound) {
		return a, fmt.Errorf("app %s version %s: %w", id, version, ErrNotFound)
	}
	if err != nil {
		return a, fmt.Errorf("state: reading version %s of %s: %w", version, id, err)
	}
	if err := json.Unmarshal(kv.Value, &a); err != nil {
		return a, fmt.Errorf("state: decoding version %s of %s: %w", version, id, err)
	}
	return a, nil
}

// PutGroups stores the group tree (without apps).
func (r *Repo) PutGroups(ctx context.Context, tree GroupNode) error {
	b, err := json.Marshal(tree)
	if err != nil {
		return fmt.Errorf("state: encoding groups: %w", err)
	}
	if _, err := r.st.Put(ctx, r.groupsKey(), b, store.AnyVersion); err != nil {
		return fmt.Errorf("state: storing groups: %w", err)
	}
	return nil
}

// PutRootVersion stores a root group version and prunes old ones.
func (r *Repo) PutRootVersion(ctx context.Context, rv RootVersion) error {
	b, err := json.Marshal(rv)
	if err != nil {
		return fmt.Errorf("state: encoding root version: %w", err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.rootVersions == nil {
		kvs, err := r.st.List(ctx, r.rootVersionsDir())
		if err != nil {
			return fmt.Errorf("state: listing root versions: %w", err)
		}
		r.rootVersions = []string{}
		for _, kv := range kvs {
			r.rootVersions = append(r.rootVersions, strings.TrimPrefix(kv.Key, r.rootVersionsDir()))
		}
	}
	if _, err := r.st.Put(ctx, r.rootVersionsDir()+rv.Version, b, store.AnyVersion); err != nil {
		return fmt.Errorf("state: storing root version %s: %w", rv.Version, err)
	}
	if i, found := slices.BinarySearch(r.rootVersions, rv.Version); !found {
		r.rootVersions = slices.Insert(r.rootVersions, i, rv.Version)
	}
	for len(r.rootVersions) > r.maxVersions {
		if err := r.st.Delete(ctx, r.rootVersionsDir()+r.rootVersions[0], store.AnyVersion); err != nil {
			return fmt.Errorf("state: pruning root version %s: %w", r.rootVersions[0], err)
		}
		r.rootVersions = r.rootVersions[1:]
	}
	return nil
}

// RootVersions lists the stored root versions, oldest first.
func (r *Repo) RootVersions(ctx context.Context) ([]string, error) {
	kvs, err := r.st.List(ctx, r.rootVersionsDir())
	if err != nil {
		return nil, fmt.Errorf("state: listing root versions: %w", err)
	}
	out := make([]string, 0, len(kvs))
	for _, kv := range kvs {
		out = append(out, strings.TrimPrefix(kv.Key, r.rootVersionsDir()))
	}
	return out, nil
}

// RootAt rebuilds the root group as it was at version: its tree and the
// app versions it referenced. Apps whose version has been pruned are
// missing from the result (listed in missing).
func (r *Repo) RootAt(ctx context.Context, version string) (root app.Group, missing []string, err error) {
	kv, err := r.st.Get(ctx, r.rootVersionsDir()+version)
	if errors.Is(err, store.ErrNotFound) {
		return root, nil, fmt.Errorf("root version %s: %w", version, ErrNotFound)
	}
	if err != nil {
		return root, nil, fmt.Errorf("state: reading root version %s: %w", version, err)
	}
	var rv RootVersion
	if err := json.Unmarshal(kv.Value, &rv); err != nil {
		return root, nil, fmt.Errorf("state: decoding root version %s: %w", version, err)
	}
	var apps []app.App
	for _, id := range sortedKeys(rv.Apps) {
		a, err := r.AppVersion(ctx, id, rv.Apps[id])
		if errors.Is(err, ErrNotFound) {
			missing = append(missing, id)
			continue
		}
		if err != nil {
			return root, nil, err
		}
		apps = append(apps, a)
	}
	return BuildTree(rv.Tree, apps), missing, nil
}

// PutDeployment stores a deployment (new, or its progress).
func (r *Repo) PutDeployment(ctx context.Context, p deploy.Plan) error {
	b, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("state: encoding deployment %s: %w", p.ID, err)
	}
	if _, err := r.st.Put(ctx, r.deploymentKey(p.ID), b, store.AnyVersion); err != nil {
		return fmt.Errorf("state: storing deployment %s: %w", p.ID, err)
	}
	return nil
}

// DeleteDeployment removes a finished or cancelled deployment.
func (r *Repo) DeleteDeployment(ctx context.Context, id string) error {
	if err := r.st.Delete(ctx, r.deploymentKey(id), store.AnyVersion); err != nil {
		return fmt.Errorf("state: deleting deployment %s: %w", id, err)
	}
	return nil
}

// PutInstance stores an instance.
func (r *Repo) PutInstance(ctx context.Context, in Instance) error {
	b, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("state: encoding instance %s: %w", in.TaskID, err)
	}
	if _, err := r.st.Put(ctx, r.instanceKey(in.TaskID), b, store.AnyVersion); err != nil {
		return fmt.Errorf("state: storing instance %s: %w", in.TaskID, err)
	}
	return nil
}

// DeleteInstance forgets an instance.
func (r *Repo) DeleteInstance(ctx context.Context, taskID string) error {
	if err := r.st.Delete(ctx, r.instanceKey(taskID), store.AnyVersion); err != nil {
		return fmt.Errorf("state: deleting instance %s: %w", taskID, err)
	}
	return nil
}

// prune deletes the oldest keys under dir beyond maxVersions.
func (r *Repo) prune(ctx context.Context, dir string) error {
	kvs, err := r.st.List(ctx, dir)
	if err != nil {
		return fmt.Errorf("state: listing %s: %w", dir, err)
	}
	for i := 0; i < len(kvs)-r.maxVersions; i++ {
		if err := r.st.Delete(ctx, kvs[i].Key, store.AnyVersion); err != nil {
			return fmt.Errorf("state: pruning %s: %w", kvs[i].Key, err)
		}
	}
	return nil
}

// Skeleton is the tree of g without apps.
func Skeleton(g app.Group) GroupNode {
	n := GroupNode{ID: app.CanonicalID(g.ID, "/"), Dependencies: g.Dependencies, Version: g.Version, EnforceRole: g.EnforceRole}
	for _, sub := range g.Groups {
		n.Groups = append(n.Groups, Skeleton(sub))
	}
	return n
}

// AppVersionsOf maps every app of g to its version.
func AppVersionsOf(g app.Group) map[string]string {
	out := map[string]string{}
	g.WalkApps(func(a *app.App) bool {
		out[a.ID] = a.Version
		return true
	})
	return out
}

// BuildTree puts apps into the tree, creating groups that the tree lacks
// (an app's group is its parent id). Apps are sorted by id in each group,
// groups by id.
func BuildTree(tree GroupNode, apps []app.App) app.Group {
	root := fromNode(tree)
	root.ID = "/"
	for _, a := range apps {
		g := ensureGroup(&root, app.ParentID(a.ID))
		g.Apps = append(g.Apps, a)
	}
	sortTree(&root)
	return root
}

func fromNode(n GroupNode) app.Group {
	g := app.Group{ID: n.ID, Dependencies: n.Dependencies, Version: n.Version, EnforceRole: n.EnforceRole}
	for _, sub := range n.Groups {
		g.Groups = append(g.Groups, fromNode(sub))
	}
	return g
}

// ensureGroup returns the group with id below root, creating the path.
func ensureGroup(root *app.Group, id string) *app.Group {
	if id == "/" || id == "" {
		return root
	}
	parent := ensureGroup(root, app.ParentID(id))
	for i := range parent.Groups {
		if app.CanonicalID(parent.Groups[i].ID, "/") == id {
			return &parent.Groups[i]
		}
	}
	parent.Groups = append(parent.Groups, app.Group{ID: id})
	return &parent.Groups[len(parent.Groups)-1]
}

func sortTree(g *app.Group) {
	sort.Slice(g.Apps, func(i, j int) bool { return g.Apps[i].ID < g.Apps[j].ID })
	sort.Slice(g.Groups, func(i, j int) bool { return g.Groups[i].ID < g.Groups[j].ID })
	for i := range g.Groups {
		sortTree(&g.Groups[i])
	}
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
