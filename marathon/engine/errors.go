package engine

import (
	"fmt"
	"strings"
)

// NotFoundError is a 404 with Marathon's message.
type NotFoundError struct{ Message string }

func (e *NotFoundError) Error() string { return e.Message }

// ConflictError is a 409 for something that exists already.
type ConflictError struct{ Message string }

func (e *ConflictError) Error() string { return e.Message }

// LockedError is the 409 for a change that touches apps of running
// deployments without force (AppLockedException).
type LockedError struct{ Deployments []string }

func (e *LockedError) Error() string {
	return fmt.Sprintf("App is locked by one or more deployments. Override with the option '?force=true'. View details at '/v2/deployments/%s'.",
		strings.Join(e.Deployments, ","))
}

// TooManyDeploymentsError is the 403 beyond --max_running_deployments.
type TooManyDeploymentsError struct{ Max int }

func (e *TooManyDeploymentsError) Error() string {
	return fmt.Sprintf("Max number (%d) of running deployments is achieved. Wait for existing deployments to complete or cancel oneusing force=true parameter. You can increase max deployment number by using --max_running_deployments parameter.", e.Max)
}

// BadRequestError is a 400 with a message.
type BadRequestError struct{ Message string }

func (e *BadRequestError) Error() string { return e.Message }
