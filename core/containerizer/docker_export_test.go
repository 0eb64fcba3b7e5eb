package containerizer

import "context"

// DockerStateForTest returns the engine's view of a container: its ID, when
// it started and whether it runs.
func DockerStateForTest(ctx context.Context, d *Docker, nameOrID string) (id, startedAt string, running bool, err error) {
	info, err := d.api.inspect(ctx, nameOrID)
	return info.ID, info.State.StartedAt, info.State.Running, err
}

// DockerLabelsForTest returns a container's labels.
func DockerLabelsForTest(ctx context.Context, d *Docker, nameOrID string) (map[string]string, error) {
	info, err := d.api.inspect(ctx, nameOrID)
	return info.Config.Labels, err
}

// DockerContainersForTest returns the IDs of Strata's containers (running or
// not) with the given owner.
func DockerContainersForTest(ctx context.Context, d *Docker, owner string) ([]string, error) {
	list, err := d.api.list(ctx, map[string]string{DockerLabelContainerizer: DockerKind, DockerLabelOwner: owner})
	var ids []string
	for _, s := range list {
		ids = append(ids, s.ID)
	}
	return ids, err
}

// DockerRemoveForTest force-removes a container.
func DockerRemoveForTest(ctx context.Context, d *Docker, nameOrID string) error {
	return d.api.remove(ctx, nameOrID)
}
