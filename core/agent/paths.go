package agent

import "path/filepath"

// layout computes the work and meta paths of Mesos' agent layout
// (src/slave/paths.hpp):
//
//	<work>/slaves/<agent>/frameworks/<fw>/executors/<ex>/runs/{latest,<container>}   sandboxes
//	<work>/meta/boot_id
//	<work>/meta/resources/resources.info
//	<work>/meta/slaves/{latest,<agent>/slave.info}
//	<work>/meta/slaves/<agent>/frameworks/<fw>/framework.info
//	<work>/meta/.../executors/<ex>/executor.info
//	<work>/meta/.../executors/<ex>/runs/<container>/{http.marker,container.info,containerizer/}
//	<work>/meta/.../runs/<container>/tasks/<task>/{task.info,task.updates,container.info,containerizer/}
//
// container.info holds the containerizer's Checkpoint; containerizer/ is the
// containerizer's RunDir. A task with its own container (a task of a task
// group) keeps both under its task directory; for a command task the
// executor run's container is the task's.
type layout struct{ workDir string }

func (l layout) sandboxRoot() string { return filepath.Join(l.workDir, "slaves") }
func (l layout) metaRoot() string    { return filepath.Join(l.workDir, "meta") }
func (l layout) bootID() string      { return filepath.Join(l.metaRoot(), "boot_id") }
func (l layout) resourcesInfo() string {
	return filepath.Join(l.metaRoot(), "resources", "resources.info")
}
func (l layout) metaSlaves() string { return filepath.Join(l.metaRoot(), "slaves") }

func (l layout) metaAgent(agent string) string { return filepath.Join(l.metaSlaves(), agent) }
func (l layout) slaveInfo(agent string) string {
	return filepath.Join(l.metaAgent(agent), "slave.info")
}

func (l layout) agentDir(agent string) string { return filepath.Join(l.sandboxRoot(), agent) }

func (l layout) frameworkDir(agent, fw string) string {
	return filepath.Join(l.agentDir(agent), "frameworks", fw)
}
func (l layout) executorDir(agent, fw, ex string) string {
	return filepath.Join(l.frameworkDir(agent, fw), "executors", ex)
}
func (l layout) sandbox(agent, fw, ex, container string) string {
	return filepath.Join(l.executorDir(agent, fw, ex), "runs", container)
}

// taskSandbox is the sandbox of one task of a task group.
func (l layout) taskSandbox(agent, fw, ex, container, task string) string {
	return filepath.Join(l.sandbox(agent, fw, ex, container), "tasks", task)
}

func (l layout) metaFramework(agent, fw string) string {
	return filepath.Join(l.metaAgent(agent), "frameworks", fw)
}
func (l layout) frameworkInfo(agent, fw string) string {
	return filepath.Join(l.metaFramework(agent, fw), "framework.info")
}
func (l layout) metaExecutor(agent, fw, ex string) string {
	return filepath.Join(l.metaFramework(agent, fw), "executors", ex)
}
func (l layout) executorInfo(agent, fw, ex string) string {
	return filepath.Join(l.metaExecutor(agent, fw, ex), "executor.info")
}
func (l layout) metaRun(agent, fw, ex, container string) string {
	return filepath.Join(l.metaExecutor(agent, fw, ex), "runs", container)
}
func (l layout) metaTask(agent, fw, ex, container, task string) string {
	return filepath.Join(l.metaRun(agent, fw, ex, container), "tasks", task)
}

// File names inside meta run and task directories.
const (
	fileTaskInfo      = "task.info"
	fileTaskUpdates   = "task.updates"
	fileContainerInfo = "container.info"
	fileHTTPMarker    = "http.marker"
	// fileSubscribedMarker: the custom executor of the run subscribed once.
	fileSubscribedMarker = "subscribed.marker"
	dirContainerizer     = "containerizer"
	latestLink           = "latest"
)
