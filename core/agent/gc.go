package agent

import (
	"sort"
	"strings"
	"time"
)

// gcQueue is the set of sandbox and checkpoint directories scheduled for
// removal, Mesos' GarbageCollector without the disk-usage heuristics: a path
// is removed once its time has come, unless it was unscheduled (a framework
// or executor came back and uses it again). It is pure; the agent's GC loop
// calls due with the current time and removes what it returns.
type gcQueue struct {
	at map[string]time.Time
}

func newGCQueue() *gcQueue { return &gcQueue{at: map[string]time.Time{}} }

// schedule removes path at when (a later schedule of the same path wins).
func (q *gcQueue) schedule(path string, when time.Time) { q.at[path] = when }

// unschedule cancels the removal of path and of any directory containing
// it: a path about to be reused must survive, and so must its parents.
func (q *gcQueue) unschedule(path string) {
	for p := range q.at {
		if p == path || strings.HasPrefix(path, p+"/") {
			delete(q.at, p)
		}
	}
}

// due returns the paths whose time has come, parents before children, and
// forgets them.
func (q *gcQueue) due(now time.Time) []string {
	var out []string
	for p, t := range q.at {
		if !now.Before(t) {
			out = append(out, p)
			delete(q.at, p)
		}
	}
	sort.Strings(out)
	return out
}

// pending counts scheduled paths.
func (q *gcQueue) pending() int { return len(q.at) }
