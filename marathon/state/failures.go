package state

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/strata-sched/strata/core/store"
	"github.com/strata-sched/strata/marathon/app"
)

// AppFailures is what an app's failed tasks leave behind: the last task
// failure (the app's lastTaskFailure) and the launch backoff. It is
// written when a task of the app fails and when the backoff is reset, so
// that a restarted or newly elected Marathon neither forgets why an app is
// failing nor relaunches a crash-looping app at once.
type AppFailures struct {
	AppID           string           `json:"appId"`
	LastTaskFailure *app.TaskFailure `json:"lastTaskFailure,omitempty"`
	Backoff         *Backoff         `json:"backoff,omitempty"`
}

// Backoff is the launch delay of an app (sched.Backoff as stored).
type Backoff struct {
	// Version is the app version whose failures set the delay.
	Version string `json:"version"`
	// DelayMillis is the current delay.
	DelayMillis int64 `json:"delayMillis"`
	// Until is when launches may resume.
	Until time.Time `json:"until"`
	// LastFailure is when the delay was last increased.
	LastFailure time.Time `json:"lastFailure"`
}

// Delay is the delay as a duration.
func (b Backoff) Delay() time.Duration { return time.Duration(b.DelayMillis) * time.Millisecond }

// Empty reports whether the record holds nothing worth keeping.
func (f AppFailures) Empty() bool { return f.LastTaskFailure == nil && f.Backoff == nil }

func (r *Repo) failuresDir() string          { return r.prefix + "/app-failures/" }
func (r *Repo) failuresKey(id string) string { return r.failuresDir() + app.SafeID(id) }

// PutAppFailures stores an app's failure record; an empty record deletes it.
func (r *Repo) PutAppFailures(ctx context.Context, f AppFailures) error {
	if f.Empty() {
		return r.DeleteAppFailures(ctx, f.AppID)
	}
	b, err := json.Marshal(f)
	if err != nil {
		return fmt.Errorf("state: encoding failures of %s: %w", f.AppID, err)
	}
	if _, err := r.st.Put(ctx, r.failuresKey(f.AppID), b, store.AnyVersion); err != nil {
		return fmt.Errorf("state: storing failures of %s: %w", f.AppID, err)
	}
	return nil
}

// DeleteAppFailures forgets an app's failure record (app removed).
func (r *Repo) DeleteAppFailures(ctx context.Context, id string) error {
	if err := r.st.Delete(ctx, r.failuresKey(id), store.AnyVersion); err != nil {
		return fmt.Errorf("state: deleting failures of %s: %w", id, err)
	}
	return nil
}

// loadFailures reads every failure record, by app id.
func (r *Repo) loadFailures(ctx context.Context) (map[string]AppFailures, error) {
	kvs, err := r.st.List(ctx, r.failuresDir())
	if err != nil {
		return nil, fmt.Errorf("state: loading app failures: %w", err)
	}
	out := make(map[string]AppFailures, len(kvs))
	for _, kv := range kvs {
		var f AppFailures
		if err := json.Unmarshal(kv.Value, &f); err != nil {
			return nil, fmt.Errorf("state: decoding %s: %w", kv.Key, err)
		}
		out[f.AppID] = f
	}
	return out, nil
}
