package readlimit

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// spyReader reads from r and remembers every buffer it was given (up to its
// capacity, so to the end of the backing array), so a test can look at them
// after ReadAll has dropped them.
type spyReader struct {
	r    io.Reader
	bufs [][]byte
	read int
}

func (s *spyReader) Read(p []byte) (int, error) {
	s.bufs = append(s.bufs, p[:cap(p)])
	n, err := s.r.Read(p)
	s.read += n
	return n, err
}

// leftovers counts the non-zero bytes in the buffers ReadAll was given,
// apart from the one backing keep.
func (s *spyReader) leftovers(keep []byte) int {
	n := 0
	for _, b := range s.bufs {
		if sameArray(b, keep) {
			continue
		}
		for _, c := range b {
			if c != 0 {
				n++
			}
		}
	}
	return n
}

// sameArray reports whether a and b end at the same place: whether they
// share a backing array, for slices that run to its end.
func sameArray(a, b []byte) bool {
	a, b = a[:cap(a)], b[:cap(b)]
	return len(a) > 0 && len(b) > 0 && &a[len(a)-1] == &b[len(b)-1]
}

func TestReadAllReturnsAtMostMaxBytesAndWipesWhatItDrops(t *testing.T) {
	tests := []struct {
		name        string
		input       string
		max, expect int
		oneByte     bool
		wantErr     error
	}{
		{"empty", "", 10, 0, false, nil},
		{"short", "sk-secret", 10, 0, false, nil},
		{"exactly max", "0123456789", 10, 0, false, nil},
		{"one byte over", "0123456789a", 10, 0, false, ErrTooLarge},
		{"zero max, empty", "", 0, 0, false, nil},
		{"zero max, one byte", "x", 0, 0, false, ErrTooLarge},
		{"grows many times", strings.Repeat("s", 100_000), 100_000, 0, false, nil},
		{"grows then over", strings.Repeat("s", 100_001), 100_000, 0, false, ErrTooLarge},
		{"one byte per read", strings.Repeat("s", 9000), 9000, 0, true, nil},
		{"expected size", strings.Repeat("s", 9000), 1 << 20, 9000, false, nil},
		{"expect above max", strings.Repeat("s", 9000), 9000, 1 << 30, false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r io.Reader = strings.NewReader(tt.input)
			if tt.oneByte {
				r = iotest.OneByteReader(r)
			}
			spy := &spyReader{r: r}
			got, err := ReadAll(spy, tt.max, tt.expect)
			if err != tt.wantErr {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if err == nil && string(got) != tt.input {
				t.Fatalf("read %d bytes, want the %d of the input", len(got), len(tt.input))
			}
			if err != nil && got != nil {
				t.Fatalf("returned %d bytes with the error", len(got))
			}
			if spy.read > tt.max+1 {
				t.Errorf("read %d bytes from the reader, more than max+1 = %d", spy.read, tt.max+1)
			}
			if n := spy.leftovers(got); n != 0 {
				t.Errorf("%d bytes of the input are left in buffers ReadAll dropped", n)
			}
		})
	}
}

func TestReadAllReadsAnExpectedSizeIntoOneBuffer(t *testing.T) {
	spy := &spyReader{r: strings.NewReader(strings.Repeat("s", 9000))}
	if _, err := ReadAll(spy, 1<<20, 9000); err != nil {
		t.Fatal(err)
	}
	for _, b := range spy.bufs {
		if !sameArray(b, spy.bufs[0]) {
			t.Fatalf("ReadAll grew its buffer (%d reads, %d-byte first buffer) although the size was expected", len(spy.bufs), cap(spy.bufs[0]))
		}
	}
}

func TestReadAllWipesItsBufferWhenTheReaderFails(t *testing.T) {
	broken := errors.New("disk on fire")
	spy := &spyReader{r: io.MultiReader(strings.NewReader(strings.Repeat("s", 5000)), iotest.ErrReader(broken))}
	got, err := ReadAll(spy, 1<<20, 0)
	if !errors.Is(err, broken) || got != nil {
		t.Fatalf("ReadAll = %d bytes, %v; want nil and the reader's error", len(got), err)
	}
	if n := spy.leftovers(nil); n != 0 {
		t.Errorf("%d bytes of the input are left in ReadAll's buffers after the error", n)
	}
}

func TestReadAllRefusesANegativeLimit(t *testing.T) {
	if got, err := ReadAll(bytes.NewReader(nil), -1, 0); err == nil || got != nil {
		t.Fatalf("ReadAll with max -1 = %v, %v; want an error", got, err)
	}
}
