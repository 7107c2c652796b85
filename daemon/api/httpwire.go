package api

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"time"

	"github.com/palyra/palyra-vault/internal/readlimit"
)

// The client speaks the part of HTTP/1.1 (RFC 9112) that the daemon's
// server answers with, on one connection per request: it writes a request
// with a Content-Length and "Connection: close", and reads a status line,
// header fields, and a body delimited by Content-Length, by the chunked
// transfer coding, or by the end of the connection. Anything else is an
// error, never a guess. Every byte read passes through one buffer that is
// wiped when the exchange ends, since an answer may hold a secret.

const (
	// maxHeaderBytes bounds the status line and header fields of an answer.
	maxHeaderBytes = 64 << 10
	// maxChunkLine bounds one chunk-size line of a chunked body.
	maxChunkLine = 4 << 10
)

// errBadAnswer is wrapped by errors about an answer that is not the HTTP the
// daemon speaks.
var errBadAnswer = errors.New("malformed HTTP answer")

// exchange writes one request on conn and reads its answer, within ctx:
// its deadline becomes the connection's, and its cancellation interrupts a
// read or write in progress. The caller owns body and should wipe it.
func exchange(ctx context.Context, conn net.Conn, method, path string, reqBody []byte) (status int, body []byte, err error) {
	if d, ok := ctx.Deadline(); ok {
		if err := conn.SetDeadline(d); err != nil {
			return 0, nil, err
		}
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	var req bytes.Buffer
	req.Grow(160 + len(reqBody))
	req.WriteString(method + " " + path + " HTTP/1.1\r\nHost: palyra-daemon\r\nUser-Agent: palyra\r\nConnection: close\r\n")
	if reqBody != nil {
		req.WriteString("Content-Type: application/json\r\n")
	}
	req.WriteString("Content-Length: " + strconv.Itoa(len(reqBody)) + "\r\n\r\n")
	req.Write(reqBody)
	_, err = conn.Write(req.Bytes())
	clear(req.Bytes())
	if err != nil {
		return 0, nil, fmt.Errorf("sending the request: %w", err)
	}

	r := &wireReader{conn: conn}
	defer r.wipe()
	status, length, chunked, err := r.readHead()
	if err != nil {
		return 0, nil, err
	}
	switch {
	case chunked:
		body, err = r.readChunked()
	case length >= 0:
		if length > MaxResponseBytes {
			return status, nil, fmt.Errorf("the answer is larger than %d bytes", MaxResponseBytes)
		}
		body, err = readlimit.ReadAll(io.LimitReader(r, length), MaxResponseBytes, int(length))
		if err == nil && int64(len(body)) != length {
			clear(body)
			body, err = nil, fmt.Errorf("%w: the answer ended after %d of its %d bytes", errBadAnswer, len(body), length)
		}
	default:
		body, err = readlimit.ReadAll(r, MaxResponseBytes, 0)
	}
	if errors.Is(err, readlimit.ErrTooLarge) {
		err = fmt.Errorf("the answer is larger than %d bytes", MaxResponseBytes)
	}
	if err != nil {
		return status, nil, fmt.Errorf("reading the daemon's answer: %w", err)
	}
	return status, body, nil
}

// wireReader is a buffered reader over a connection whose buffer can be
// wiped (bufio.Reader's cannot).
type wireReader struct {
	conn net.Conn
	buf  [4096]byte
	r, w int
	err  error
}

func (r *wireReader) wipe() { clear(r.buf[:]) }

// fill reads more into the buffer, moving what is unread to its start.
func (r *wireReader) fill() error {
	if r.err != nil {
		return r.err
	}
	if r.r > 0 {
		n := copy(r.buf[:], r.buf[r.r:r.w])
		clear(r.buf[n:r.w])
		r.r, r.w = 0, n
	}
	n, err := r.conn.Read(r.buf[r.w:])
	r.w += n
	if err != nil && n == 0 {
		r.err = err
		return err
	}
	return nil
}

// Read implements io.Reader over what is buffered, then the connection.
func (r *wireReader) Read(p []byte) (int, error) {
	if r.r == r.w {
		if len(p) >= len(r.buf) { // large reads bypass the buffer
			if r.err != nil {
				return 0, r.err
			}
			return r.conn.Read(p)
		}
		if err := r.fill(); err != nil {
			return 0, err
		}
	}
	n := copy(p, r.buf[r.r:r.w])
	r.r += n
	return n, nil
}

// readLine returns the next line without its CRLF (a bare LF is accepted,
// as RFC 9112 allows), failing when it is longer than max bytes. The line
// aliases the buffer until the next read.
func (r *wireReader) readLine(max int) ([]byte, error) {
	for {
		if i := bytes.IndexByte(r.buf[r.r:r.w], '\n'); i >= 0 {
			line := bytes.TrimSuffix(r.buf[r.r:r.r+i], []byte{'\r'})
			r.r += i + 1
			if len(line) > max {
				return nil, fmt.Errorf("%w: a line longer than %d bytes", errBadAnswer, max)
			}
			return line, nil
		}
		if r.w-r.r > max+1 || r.w-r.r == len(r.buf) { // +1: room for the CR
			return nil, fmt.Errorf("%w: a line longer than %d bytes", errBadAnswer, min(max, len(r.buf)))
		}
		if err := r.fill(); err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
	}
}

// readHead reads the status line and the header fields. length is the
// Content-Length, or -1 when there is none.
func (r *wireReader) readHead() (status int, length int64, chunked bool, err error) {
	line, err := r.readLine(maxHeaderBytes)
	if err != nil {
		return 0, 0, false, fmt.Errorf("reading the daemon's answer: %w", err)
	}
	// HTTP/1.x SP 3DIGIT SP reason
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) || line[8] != ' ' {
		return 0, 0, false, fmt.Errorf("%w: no HTTP/1.x status line", errBadAnswer)
	}
	status, err = strconv.Atoi(string(line[9:12]))
	if err != nil || status < 100 || status > 599 {
		return 0, 0, false, fmt.Errorf("%w: a bad status code", errBadAnswer)
	}
	length = -1
	total := len(line)
	for {
		line, err := r.readLine(maxHeaderBytes)
		if err != nil {
			return 0, 0, false, fmt.Errorf("reading the daemon's answer: %w", err)
		}
		if len(line) == 0 {
			break
		}
		if total += len(line); total > maxHeaderBytes {
			return 0, 0, false, fmt.Errorf("%w: header fields longer than %d bytes", errBadAnswer, maxHeaderBytes)
		}
		name, value, ok := bytes.Cut(line, []byte{':'})
		if !ok {
			return 0, 0, false, fmt.Errorf("%w: a header line without a colon", errBadAnswer)
		}
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			n, err := strconv.ParseInt(string(value), 10, 64)
			if err != nil || n < 0 || (length >= 0 && n != length) {
				return 0, 0, false, fmt.Errorf("%w: a bad Content-Length", errBadAnswer)
			}
			length = n
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			if !bytes.EqualFold(value, []byte("chunked")) {
				return 0, 0, false, fmt.Errorf("%w: a transfer coding other than chunked", errBadAnswer)
			}
			chunked = true
		}
	}
	if status/100 == 1 {
		return 0, 0, false, fmt.Errorf("%w: an interim (1xx) answer", errBadAnswer)
	}
	return status, length, chunked, nil
}

