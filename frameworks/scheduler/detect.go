package scheduler

import (
	"context"
	"fmt"
	"net/url"
	"time"

	"github.com/strata-sched/strata/core/mesos"
	"github.com/strata-sched/strata/core/store"
)

// detectLeader reads the leading master's MasterInfo from ZooKeeper (the
// Mesos layout: the lowest json.info_<seq> node under the zk:// path) and
// returns its scheduler API endpoint. The ZooKeeper session lives only for
// the lookup: a scheduler needs the leader when it (re-)subscribes, and
// follows 307 redirects otherwise.
func (c *Client) detectLeader(ctx context.Context) (*url.URL, error) {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	zk, err := store.OpenZK(ctx, c.cfg.Master, store.ZKOptions{}, c.log)
	if err != nil {
		return nil, err
	}
	defer zk.Close()
	b, err := zk.Elector("").Leader(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading the leading master: %w", err)
	}
	info, err := mesos.ParseMasterInfo(b)
	if err != nil {
		return nil, err
	}
	return parseEndpoint(info.HostPort(), nil)
}
