package containerizer

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

const (
	// dockerLogsFile, in RunDir, records how far the container's logs have
	// been copied into the sandbox (a logPosition).
	dockerLogsFile = "docker_logs.json"
	// dockerLogsSaveEvery bounds how often the position is saved while
	// messages flow; it is always saved when the stream ends.
	dockerLogsSaveEvery = time.Second
	// dockerLogsMargin is how far before the newest message already copied
	// a resumed stream starts: stdout and stderr are stamped by two
	// goroutines of the engine, so across streams the engine's log file is
	// ordered by time only up to scheduling delays.
	dockerLogsMargin = time.Second
	// dockerMaxFrame bounds one multiplexed frame (the engine splits
	// messages at 16 KiB; the timestamp adds a few bytes).
	dockerMaxFrame = 1 << 20
)

// logStreamPos is how far one stream has been copied: Size bytes of the
// sandbox file are accounted for, the newest message copied carried the
// timestamp TS (Unix nanoseconds, 0 for none yet) and N messages with
// exactly that timestamp have been copied (the parts of a long line share
// the first part's timestamp).
type logStreamPos struct {
	Size int64 `json:"size"`
	TS   int64 `json:"ts"`
	N    int   `json:"n"`
}

// logPosition is the content of dockerLogsFile.
type logPosition struct {
	// Seen is the newest timestamp copied from either stream.
	Seen   int64        `json:"seen"`
	Stdout logStreamPos `json:"stdout"`
	Stderr logStreamPos `json:"stderr"`
}

// since is the "since" parameter a resumed stream starts from.
func (p logPosition) since() string {
	if p.Seen == 0 {
		return ""
	}
	s := max(p.Seen-int64(dockerLogsMargin), 1)
	return strconv.FormatInt(s/1e9, 10) + "." + fmt.Sprintf("%09d", s%1e9)
}

func readLogPosition(runDir string) (logPosition, bool, error) {
	b, err := os.ReadFile(filepath.Join(runDir, dockerLogsFile))
	if errors.Is(err, fs.ErrNotExist) {
		return logPosition{}, false, nil
	}
	if err != nil {
		return logPosition{}, false, err
	}
	var p logPosition
	if err := json.Unmarshal(b, &p); err != nil {
		return logPosition{}, false, fmt.Errorf("parse %s: %w", dockerLogsFile, err)
	}
	return p, true, nil
}

func writeLogPosition(runDir string, p logPosition) error {
	b, err := json.Marshal(p)
	if err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(runDir, dockerLogsFile), b)
}

// writeFileAtomic replaces path with data through a temporary file and a
// rename, so that a reader (or an agent restarting after a crash) sees the
// old or the new content, never a mix.
func writeFileAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// errLogsUnsupported: the container's log driver cannot be read back.
var errLogsUnsupported = errors.New("the container's log driver does not support reading")

// logPump copies a container's logs into <sandbox>/stdout and
// <sandbox>/stderr, exactly once across agent restarts.
//
// The engine keeps the logs (json-file or local driver) and serves them with
// a timestamp per message, so the pump never needs to have been running
// when a message was written. Its position (logPosition) is saved in RunDir
// at most once a second. A pump that starts, fresh or after a restart,
// first truncates each sandbox file back to the size the saved position
// accounts for, then asks for the messages since shortly before the newest
// one copied and skips, per stream, those at or before that stream's
// position. Bytes written after the last save are thus written again
// rather than duplicated, and nothing is lost as long as the engine still
// has the logs. The sandbox files must not be written by anyone else while
// the container runs.
type logPump struct {
	api      *dockerAPI
	dockerID string
	sandbox  string
	runDir   string
	logger   *slog.Logger

	pos   logPosition
	saved time.Time // when pos was last saved; zero = never
}

// run copies until the stream ends or fails. With follow, the stream ends
// when the container has stopped; without, at the end of what the engine
// has now. The engine may end a followed stream before the last message
// (a line without a newline, flushed when the container's output closes)
// is in its log, so once the container has stopped the monitor copies once
// more without follow.
func (p *logPump) run(ctx context.Context, follow bool) (err error) {
	files := [2]*os.File{}
	for i, name := range []string{"stdout", "stderr"} {
		f, err := openLogFile(filepath.Join(p.sandbox, name), &p.streamPos(i+1).Size)
		if err != nil {
			return err
		}
		defer f.Close()
		files[i] = f
	}
	defer func() {
		if serr := p.save(); serr != nil {
			p.logger.Warn("saving the log position failed", "err", serr)
		}
	}()

	body, err := p.api.logs(ctx, p.dockerID, p.pos.since(), follow)
	if err != nil {
		if st := dockerStatus(err); st == 501 || (st >= 400 && st < 500 && st != 404) {
			return fmt.Errorf("%w: %w", errLogsUnsupported, err)
		}
		return err
	}
	defer body.Close()
	return p.copy(bufio.NewReaderSize(body, 32<<10), files)
}

// streamPos returns the position of stream 1 (stdout) or 2 (stderr).
func (p *logPump) streamPos(stream int) *logStreamPos {
	if stream == 1 {
		return &p.pos.Stdout
	}
	return &p.pos.Stderr
}

// openLogFile opens a sandbox log file for appending and makes it *size
// bytes long: longer files are truncated (those bytes are about to be copied
// again); a shorter one was truncated by someone else and is appended to.
func openLogFile(path string, size *int64) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	switch {
	case st.Size() > *size:
		if err := f.Truncate(*size); err != nil {
			f.Close()
			return nil, err
		}
	case st.Size() < *size:
		*size = st.Size()
	}
	return f, nil
}

// copy reads multiplexed frames ([stream, 0, 0, 0, size uint32 BE] then
// "<RFC3339Nano timestamp> <message>") and appends new messages to files.
func (p *logPump) copy(r io.Reader, files [2]*os.File) error {
	var hdr [8]byte
	var buf []byte
	replayed := [3]int{} // per stream: messages seen at exactly its pos.TS
	for {
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("reading logs: %w", err)
		}
		stream := int(hdr[0])
		n := binary.BigEndian.Uint32(hdr[4:])
		if n > dockerMaxFrame {
			return fmt.Errorf("reading logs: frame of %d bytes", n)
		}
		buf = growBuf(buf, int(n))
		if _, err := io.ReadFull(r, buf); err != nil {
			return fmt.Errorf("reading logs: %w", err)
		}
		switch stream {
		case 1, 2:
		case 3: // the engine's own error, at the end of the stream
			return fmt.Errorf("reading logs: %s", bytes.TrimSpace(buf))
		default:
			continue
		}
		ts, msg := splitLogTimestamp(buf)
		sp := p.streamPos(stream)
		switch {
		case ts == 0:
			// No timestamp (not expected): copy, cannot deduplicate.
		case ts < sp.TS:
			continue
		case ts == sp.TS:
			replayed[stream]++
			if replayed[stream] <= sp.N {
				continue
			}
			sp.N++
		default:
			sp.TS, sp.N = ts, 1
			replayed[stream] = 1
		}
		w, err := files[stream-1].Write(msg)
		sp.Size += int64(w)
		if err != nil {
			return fmt.Errorf("writing %s: %w", files[stream-1].Name(), err)
		}
		p.pos.Seen = max(p.pos.Seen, ts)
		if time.Since(p.saved) >= dockerLogsSaveEvery {
			if err := p.save(); err != nil {
				p.logger.Warn("saving the log position failed", "err", err)
			}
		}
	}
}

// growBuf returns b resized to n bytes, reusing its array if it can.
func growBuf(b []byte, n int) []byte {
	if cap(b) >= n {
		return b[:n]
	}
	return make([]byte, n)
}

// splitLogTimestamp splits "<timestamp> <message>" and returns the
// timestamp in Unix nanoseconds (0 if there is none).
func splitLogTimestamp(frame []byte) (int64, []byte) {
	i := bytes.IndexByte(frame, ' ')
	if i <= 0 {
		return 0, frame
	}
	t, err := time.Parse(time.RFC3339Nano, string(frame[:i]))
	if err != nil {
		return 0, frame
	}
	return t.UnixNano(), frame[i+1:]
}

func (p *logPump) save() error {
	p.saved = time.Now()
	return writeLogPosition(p.runDir, p.pos)
}
