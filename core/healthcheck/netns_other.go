//go:build !linux

package healthcheck

import (
	"errors"
	"net"
)

func dialInNetNS(nsPath string, dial func() (net.Conn, error)) (net.Conn, error) {
	return nil, errors.New("probing from a network namespace is supported on Linux only")
}
