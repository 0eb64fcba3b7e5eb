package state

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/strata-sched/strata/core/store"
)

// eventSubscribers is the stored list of HTTP callback URLs
// (/v2/eventSubscriptions), one key for all as in Marathon.
type eventSubscribers struct {
	CallbackURLs []string `json:"callbackUrls"`
}

func (r *Repo) subscribersKey() string { return r.prefix + "/event-subscribers" }

// EventSubscribers lists the registered callback URLs, sorted.
func (r *Repo) EventSubscribers(ctx context.Context) ([]string, error) {
	subs, _, err := r.readSubscribers(ctx)
	return subs.CallbackURLs, err
}

// AddEventSubscriber registers a callback URL; registering one twice
// changes nothing. added reports whether it was new.
func (r *Repo) AddEventSubscriber(ctx context.Context, url string) (added bool, err error) {
	err = r.updateSubscribers(ctx, func(urls []string) []string {
		i, found := slices.BinarySearch(urls, url)
		if found {
			return nil
		}
		added = true
		return slices.Insert(urls, i, url)
	})
	return added, err
}

// RemoveEventSubscriber unregisters a callback URL. removed reports
// whether it was registered.
func (r *Repo) RemoveEventSubscriber(ctx context.Context, url string) (removed bool, err error) {
	err = r.updateSubscribers(ctx, func(urls []string) []string {
		i, found := slices.BinarySearch(urls, url)
		if !found {
			return nil
		}
		removed = true
		return slices.Delete(urls, i, i+1)
	})
	return removed, err
}

func (r *Repo) readSubscribers(ctx context.Context) (eventSubscribers, uint64, error) {
	subs := eventSubscribers{CallbackURLs: []string{}}
	kv, err := r.st.Get(ctx, r.subscribersKey())
	if errors.Is(err, store.ErrNotFound) {
		return subs, 0, nil
	}
	if err != nil {
		return subs, 0, fmt.Errorf("state: reading event subscribers: %w", err)
	}
	if err := json.Unmarshal(kv.Value, &subs); err != nil {
		return subs, 0, fmt.Errorf("state: decoding event subscribers: %w", err)
	}
	if subs.CallbackURLs == nil {
		subs.CallbackURLs = []string{}
	}
	slices.Sort(subs.CallbackURLs)
	return subs, kv.Version, nil
}

// updateSubscribers applies change (nil result: nothing to write) with a
// compare-and-set, retrying on conflicts.
func (r *Repo) updateSubscribers(ctx context.Context, change func([]string) []string) error {
	for attempt := 0; ; attempt++ {
		subs, version, err := r.readSubscribers(ctx)
		if err != nil {
			return err
		}
		urls := change(slices.Clone(subs.CallbackURLs))
		if urls == nil {
			return nil
		}
		b, err := json.Marshal(eventSubscribers{CallbackURLs: urls})
		if err != nil {
			return fmt.Errorf("state: encoding event subscribers: %w", err)
		}
		_, err = r.st.Put(ctx, r.subscribersKey(), b, version)
		if errors.Is(err, store.ErrConflict) && attempt < 10 {
			continue
		}
		if err != nil {
			return fmt.Errorf("state: storing event subscribers: %w", err)
		}
		return nil
	}
}
