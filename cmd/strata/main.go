// Command strata runs every role of a Strata cluster — master, agent, the
// built-in frameworks, the whole system at once (dev) — and the operator tools.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
)

// version is the Strata version reported by every role. A release build
// (or a test that needs two distinct binaries) sets it at link time:
// go build -ldflags "-X main.version=0.2.0" ./cmd/strata. Nothing assigns
// it at run time.
var version = "0.1.0"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := newRoot().ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "strata:", err)
		os.Exit(1)
	}
}

func newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:           "strata",
		Short:         "Strata: a datacenter scheduler (Mesos, Marathon, Chronos, Aurora in one binary)",
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       version,
	}
	root.AddCommand(newDevCmd(), newMasterCmd(), newAgentCmd(), newMarathonCmd())
	root.AddCommand(newStateCmd(), newPsCmd(), newCatCmd(), newTailCmd(), newBenchCmd(), newSimAgentsCmd(), newMaintenanceCmd())
	return root
}

// newLogger returns a text logger at the given level and its level switch.
func newLogger(level string) (*slog.Logger, *slog.LevelVar, error) {
	lv := new(slog.LevelVar)
	switch strings.ToLower(level) {
	case "debug":
		lv.Set(slog.LevelDebug)
	case "info", "":
		lv.Set(slog.LevelInfo)
	case "warn", "warning":
		lv.Set(slog.LevelWarn)
	case "error":
		lv.Set(slog.LevelError)
	default:
		return nil, nil, fmt.Errorf("--log_level %q: expected debug, info, warn or error", level)
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: lv})), lv, nil
}
