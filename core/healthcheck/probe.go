package healthcheck

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"syscall"

	"github.com/strata-sched/strata/core/mesos"
)

// Target says where and how to probe a task.
type Target struct {
	Host  string // address to probe (default 127.0.0.1, or ::1 for an IPv6 check)
	NetNS string // path of a network namespace to probe from ("" = the agent's); e.g. /proc/<pid>/ns/net of a BRIDGE container
	// RunCommand runs a COMMAND check next to the task (in its sandbox, env,
	// user, namespaces); it returns the exit code. Required for COMMAND
	// checks. It must return soon after ctx is done (killing the command):
	// the checker waits for it.
	RunCommand func(ctx context.Context, cmd mesos.CommandInfo) (exitCode int, err error)
}

type dialFunc func(ctx context.Context, network, addr string) (net.Conn, error)

// prober performs single probes against a Target.
type prober struct {
	target    Target
	dial      dialFunc
	transport *http.Transport
	client    *http.Client
}

func newProber(t Target) *prober {
	p := &prober{target: t}
	if t.NetNS == "" {
		p.dial = (&net.Dialer{}).DialContext
	} else {
		// No fast fallback: its racing dials run on other goroutines,
		// which are not in the namespace.
		d := &net.Dialer{FallbackDelay: -1}
		p.dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
			return dialInNetNS(t.NetNS, func() (net.Conn, error) { return d.DialContext(ctx, network, addr) })
		}
	}
	p.transport = &http.Transport{
		Proxy:             nil, // probes go to the task, never through a proxy
		DialContext:       p.dial,
		TLSClientConfig:   &tls.Config{InsecureSkipVerify: true}, // as curl -k in Mesos
		DisableKeepAlives: true,                                  // every probe opens its own connection
	}
	p.client = &http.Client{Transport: p.transport} // follows up to 10 redirects
	return p
}

func (p *prober) close() { p.transport.CloseIdleConnections() }

// host returns the address to probe for a check whose protocol is
// "IPv4" (default) or "IPv6".
func (p *prober) host(protocol string) string {
	if p.target.Host != "" {
		return p.target.Host
	}
	if strings.EqualFold(protocol, "IPv6") {
		return "::1"
	}
	return "127.0.0.1"
}

// httpGet returns the final status of GET url.
func (p *prober) httpGet(ctx context.Context, u string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("User-Agent", "strata-health-check")
	resp, err := p.client.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	return resp.StatusCode, nil
}

