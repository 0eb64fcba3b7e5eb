//go:build linux

package containerizer

import (
	"fmt"
	"testing"
	"time"
)

func TestZZRace(t *testing.T) {
	p := NewPosix(nil)
	slow := 0
	var total time.Duration
	for i := 0; i < 200; i++ {
		dir := t.TempDir()
		cmd := "exec sleep 1000"
		if i%2 == 0 {
			cmd = "trap 'echo got-term; exit 0' TERM; while :; do sleep 0.1; done"
		}
		cp, err := p.Launch(t.Context(), Spec{ContainerID: fmt.Sprint(i), Sandbox: dir, RunDir: dir + "/run", Value: cmd, Shell: true, Env: []string{"PATH=/usr/bin:/bin"}})
		if err != nil {
			t.Fatal(err)
		}
		if i%4 >= 2 {
			time.Sleep(time.Duration(i%11) * 200 * time.Microsecond)
		}
		start := time.Now()
		p.Kill(t.Context(), cp.ContainerID, 2*time.Second)
		d := time.Since(start)
		total += d
		term, _ := p.Wait(t.Context(), cp.ContainerID)
		if d > time.Second {
			slow++
			t.Logf("slow %d %v %+v", i, d, term)
		}
		p.Destroy(t.Context(), cp.ContainerID)
	}
	t.Logf("slow %d/200, avg %v", slow, total/200)
}