// readChunked reads a body in the chunked transfer coding (RFC 9112,
// section 7.1): hexadecimal chunk sizes, extensions ignored, a last chunk
// of size 0, then trailer fields, which are read and dropped.
func (r *wireReader) readChunked() ([]byte, error) {
	var body []byte
	fail := func(err error) ([]byte, error) {
		clear(body)
		return nil, err
	}
	for {
		line, err := r.readLine(maxChunkLine)
		if err != nil {
			return fail(err)
		}
		size, _, _ := bytes.Cut(line, []byte{';'})
		n, err := strconv.ParseInt(string(bytes.TrimSpace(size)), 16, 64)
		if err != nil || n < 0 {
			return fail(fmt.Errorf("%w: a bad chunk size", errBadAnswer))
		}
		if n == 0 {
			break
		}
		if int64(len(body))+n > MaxResponseBytes {
			return fail(readlimit.ErrTooLarge)
		}
		if cap(body)-len(body) < int(n) {
			grown := make([]byte, len(body), max(2*cap(body), len(body)+int(n)))
			copy(grown, body)
			clear(body)
			body = grown
		}
		start := len(body)
		body = body[:start+int(n)]
		if _, err := io.ReadFull(r, body[start:]); err != nil {
			return fail(err)
		}
		crlf, err := r.readLine(0)
		if err != nil || len(crlf) != 0 {
			return fail(fmt.Errorf("%w: a chunk not followed by CRLF", errBadAnswer))
		}
	}
	for { // trailer fields
		line, err := r.readLine(maxHeaderBytes)
		if err != nil {
			return fail(err)
		}
		if len(line) == 0 {
			return body, nil
		}
	}
}
