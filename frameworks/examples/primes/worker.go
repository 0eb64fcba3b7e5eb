package primes

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// Work counts the primes in r, writes the count to out and, if resultURL
// is set, POSTs a Report for taskID to it, retrying a few times. It is
// what "primes count" runs inside a task.
func Work(ctx context.Context, r Range, resultURL, taskID string, out io.Writer, client *http.Client) error {
	n := Count(r.From, r.To)
	if _, err := fmt.Fprintln(out, n); err != nil {
		return fmt.Errorf("writing the count: %w", err)
	}
	if resultURL == "" {
		return nil
	}
	body, err := json.Marshal(Report{TaskID: taskID, From: r.From, To: r.To, Count: n})
	if err != nil {
		return err
	}
	var lastErr error
	for attempt := range 5 {
		if attempt > 0 {
			t := time.NewTimer(time.Duration(attempt) * 200 * time.Millisecond)
			select {
			case <-ctx.Done():
				t.Stop()
				return ctx.Err()
			case <-t.C:
			}
		}
		if lastErr = post(ctx, client, resultURL, body); lastErr == nil {
			return nil
		}
	}
	return fmt.Errorf("reporting the count to %s: %w", resultURL, lastErr)
}

func post(ctx context.Context, client *http.Client, url string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
		return fmt.Errorf("framework replied %d: %s", resp.StatusCode, bytes.TrimSpace(b))
	}
	return nil
}