func (p *prober) tcpConnect(ctx context.Context, addr string) error {
	c, err := p.dial(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	return c.Close()
}

func (p *prober) runCommand(ctx context.Context, cmd *mesos.CommandInfo) (int, error) {
	if p.target.RunCommand == nil {
		return 0, errors.New("no command runner for COMMAND checks")
	}
	if cmd == nil {
		return 0, errors.New("no command")
	}
	return p.target.RunCommand(ctx, *cmd)
}

func httpURL(scheme, host string, port uint32, path string) string {
	if scheme == "" {
		scheme = "http"
	}
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	u := url.URL{Scheme: strings.ToLower(scheme), Host: net.JoinHostPort(host, strconv.FormatUint(uint64(port), 10))}
	return u.String() + path
}

// healthProbe returns the probe of hc and the label used in its messages.
func (p *prober) healthProbe(hc *mesos.HealthCheck) (label string, probe func(context.Context) (bool, string)) {
	if err := ValidateHealthCheck(*hc); err != nil {
		return "Health check", func(context.Context) (bool, string) { return false, err.Error() }
	}
	switch typ := healthType(hc); typ {
	case TypeHTTP:
		h := hc.HTTP
		u := httpURL(h.Scheme, p.host(h.Protocol), h.Port, h.Path)
		return "HTTP health check", func(ctx context.Context) (bool, string) {
			code, err := p.httpGet(ctx, u)
			switch {
			case err != nil:
				return false, "HTTP health check failed: " + describe(err)
			case code < 200 || code > 399:
				return false, fmt.Sprintf("HTTP health check failed: unexpected HTTP status %d %s", code, http.StatusText(code))
			}
			return true, fmt.Sprintf("HTTP health check passed: %d %s", code, http.StatusText(code))
		}
	case TypeTCP:
		addr := net.JoinHostPort(p.host(hc.TCP.Protocol), strconv.FormatUint(uint64(hc.TCP.Port), 10))
		return "TCP health check", func(ctx context.Context) (bool, string) {
			if err := p.tcpConnect(ctx, addr); err != nil {
				return false, "TCP health check failed: " + describe(err)
			}
			return true, "TCP health check passed"
		}
	default: // COMMAND
		return "COMMAND health check", func(ctx context.Context) (bool, string) {
			code, err := p.runCommand(ctx, hc.Command)
			switch {
			case err != nil:
				return false, "COMMAND health check failed: " + describe(err)
			case code != 0:
				return false, fmt.Sprintf("COMMAND health check failed: command exited with status %d", code)
			}
			return true, "COMMAND health check passed"
		}
	}
}

// checkProbe returns the probe of ci and its type. A probe that fails to
// complete returns the type with no result, as Mesos does.
func (p *prober) checkProbe(ci *mesos.CheckInfo) (typ string, probe func(context.Context) mesos.CheckStatusInfo) {
	typ = strings.ToUpper(ci.Type)
	if err := ValidateCheck(*ci); err != nil {
		return typ, func(context.Context) mesos.CheckStatusInfo { return emptyCheckStatus(typ) }
	}
	switch typ {
	case TypeHTTP:
		u := httpURL("http", p.host(""), ci.HTTP.Port, ci.HTTP.Path)
		return typ, func(ctx context.Context) mesos.CheckStatusInfo {
			st := emptyCheckStatus(typ)
			if code, err := p.httpGet(ctx, u); err == nil {
				c := uint32(code)
				st.HTTP.StatusCode = &c
			}
			return st
		}
	case TypeTCP:
		addr := net.JoinHostPort(p.host(""), strconv.FormatUint(uint64(ci.TCP.Port), 10))
		return typ, func(ctx context.Context) mesos.CheckStatusInfo {
			st := emptyCheckStatus(typ)
			err := p.tcpConnect(ctx, addr)
			if ctx.Err() == nil { // a timeout is no result; a refusal is a result
				ok := err == nil
				st.TCP.Succeeded = &ok
			}
			return st
		}
	default: // COMMAND
		return typ, func(ctx context.Context) mesos.CheckStatusInfo {
			st := emptyCheckStatus(typ)
			if code, err := p.runCommand(ctx, ci.Command.Command); err == nil && ctx.Err() == nil {
				c := int32(code)
				st.Command.ExitCode = &c
			}
			return st
		}
	}
}

// emptyCheckStatus is a check status of typ without a result.
func emptyCheckStatus(typ string) mesos.CheckStatusInfo {
	st := mesos.CheckStatusInfo{Type: typ}
	switch typ {
	case TypeCommand:
		st.Command = &struct {
			ExitCode *int32 `json:"exit_code,omitempty"`
		}{}
	case TypeHTTP:
		st.HTTP = &struct {
			StatusCode *uint32 `json:"status_code,omitempty"`
		}{}
	case TypeTCP:
		st.TCP = &struct {
			Succeeded *bool `json:"succeeded,omitempty"`
		}{}
	}
	return st
}

// describe shortens network errors to their cause ("connection refused")
// and keeps other errors whole.
func describe(err error) string {
	var op *net.OpError
	if errors.As(err, &op) {
		var errno syscall.Errno
		if errors.As(op.Err, &errno) {
			return errno.Error()
		}
		return op.Err.Error()
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return err.Error()
}
