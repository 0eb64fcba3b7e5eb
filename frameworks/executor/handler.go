package executor

import (
	"context"

	"github.com/strata-sched/strata/core/mesos"
)

// Subscription is what SUBSCRIBED tells an executor about itself.
type Subscription struct {
	ExecutorInfo  mesos.ExecutorInfo
	FrameworkInfo mesos.FrameworkInfo
	AgentInfo     mesos.AgentInfo
	ContainerID   *mesos.ContainerID
}

// Handler receives the events of the executor's stream, one at a time on
// Run's goroutine, in stream order; ctx is Run's context. Handlers may call
// Update and SendMessage. While a handler runs no further event is read:
// run tasks on goroutines of your own.
type Handler interface {
	// Subscribed is called for every SUBSCRIBED (first and after reconnects).
	Subscribed(ctx context.Context, e *Executor, s Subscription)
	// Launch asks the executor to start a task.
	Launch(ctx context.Context, e *Executor, task mesos.TaskInfo)
	// LaunchGroup asks the executor to start a task group atomically.
	LaunchGroup(ctx context.Context, e *Executor, group mesos.TaskGroupInfo)
	// Kill asks the executor to kill a task (policy may be nil).
	Kill(ctx context.Context, e *Executor, taskID mesos.TaskID, policy *mesos.KillPolicy)
	// Acknowledged says the agent has the update with uuid for a task.
	Acknowledged(ctx context.Context, e *Executor, taskID mesos.TaskID, uuid []byte)
	// Message delivers a framework message.
	Message(ctx context.Context, e *Executor, data []byte)
	// Shutdown asks the executor to kill all tasks, send their terminal
	// updates and exit; Run returns nil once Shutdown returns. The agent
	// kills the executor after ShutdownGracePeriod.
	Shutdown(ctx context.Context, e *Executor)
	// Error reports an ERROR event.
	Error(ctx context.Context, e *Executor, message string)
}

// HandlerFuncs implements Handler with optional functions; a nil field
// ignores the event.
type HandlerFuncs struct {
	SubscribedFunc   func(ctx context.Context, e *Executor, s Subscription)
	LaunchFunc       func(ctx context.Context, e *Executor, task mesos.TaskInfo)
	LaunchGroupFunc  func(ctx context.Context, e *Executor, group mesos.TaskGroupInfo)
	KillFunc         func(ctx context.Context, e *Executor, taskID mesos.TaskID, policy *mesos.KillPolicy)
	AcknowledgedFunc func(ctx context.Context, e *Executor, taskID mesos.TaskID, uuid []byte)
	MessageFunc      func(ctx context.Context, e *Executor, data []byte)
	ShutdownFunc     func(ctx context.Context, e *Executor)
	ErrorFunc        func(ctx context.Context, e *Executor, message string)
}

var _ Handler = HandlerFuncs{}

func (h HandlerFuncs) Subscribed(ctx context.Context, e *Executor, s Subscription) {
	if h.SubscribedFunc != nil {
		h.SubscribedFunc(ctx, e, s)
	}
}

func (h HandlerFuncs) Launch(ctx context.Context, e *Executor, task mesos.TaskInfo) {
	if h.LaunchFunc != nil {
		h.LaunchFunc(ctx, e, task)
	}
}

func (h HandlerFuncs) LaunchGroup(ctx context.Context, e *Executor, group mesos.TaskGroupInfo) {
	if h.LaunchGroupFunc != nil {
		h.LaunchGroupFunc(ctx, e, group)
	}
}

func (h HandlerFuncs) Kill(ctx context.Context, e *Executor, taskID mesos.TaskID, policy *mesos.KillPolicy) {
	if h.KillFunc != nil {
		h.KillFunc(ctx, e, taskID, policy)
	}
}

func (h HandlerFuncs) Acknowledged(ctx context.Context, e *Executor, taskID mesos.TaskID, uuid []byte) {
	if h.AcknowledgedFunc != nil {
		h.AcknowledgedFunc(ctx, e, taskID, uuid)
	}
}

func (h HandlerFuncs) Message(ctx context.Context, e *Executor, data []byte) {
	if h.MessageFunc != nil {
		h.MessageFunc(ctx, e, data)
	}
}

func (h HandlerFuncs) Shutdown(ctx context.Context, e *Executor) {
	if h.ShutdownFunc != nil {
		h.ShutdownFunc(ctx, e)
	}
}

func (h HandlerFuncs) Error(ctx context.Context, e *Executor, message string) {
	if h.ErrorFunc != nil {
		h.ErrorFunc(ctx, e, message)
	}
}
