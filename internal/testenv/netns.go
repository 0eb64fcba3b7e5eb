package testenv

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net"
	"os/exec"
	"strings"
	"testing"

	"github.com/strata-sched/strata/internal/ci"
)

// NetNS is a network namespace joined to the root namespace by a veth
// pair with a private /30: HostIP on the root side, IP inside. A process
// started in it with Command reaches the root namespace (and is reached)
// only through that link, so cutting the link partitions it from
// everything else, as a network failure would.
type NetNS struct {
	Name   string // namespace name, for ip netns exec
	HostIf string // veth end in the root namespace
	NSIf   string // veth end inside the namespace
	HostIP string // address of HostIf
	IP     string // address of NSIf
}

// StartNetNS creates a namespace and its veth pair; both are removed at
// cleanup. Names and addresses are random, so tests in parallel packages
// do not collide. It needs root and iproute2 (skip locally, fail in CI).
func StartNetNS(t testing.TB) *NetNS {
	t.Helper()
	ci.RequireRoot(t, "network namespaces")
	if _, err := exec.LookPath("ip"); err != nil {
		ci.SkipOrFail(t, "network namespaces need ip (Debian package iproute2): %v", err)
	}
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	tag := hex.EncodeToString(b[:3])
	n := &NetNS{Name: "strata-" + tag, HostIf: "st" + tag + "h", NSIf: "st" + tag + "n"}
	base, err := freeSubnet(binary.BigEndian.Uint32(b[:]))
	if err != nil {
		t.Fatal(err)
	}
	n.HostIP, n.IP = ipv4(base+1), ipv4(base+2)
	if err := runIP("netns", "add", n.Name); err != nil {
		ci.SkipOrFail(t, "cannot create a network namespace: %v", err)
	}
	t.Cleanup(func() {
		_ = runIP("link", "del", n.HostIf) // also removes the peer
		_ = runIP("netns", "del", n.Name)
	})
	steps := [][]string{
		{"link", "add", n.HostIf, "type", "veth", "peer", "name", n.NSIf},
		{"link", "set", n.NSIf, "netns", n.Name},
		{"addr", "add", n.HostIP + "/30", "dev", n.HostIf},
		{"link", "set", n.HostIf, "up"},
		{"-n", n.Name, "addr", "add", n.IP + "/30", "dev", n.NSIf},
		{"-n", n.Name, "link", "set", n.NSIf, "up"},
		{"-n", n.Name, "link", "set", "lo", "up"},
	}
	for _, s := range steps {
		if err := runIP(s...); err != nil {
			t.Fatalf("setting up namespace %s: %v", n.Name, err)
		}
	}
	// Partition needs the blackhole queueing discipline (any kernel with
	// traffic control has it; netem and tc filters are often left out).
	if err := runTC("qdisc", "replace", "dev", n.HostIf, "root", "blackhole"); err != nil {
		ci.SkipOrFail(t, "cannot cut a link with a blackhole qdisc: %v", err)
	}
	if err := runTC("qdisc", "del", "dev", n.HostIf, "root"); err != nil {
		t.Fatal(err)
	}
	return n
}

// Exec returns the program and arguments that run bin with args inside
// the namespace (for StartProc). ip netns exec execs bin in place, so the
// process's pid is bin's and signals reach it directly.
func (n *NetNS) Exec(bin string, args ...string) (string, []string) {
	ip, err := exec.LookPath("ip")
	if err != nil {
		ip = "ip"
	}
	return ip, append([]string{"netns", "exec", n.Name, bin}, args...)
}

// Partition silently drops every packet both ways on the link (a
// blackhole queue on each veth end): connections stay open and sockets
// see no error, as when a switch or cable between two hosts fails.
func (n *NetNS) Partition(t testing.TB) {
	t.Helper()
	for _, args := range [][]string{
		{"qdisc", "replace", "dev", n.HostIf, "root", "blackhole"},
		{"-n", n.Name, "qdisc", "replace", "dev", n.NSIf, "root", "blackhole"},
	} {
		if err := runTC(args...); err != nil {
			t.Fatalf("partitioning namespace %s: %v", n.Name, err)
		}
	}
}

// Heal restores the link: the packets flow again.
func (n *NetNS) Heal(t testing.TB) {
	t.Helper()
	for _, args := range [][]string{
		{"qdisc", "del", "dev", n.HostIf, "root"},
		{"-n", n.Name, "qdisc", "del", "dev", n.NSIf, "root"},
	} {
		if err := runTC(args...); err != nil {
			t.Fatalf("healing namespace %s: %v", n.Name, err)
		}
	}
}

func runIP(args ...string) error {
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

func runTC(args ...string) error {
	out, err := exec.Command("tc", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("tc %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// freeSubnet picks a /30 in 10.128.0.0/9, starting from seed, that no
// interface of the root namespace overlaps; it returns its network address.
func freeSubnet(seed uint32) (uint32, error) {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return 0, fmt.Errorf("listing addresses: %w", err)
	}
	overlaps := func(base uint32) bool {
		sub := &net.IPNet{IP: net.ParseIP(ipv4(base)), Mask: net.CIDRMask(30, 32)}
		for _, a := range addrs {
			if ipn, ok := a.(*net.IPNet); ok && (ipn.Contains(sub.IP) || sub.Contains(ipn.IP)) {
				return true
			}
		}
		return false
	}
	for i := uint32(0); i < 64; i++ {
		base := 10<<24 | 1<<23 | ((seed+i*4)&(1<<23-1))&^3
		if !overlaps(base) {
			return base, nil
		}
	}
	return 0, fmt.Errorf("no free /30 in 10.128.0.0/9")
}

func ipv4(v uint32) string {
	return net.IPv4(byte(v>>24), byte(v>>16), byte(v>>8), byte(v)).String()
}
