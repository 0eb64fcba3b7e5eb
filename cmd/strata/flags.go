package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// applyEnv fills every flag the user did not set from STRATA_<FLAG> (flag
// name upper-cased, '-' as '_'), so that `--work_dir` can also come from
// STRATA_WORK_DIR. A bad value names the variable.
func applyEnv(cmd *cobra.Command) error {
	var err error
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if err != nil || f.Changed {
			return
		}
		name := "STRATA_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v, ok := os.LookupEnv(name); ok {
			if e := cmd.Flags().Set(f.Name, v); e != nil {
				err = fmt.Errorf("environment variable %s=%q: %w", name, v, e)
			}
		}
	})
	return err
}

// mesosDuration is a flag value accepting Mesos' forms ("15secs", "1mins",
// "2hrs", "1weeks", "100ms") and Go's ("15s", "1m30s").
type mesosDuration struct{ d *time.Duration }

func (m mesosDuration) String() string {
	if m.d == nil {
		return ""
	}
	return m.d.String()
}
func (m mesosDuration) Type() string { return "duration" }
func (m mesosDuration) Set(s string) error {
	d, err := parseDuration(s)
	if err != nil {
		return err
	}
	*m.d = d
	return nil
}

func durationFlag(fs *pflag.FlagSet, p *time.Duration, name string, def time.Duration, usage string) {
	*p = def
	fs.Var(mesosDuration{p}, name, usage)
}

// parseDuration parses Mesos and Go duration strings.
func parseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if d, err := time.ParseDuration(s); err == nil {
		return d, nil
	}
	units := []struct {
		suffix string
		d      time.Duration
	}{
		{"weeks", 7 * 24 * time.Hour}, {"days", 24 * time.Hour}, {"hrs", time.Hour},
		{"mins", time.Minute}, {"secs", time.Second}, {"ms", time.Millisecond},
		{"us", time.Microsecond}, {"ns", time.Nanosecond},
	}
	for _, u := range units {
		if num, ok := strings.CutSuffix(s, u.suffix); ok {
			v, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
			if err != nil || v < 0 {
				break
			}
			return time.Duration(v * float64(u.d)), nil
		}
	}
	return 0, fmt.Errorf("invalid duration %q: expected e.g. 15secs, 1mins, 2hrs, 1weeks or 15s", s)
}

// parseWeights parses --weights "role1=2,role2=3.5".
func parseWeights(s string) (map[string]float64, error) {
	out := map[string]float64{}
	if strings.TrimSpace(s) == "" {
		return out, nil
	}
	for _, part := range strings.Split(s, ",") {
		role, w, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return nil, fmt.Errorf("--weights: %q is not role=weight (e.g. --weights=eng=2,ads=1.5)", part)
		}
		v, err := strconv.ParseFloat(w, 64)
		if err != nil || v <= 0 {
			return nil, fmt.Errorf("--weights: weight %q of role %q must be a positive number", w, role)
		}
		out[role] = v
	}
	return out, nil
}

// defaultStateDir is where roles keep their work dirs when --work_dir is not
// given: $XDG_STATE_HOME/strata, ~/.local/state/strata, or /var/lib/strata as root.
func defaultStateDir() string {
	if d := os.Getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "strata")
	}
	if os.Geteuid() == 0 {
		return "/var/lib/strata"
	}
	if h, err := os.UserHomeDir(); err == nil {
		return filepath.Join(h, ".local", "state", "strata")
	}
	return filepath.Join(os.TempDir(), "strata")
}

// flagMap records every flag's effective value for /master/flags.
func flagMap(cmd *cobra.Command) map[string]string {
	out := map[string]string{}
	cmd.Flags().VisitAll(func(f *pflag.Flag) { out[f.Name] = f.Value.String() })
	return out
}

// currentUser is the name frameworks started by the CLI run their tasks as.
func currentUser() string {
	if u := os.Getenv("USER"); u != "" {
		return u
	}
	if os.Geteuid() == 0 {
		return "root"
	}
	return "nobody"
}
