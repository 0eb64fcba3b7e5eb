package healthcheck

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/strata-sched/strata/core/mesos"
)

// errProbeTimeout is the cause of a probe context that hit timeout_seconds.
var errProbeTimeout = errors.New("probe timed out")

// RunHealth runs hc until ctx ends or Kill was reported. report is called on
// every change of Healthy and on every failure (as Mesos' checker does),
// never concurrently. The grace period counts from the call. Call
// ValidateHealthCheck first: every probe of an invalid check fails.
func RunHealth(ctx context.Context, hc mesos.HealthCheck, t Target, report func(HealthResult)) {
	sch, pol := healthSchedule(&hc)
	p := newProber(t)
	defer p.close()
	label, probe := p.healthProbe(&hc)
	runHealth(ctx, sch, pol, label, probe, report)
}

// RunCheck runs a general check (CheckInfo) and reports every result,
// never concurrently, until ctx ends.
func RunCheck(ctx context.Context, ci mesos.CheckInfo, t Target, report func(mesos.CheckStatusInfo)) {
	p := newProber(t)
	defer p.close()
	typ, probe := p.checkProbe(&ci)
	runCheck(ctx, checkSchedule(&ci), typ, probe, report)
}

// runHealth is RunHealth with the probe supplied: the shell around
// healthState.
func runHealth(ctx context.Context, sch schedule, pol healthPolicy, label string, probe func(context.Context) (bool, string), report func(HealthResult)) {
	st := newHealthState(pol, time.Now())
	sch.run(ctx, func(pctx context.Context) bool {
		ok, msg := probe(pctx)
		if ctx.Err() != nil {
			return true
		}
		if !ok && errors.Is(context.Cause(pctx), errProbeTimeout) {
			msg = fmt.Sprintf("%s timed out after %s", label, sch.timeout)
		}
		res, rep := st.Observe(ok, msg, time.Now())
		if rep {
			report(res)
		}
		return res.Kill
	})
}

func runCheck(ctx context.Context, sch schedule, typ string, probe func(context.Context) mesos.CheckStatusInfo, report func(mesos.CheckStatusInfo)) {
	sch.run(ctx, func(pctx context.Context) bool {
		st := probe(pctx)
		if ctx.Err() != nil {
			return true
		}
		if errors.Is(context.Cause(pctx), errProbeTimeout) {
			st = emptyCheckStatus(typ)
		}
		report(st)
		return false
	})
}

// run calls attempt as the schedule says until ctx ends or attempt returns
// true. attempt gets a context that ends at the probe timeout (cause
// errProbeTimeout) or with ctx.
func (s schedule) run(ctx context.Context, attempt func(context.Context) (stop bool)) {
	timer := time.NewTimer(s.delay)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		pctx, cancel := context.WithTimeoutCause(ctx, s.timeout, errProbeTimeout)
		stop := attempt(pctx)
		cancel()
		if stop || ctx.Err() != nil {
			return
		}
		timer.Reset(s.interval)
	}
}
