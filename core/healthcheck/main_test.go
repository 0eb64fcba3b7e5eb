package healthcheck_test

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"os"
	"testing"
)

// helperAddrEnv makes the test binary a helper process that serves HTTP on
// the given address (used from inside a network namespace).
const helperAddrEnv = "STRATA_HC_TEST_HELPER_ADDR"

func TestMain(m *testing.M) {
	if addr := os.Getenv(helperAddrEnv); addr != "" {
		os.Exit(serveHelper(addr))
	}
	os.Exit(m.Run())
}

// serveHelper listens on addr, prints "ready" and serves until its stdin
// closes (the parent test ended or died).
func serveHelper(addr string) int {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	go http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "ok from the namespace")
	}))
	fmt.Println("ready")
	bufio.NewReader(os.Stdin).ReadString('\n')
	return 0
}
