package scheduler

import (
	"errors"
	"fmt"
)

// ErrNotSubscribed is returned by calls made while the client holds no
// subscription: before the first SUBSCRIBED event, between a lost stream and
// the next SUBSCRIBED, and after Run has returned.
var ErrNotSubscribed = errors.New("scheduler: not subscribed (no SUBSCRIBED event received on the current stream yet)")

// ErrFrameworkRemoved is wrapped by the error Run returns when the master
// sends an ERROR event saying that the framework has been removed (torn down
// by an operator, or its failover timeout expired). The framework ID is dead:
// re-subscribing with it is refused.
var ErrFrameworkRemoved = errors.New("scheduler: framework removed by the master")

// ErrAlreadyRunning is returned by Run when another Run of the same Client
// has not returned yet.
var ErrAlreadyRunning = errors.New("scheduler: Run already in progress")

// APIError is a master reply with an unexpected HTTP status. Body is the
// reply's text (Mesos answers errors in plain text), trimmed.
type APIError struct {
	Call       string // call type, e.g. "ACCEPT"
	StatusCode int
	Body       string
}

func (e *APIError) Error() string {
	if e.Body == "" {
		return fmt.Sprintf("scheduler: %s: master replied %d", e.Call, e.StatusCode)
	}
	return fmt.Sprintf("scheduler: %s: master replied %d: %s", e.Call, e.StatusCode, e.Body)
}
