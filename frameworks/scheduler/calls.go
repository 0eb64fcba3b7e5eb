package scheduler

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/strata-sched/strata/core/mesos"
)

// Call sends any call but SUBSCRIBE (which Run makes) to the master holding
// the subscription, with the current Mesos-Stream-Id. It fills in
// framework_id when call has none and does not modify call. The master must
// answer 202 Accepted (200 OK for UPDATE_FRAMEWORK); any other reply is an
// *APIError carrying the status and body. Without a subscription the error
// wraps ErrNotSubscribed.
func (c *Client) Call(ctx context.Context, call *mesos.Call) error {
	if call == nil {
		return errors.New("scheduler: nil call")
	}
	if call.Type == mesos.CallSubscribe {
		return errors.New("scheduler: SUBSCRIBE is made by Run, not by Call")
	}
	c.mu.Lock()
	subscribed, ep, streamID, fid := c.subscribed, c.endpoint, c.streamID, c.frameworkID
	c.mu.Unlock()
	if !subscribed {
		return fmt.Errorf("scheduler: %s: %w", call.Type, ErrNotSubscribed)
	}
	cc := *call
	if cc.FrameworkID == nil {
		cc.FrameworkID = &mesos.FrameworkID{Value: fid}
	}
	body, err := json.Marshal(&cc)
	if err != nil {
		return fmt.Errorf("scheduler: encoding %s: %w", cc.Type, err)
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.CallTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ep.String(), bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("scheduler: %s: %w", cc.Type, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Mesos-Stream-Id", streamID)
	resp, err := c.calls.Do(req)
	if err != nil {
		return fmt.Errorf("scheduler: %s: %w", cc.Type, err)
	}
	defer resp.Body.Close()
	want := http.StatusAccepted
	if cc.Type == mesos.CallUpdateFramework {
		want = http.StatusOK
	}
	if resp.StatusCode != want {
		return apiError(cc.Type, resp)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	return nil
}

// Accept accepts offers (all from one agent) with operations; resources of
// the offers that the operations do not use are declined with filters
// (nil = the master's default, refuse for 5 s).
func (c *Client) Accept(ctx context.Context, offerIDs []mesos.OfferID, ops []mesos.Operation, filters *mesos.Filters) error {
	return c.Call(ctx, &mesos.Call{Type: mesos.CallAccept, Accept: &mesos.CallAcceptBody{
		OfferIDs: offerIDs, Operations: ops, Filters: filters}})
}

// Launch accepts one offer with a LAUNCH of tasks.
func (c *Client) Launch(ctx context.Context, offerID mesos.OfferID, tasks []mesos.TaskInfo, filters *mesos.Filters) error {
	return c.Accept(ctx, []mesos.OfferID{offerID}, []mesos.Operation{LaunchOp(tasks...)}, filters)
}

// LaunchGroup accepts one offer with a LAUNCH_GROUP of group under
// executor (normally of type DEFAULT).
func (c *Client) LaunchGroup(ctx context.Context, offerID mesos.OfferID, executor mesos.ExecutorInfo, group mesos.TaskGroupInfo, filters *mesos.Filters) error {
	return c.Accept(ctx, []mesos.OfferID{offerID}, []mesos.Operation{LaunchGroupOp(executor, group)}, filters)
}

// Decline declines offers; filters say for how long the master should not
// offer the resources again (nil = 5 s).
func (c *Client) Decline(ctx context.Context, offerIDs []mesos.OfferID, filters *mesos.Filters) error {
	return c.Call(ctx, &mesos.Call{Type: mesos.CallDecline, Decline: &mesos.CallDeclineBody{
		OfferIDs: offerIDs, Filters: filters}})
}

// Revive clears the offer filters of roles (none = all the framework's
// roles) and resumes offers for them.
func (c *Client) Revive(ctx context.Context, roles ...string) error {
	if err := c.Call(ctx, &mesos.Call{Type: mesos.CallRevive, Revive: &mesos.CallRolesBody{Roles: roles}}); err != nil {
		return err
	}
	c.setSuppressed(roles, false)
	return nil
}

// Suppress stops offers for roles (none = all the framework's roles). The
// Client remembers suppressed roles and re-subscribes with them, so a
// re-subscription does not resume offers by surprise.
func (c *Client) Suppress(ctx context.Context, roles ...string) error {
	if err := c.Call(ctx, &mesos.Call{Type: mesos.CallSuppress, Suppress: &mesos.CallRolesBody{Roles: roles}}); err != nil {
		return err
	}
	c.setSuppressed(roles, true)
	return nil
}

func (c *Client) setSuppressed(roles []string, on bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(roles) == 0 {
		roles = c.framework.EffectiveRoles()
	}
	for _, r := range roles {
		if on {
			c.suppressed[r] = true
		} else {
			delete(c.suppressed, r)
		}
	}
}

// Kill kills a task (and its task group). agentID and policy are optional.
func (c *Client) Kill(ctx context.Context, taskID mesos.TaskID, agentID *mesos.AgentID, policy *mesos.KillPolicy) error {
	return c.Call(ctx, &mesos.Call{Type: mesos.CallKill, Kill: &mesos.CallKillBody{
		TaskID: taskID, AgentID: agentID, KillPolicy: policy}})
}

// Shutdown shuts down a custom executor and all its tasks.
func (c *Client) Shutdown(ctx context.Context, executorID mesos.ExecutorID, agentID mesos.AgentID) error {
	return c.Call(ctx, &mesos.Call{Type: mesos.CallShutdown, Shutdown: &mesos.CallShutdownBody{
		ExecutorID: executorID, AgentID: agentID}})
}

// Acknowledge acknowledges a status update. Only updates with a uuid may
// be acknowledged (master-generated ones, e.g. reconciliation answers, have
// none); Acknowledge returns an error for the others without calling.
func (c *Client) Acknowledge(ctx context.Context, status mesos.TaskStatus) error {
	if len(status.UUID) == 0 {
		return fmt.Errorf("scheduler: ACKNOWLEDGE of task %s: the update has no uuid and must not be acknowledged", status.TaskID.Value)
	}
	if status.AgentID == nil {
		return fmt.Errorf("scheduler: ACKNOWLEDGE of task %s: the update has no agent_id", status.TaskID.Value)
	}
	return c.Call(ctx, &mesos.Call{Type: mesos.CallAcknowledge, Acknowledge: &mesos.CallAcknowledgeBody{
		AgentID: *status.AgentID, TaskID: status.TaskID, UUID: status.UUID}})
}

// Reconcile asks the master for the latest state of tasks; nil or empty
// asks for every task the master knows (implicit reconciliation). Answers
// arrive as UPDATE events without uuid.
func (c *Client) Reconcile(ctx context.Context, tasks []mesos.ReconcileTask) error {
	return c.Call(ctx, &mesos.Call{Type: mesos.CallReconcile, Reconcile: &mesos.CallReconcileBody{Tasks: tasks}})
}

// Message sends data to an executor (at most once).
func (c *Client) Message(ctx context.Context, agentID mesos.AgentID, executorID mesos.ExecutorID, data []byte) error {
	return c.Call(ctx, &mesos.Call{Type: mesos.CallMessage, Message: &mesos.CallMessageBody{
		AgentID: agentID, ExecutorID: executorID, Data: data}})
}

// Teardown removes the framework: the master kills all its tasks and
// executors. On success the FrameworkIDStore (if any) forgets the ID and
// Run returns nil.
func (c *Client) Teardown(ctx context.Context) error {
	c.mu.Lock()
	c.tearingDown = true
	c.mu.Unlock()
	if err := c.Call(ctx, &mesos.Call{Type: mesos.CallTeardown}); err != nil {
		c.mu.Lock()
		c.tearingDown = false
		c.mu.Unlock()
		return err
	}
	c.mu.Lock()
	stop := c.stopRun
	c.frameworkID, c.subscribed, c.streamID, c.endpoint = "", false, "", nil
	c.mu.Unlock()
	if stop != nil {
		stop(errTornDown)
	}
	if c.cfg.FrameworkIDStore != nil {
		if err := c.cfg.FrameworkIDStore.Save(ctx, ""); err != nil {
			return fmt.Errorf("scheduler: torn down, but forgetting the framework ID failed: %w", err)
		}
	}
	return nil
}

// UpdateFramework changes the FrameworkInfo of the subscribed framework
// (roles, name, failover_timeout, capabilities, offer_filters; not user,
// principal or checkpoint). The master answers 200 once applied; later
// re-subscriptions send the new info.
func (c *Client) UpdateFramework(ctx context.Context, info mesos.FrameworkInfo) error {
	c.mu.Lock()
	info.ID = &mesos.FrameworkID{Value: c.frameworkID}
	var suppressed []string
	for _, r := range info.EffectiveRoles() {
		if c.suppressed[r] {
			suppressed = append(suppressed, r)
		}
	}
	c.mu.Unlock()
	err := c.Call(ctx, &mesos.Call{Type: mesos.CallUpdateFramework, UpdateFramework: &mesos.CallSubscribeBody{
		FrameworkInfo: &info, SuppressedRoles: suppressed}})
	if err != nil {
		return err
	}
	info.ID = nil
	c.mu.Lock()
	c.framework = info
	c.mu.Unlock()
	return nil
}
