package scheduler_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"github.com/strata-sched/strata/core/mesos"
	"github.com/strata-sched/strata/frameworks/scheduler"
	"github.com/strata-sched/strata/frameworks/scheduler/schedulertest"
)

// A framework that runs one command task and tears itself down when the
// task ends. A fake master from schedulertest plays the master's part.
func Example() {
	master := schedulertest.NewMaster(schedulertest.Config{})
	defer master.Close()

	handler := scheduler.HandlerFuncs{
		SubscribedFunc: func(_ context.Context, _ *scheduler.Client, ev *mesos.EventSubscribedBody) {
			fmt.Println("subscribed as", ev.FrameworkID.Value)
		},
		OffersFunc: func(ctx context.Context, c *scheduler.Client, offers []mesos.Offer) {
			for _, o := range offers {
				res, _, ok := scheduler.Take(o.Resources, map[string]float64{"cpus": 0.5, "mem": 64})
				if !ok {
					_ = c.Decline(ctx, []mesos.OfferID{o.ID}, nil)
					continue
				}
				task := scheduler.CommandTask("hello", "hello-1", o, res, "echo hello")
				if err := c.Launch(ctx, o.ID, []mesos.TaskInfo{task}, nil); err != nil {
					fmt.Println("launch:", err)
				}
			}
		},
		UpdateFunc: func(ctx context.Context, c *scheduler.Client, st mesos.TaskStatus) {
			fmt.Println(st.TaskID.Value, st.State)
			if st.State.IsTerminal() {
				_ = c.Teardown(ctx)
			}
		},
	}
	client, err := scheduler.New(scheduler.Config{
		Master:    master.Addr(),
		Framework: mesos.FrameworkInfo{User: "root", Name: "hello"},
		Handler:   handler,
		AutoAck:   true,
		Logger:    slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		fmt.Println(err)
		return
	}

	// The master's part: offer an agent, then run the launched task.
	go func() {
		<-master.Subscribes()
		_ = master.Send(schedulertest.OffersEvent(schedulertest.Offer("o-1", "fw-1", "agent-1", 2, 1024)))
		accept := <-master.Calls()
		task := accept.Call.Accept.Operations[0].Launch.TaskInfos[0]
		for _, state := range []mesos.TaskState{mesos.TaskRunning, mesos.TaskFinished} {
			_ = master.Send(schedulertest.UpdateEvent(schedulertest.Status(task.TaskID.Value, task.AgentID.Value, state, true)))
		}
	}()

	err = client.Run(context.Background())
	fmt.Println("run:", err)
	// Output:
	// subscribed as fw-1
	// hello-1 TASK_RUNNING
	// hello-1 TASK_FINISHED
	// run: <nil>
}

// Carving a task's resources out of an offer.
func ExampleTake() {
	offer := schedulertest.Offer("o-1", "fw-1", "agent-1", 2, 1024)
	taken, remaining, ok := scheduler.Take(offer.Resources, map[string]float64{"cpus": 0.5, "mem": 256})
	fmt.Println(ok)
	fmt.Println(taken)
	fmt.Println(mesos.Resources(remaining).ScalarMap())
	// Output:
	// true
	// cpus(allocated: *)(*):0.5; mem(allocated: *)(*):256
	// map[cpus:1.5 mem:768]
}

// HandlerFuncs implements only what a framework needs; other events are
// ignored.
func ExampleHandlerFuncs() {
	var h scheduler.Handler = scheduler.HandlerFuncs{
		UpdateFunc: func(_ context.Context, _ *scheduler.Client, st mesos.TaskStatus) {
			fmt.Println("update:", st.TaskID.Value, st.State)
		},
	}
	h.Heartbeat(context.Background(), nil) // ignored
	h.Update(context.Background(), nil, mesos.TaskStatus{TaskID: mesos.TaskID{Value: "t-1"}, State: mesos.TaskRunning})
	// Output:
	// update: t-1 TASK_RUNNING
}
