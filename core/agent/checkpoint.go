package agent

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// writeFileAtomic writes data to path through a temporary file in the same
// directory: write, fsync, rename, fsync the directory. Readers see the old
// or the new content, never a torn one. It is for rare checkpoints; the
// launch path stages its files and waits at one journal barrier instead.
func writeFileAtomic(path string, data []byte) error {
	if err := writeFile(path, data, true); err != nil {
		return err
	}
	return syncDir(filepath.Dir(path))
}

// stageFile writes data to path atomically (temporary file and rename)
// without fsync: it is durable after the next journal sync (barrier).
func stageFile(path string, data []byte) error { return writeFile(path, data, false) }

// stageJSON stages v as JSON.
func stageJSON(path string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("checkpoint %s: %w", path, err)
	}
	return stageFile(path, data)
}

func writeFile(path string, data []byte, fsync bool) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if isNotExist(err) {
		if err = os.MkdirAll(dir, 0o755); err == nil {
			f, err = os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
		}
	}
	if err != nil {
		return fmt.Errorf("checkpoint %s: %w", path, err)
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil && fsync {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("checkpoint %s: %w", path, err)
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}

// writeJSONAtomic checkpoints v as JSON.
func writeJSONAtomic(path string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("checkpoint %s: %w", path, err)
	}
	return writeFileAtomic(path, data)
}

// readJSON reads a checkpointed JSON file into v.
func readJSON(path string, v any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	return nil
}

// setLatest points dir/latest at target (a sibling name) atomically and
// durably.
func setLatest(dir, target string) error {
	if err := stageLatest(dir, target); err != nil {
		return err
	}
	return syncDir(dir)
}

// stageLatest points dir/latest at target atomically; it is durable after
// the next journal sync. dir must exist.
func stageLatest(dir, target string) error {
	tmp := filepath.Join(dir, ".latest.tmp"+strconv.FormatInt(time.Now().UnixNano(), 36))
	if err := os.Symlink(target, tmp); err != nil {
		return fmt.Errorf("latest symlink in %s: %w", dir, err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, latestLink)); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("latest symlink in %s: %w", dir, err)
	}
	return nil
}

// readLatest returns the target of dir/latest, or "" if there is none.
func readLatest(dir string) string {
	t, err := os.Readlink(filepath.Join(dir, latestLink))
	if err != nil {
		return ""
	}
	return filepath.Base(t)
}

// listDirs returns the names of the subdirectories of dir (not symlinks);
// a missing dir has none.
func listDirs(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if e.IsDir() {
			out = append(out, e.Name())
		}
	}
	return out, nil
}

// recordLine encodes one record of an append-only log (task.updates) as a
// JSON line. A torn last line (a crash mid-append) is skipped by
// readRecords, as Mesos skips a truncated last record.
func recordLine(v any) ([]byte, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode record: %w", err)
	}
	return append(data, '\n'), nil
}

// readRecords decodes the JSON lines of path into values made by newRec,
// calling fn for each. A final line without a newline or that fails to
// decode is treated as torn and ignored; a bad line before the end is an error.
func readRecords[T any](path string, fn func(T) error) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64<<10), 64<<20)
	var lines [][]byte
	for sc.Scan() {
		lines = append(lines, bytes.Clone(sc.Bytes()))
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	complete := len(data) > 0 && data[len(data)-1] == '\n'
	for i, line := range lines {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var rec T
		if err := json.Unmarshal(line, &rec); err != nil {
			if i == len(lines)-1 {
				break // torn tail
			}
			return fmt.Errorf("read %s: record %d: %w", path, i+1, err)
		}
		if i == len(lines)-1 && !complete {
			break // torn tail that happened to parse: not durable, drop it
		}
		if err := fn(rec); err != nil {
			return err
		}
	}
	return nil
}

func isNotExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }
