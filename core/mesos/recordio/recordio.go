// Package recordio reads and writes Mesos RecordIO streams:
// records = *record; record = record-size LF record-data, where record-size
// is the decimal byte length of record-data.
package recordio

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// MaxRecordSize bounds one record (a full master state can be large).
const MaxRecordSize = 256 << 20

// ErrRecordTooLarge is returned for a record-size above the reader's limit.
var ErrRecordTooLarge = errors.New("recordio: record too large")

// Reader reads records from a stream.
type Reader struct {
	br  *bufio.Reader
	max int
}

// NewReader returns a Reader with the default size limit.
func NewReader(r io.Reader) *Reader {
	return &Reader{br: bufio.NewReaderSize(r, 64<<10), max: MaxRecordSize}
}

// ReadRecord returns the next record's data, or io.EOF at a clean end.
func (r *Reader) ReadRecord() ([]byte, error) {
	var n uint64
	digits := 0
	for {
		c, err := r.br.ReadByte()
		if err != nil {
			if err == io.EOF && digits > 0 {
				return nil, io.ErrUnexpectedEOF
			}
			return nil, err
		}
		if c == '\n' {
			break
		}
		if c < '0' || c > '9' || digits > 19 {
			return nil, fmt.Errorf("recordio: bad record-size byte %q", c)
		}
		n = n*10 + uint64(c-'0')
		digits++
	}
	if digits == 0 {
		return nil, fmt.Errorf("recordio: empty record-size")
	}
	if n > uint64(r.max) {
		return nil, fmt.Errorf("%w: %d bytes", ErrRecordTooLarge, n)
	}
	buf := make([]byte, n)
	if _, err := io.ReadFull(r.br, buf); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("recordio: reading %d-byte record: %w", n, err)
	}
	return buf, nil
}

// Frame returns data framed as one record.
func Frame(data []byte) []byte {
	out := make([]byte, 0, len(data)+12)
	out = strconv.AppendInt(out, int64(len(data)), 10)
	out = append(out, '\n')
	return append(out, data...)
}

// Write writes one record to w.
func Write(w io.Writer, data []byte) error {
	_, err := w.Write(Frame(data))
	return err
}
