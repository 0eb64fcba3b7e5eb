// Package deploy decides Marathon deployments: which steps a change of the
// group tree needs (Compute, Marathon's DeploymentPlan), and, for each step
// being executed, which instances to kill and how many to launch now
// (DecideRestart for RestartApplication, the rolling restart of reference
// §2.8; ScaleDown for ScaleApplication). It is pure: no store, no clock (the
// version timestamp and the current instances are inputs), no goroutines.
// The engine executes the decisions and feeds the results back in.
//
// # Plans
//
// A plan's steps run one after the other; the actions of one step run
// together:
//
//	step 1   StopApplication     every app the target no longer has
//	step 2   StartApplication    every new app, with 0 instances
//	step 3.. one step per dependency layer of the target (deps first):
//	         new app                    ScaleApplication(instances)
//	         only instances changed,
//	         or changed and scaled to 0 ScaleApplication(instances, toKill)
//	         configuration changed or
//	         restart requested          RestartApplication
//	         otherwise                  nothing
//
// Empty steps are dropped, so a no-op change gives a plan without steps,
// which the engine finishes at once.
//
// # Deployment lifecycle
//
//	created ──► step i running ──all actions done──► step i+1 ... ──► finished (deployment_success)
//	   │              │
//	   │              └── DELETE ?force=true ──► cancelled (no rollback)
//	   │              └── DELETE            ──► cancelled; a revert plan (original apps) is created, forced
//	   └── a newer plan touching the same apps with force ──► cancelled
//
// Deployments never time out (marathon#3954); a step that cannot progress
// says why (see the engine's status messages).
package deploy
