package recordio

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	records := []string{`{"type":"HEARTBEAT"}`, "x", strings.Repeat("y", 100000)}
	for _, r := range records {
		if err := Write(&buf, []byte(r)); err != nil {
			t.Fatal(err)
		}
	}
	rd := NewReader(&buf)
	for i, want := range records {
		got, err := rd.ReadRecord()
		if err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		if string(got) != want {
			t.Fatalf("record %d: got %d bytes want %d", i, len(got), len(want))
		}
	}
	if _, err := rd.ReadRecord(); err != io.EOF {
		t.Fatalf("want EOF, got %v", err)
	}
}

func TestMesosExample(t *testing.T) {
	rd := NewReader(strings.NewReader("20\n{\"type\":\"HEARTBEAT\"}5\nhello"))
	a, err := rd.ReadRecord()
	if err != nil || string(a) != `{"type":"HEARTBEAT"}` {
		t.Fatalf("got %q %v", a, err)
	}
	b, err := rd.ReadRecord()
	if err != nil || string(b) != "hello" {
		t.Fatalf("got %q %v", b, err)
	}
}

func TestBadInput(t *testing.T) {
	for _, in := range []string{"x\n", "\n", "5\nab", "99999999999999999999999\n", "12"} {
		_, err := NewReader(strings.NewReader(in)).ReadRecord()
		if err == nil || err == io.EOF {
			t.Errorf("%q: want error, got %v", in, err)
		}
	}
	_, err := NewReader(strings.NewReader("999999999\n")).ReadRecord()
	if !errors.Is(err, ErrRecordTooLarge) {
		t.Errorf("want ErrRecordTooLarge, got %v", err)
	}
}

func FuzzReader(f *testing.F) {
	f.Add([]byte("20\n{\"type\":\"HEARTBEAT\"}"))
	f.Add([]byte("3\nabc1\nd"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rd := NewReader(bytes.NewReader(data))
		for i := 0; i < 100; i++ {
			if _, err := rd.ReadRecord(); err != nil {
				return
			}
		}
	})
}
