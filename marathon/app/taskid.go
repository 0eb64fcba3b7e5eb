package app

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/google/uuid"
)

// Task ids use Marathon's legacy shape "<safeAppId>.<uuid>" (SafeID: the
// app id's segments joined with "_"), e.g. "/prod/web" -> "prod_web.<uuid>".
// It is the form Marathon itself still parses and the only one go-marathon
// (KillTask) and marathon-consul understand: they take everything before
// the last "." and turn "_" back into "/". Instance ids use
// "<safeAppId>.marathon-<uuid>" with the same uuid, which Marathon's
// Instance.Id accepts too.

// TaskIDFor is the task id of a new task of appID with the given uuid.
func TaskIDFor(appID string, u uuid.UUID) string { return SafeID(appID) + "." + u.String() }

// NewTaskID is TaskIDFor with a fresh random uuid.
func NewTaskID(appID string) string { return TaskIDFor(appID, uuid.New()) }

// InstanceIDFor is the instance id that goes with TaskIDFor(appID, u).
func InstanceIDFor(appID string, u uuid.UUID) string {
	return SafeID(appID) + ".marathon-" + u.String()
}

// The task id forms of Task.Id.parse, most specific first.
var (
	taskIDWithIncarnationRe = regexp.MustCompile(`^(.+)\.(instance-|marathon-)([^_.]+)[._]([^.]+)\.(\d+)$`)
	taskIDWithInstanceRe    = regexp.MustCompile(`^(.+)\.(instance-|marathon-)([^_.]+)[._]([^.]+)$`)
	residentTaskIDRe        = regexp.MustCompile(`^(.+)([._])([^_.]+)(\.)(\d+)$`)
	legacyTaskIDRe          = regexp.MustCompile(`^(.+)([._])([^_.]+)$`)
	instanceIDRe            = regexp.MustCompile(`^(.+)\.(instance-|marathon-)([^.]+)$`)
)

// ParsedTaskID is what a task id says.
type ParsedTaskID struct {
	AppID string
	// UUID is the task's (legacy) or instance's uuid.
	UUID string
	// Incarnation is the launch attempt for ids that carry one (Marathon
	// 1.8+ "._app.<n>" ids and resident ids), else 0.
	Incarnation int
}

// ParseTaskID parses every task id form Marathon has used:
// "<safe>.<uuid>" (or "_" as separator), "<safe>.<uuid>.<attempt>",
// "<safe>.(instance|marathon)-<uuid>.<container>" and
// "<safe>.(instance|marathon)-<uuid>.<container>.<incarnation>".
func ParseTaskID(id string) (ParsedTaskID, error) {
	var m []string
	switch {
	case matchInto(taskIDWithIncarnationRe, id, &m):
		n := 0
		fmt.Sscan(m[5], &n)
		return ParsedTaskID{AppID: appIDFromSafe(m[1]), UUID: m[3], Incarnation: n}, checkUUID(id, m[3])
	case matchInto(taskIDWithInstanceRe, id, &m):
		return ParsedTaskID{AppID: appIDFromSafe(m[1]), UUID: m[3]}, checkUUID(id, m[3])
	case matchInto(residentTaskIDRe, id, &m):
		n := 0
		fmt.Sscan(m[5], &n)
		return ParsedTaskID{AppID: appIDFromSafe(m[1]), UUID: m[3], Incarnation: n}, checkUUID(id, m[3])
	case matchInto(legacyTaskIDRe, id, &m):
		return ParsedTaskID{AppID: appIDFromSafe(m[1]), UUID: m[3]}, checkUUID(id, m[3])
	}
	return ParsedTaskID{}, fmt.Errorf("task id %q: no valid identifier", id)
}

// AppIDFromTaskID returns the absolute app id a task id belongs to.
func AppIDFromTaskID(taskID string) (string, error) {
	p, err := ParseTaskID(taskID)
	if err != nil {
		return "", err
	}
	return p.AppID, nil
}

// AppIDFromInstanceID returns the app id of "<safe>.(instance|marathon)-<uuid>".
func AppIDFromInstanceID(instanceID string) (string, error) {
	var m []string
	if !matchInto(instanceIDRe, instanceID, &m) {
		return "", fmt.Errorf("instance id %q: no valid identifier", instanceID)
	}
	return appIDFromSafe(m[1]), checkUUID(instanceID, m[3])
}

func matchInto(re *regexp.Regexp, s string, m *[]string) bool {
	*m = re.FindStringSubmatch(s)
	return *m != nil
}

func appIDFromSafe(safe string) string {
	return "/" + strings.ReplaceAll(safe, "_", "/")
}

func checkUUID(id, u string) error {
	if _, err := uuid.Parse(u); err != nil {
		return fmt.Errorf("task id %q: %w", id, err)
	}
	return nil
}
