package api

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// serveOnce listens on a fresh Unix socket and answers every connection by
// reading the request's head, then writing answer (which may be cut short
// by closing the connection: that is the point of some cases).
func serveOnce(t *testing.T, answer []byte, hold time.Duration) (socket string, requests chan string) {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("the daemon and its client use Unix sockets: not on Windows")
	}
	socket = filepath.Join(t.TempDir(), "d.sock")
	l, err := net.Listen("unix", socket)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	requests = make(chan string, 8)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				var req []byte
				buf := make([]byte, 4096)
				for !bytes.Contains(req, []byte("\r\n\r\n")) {
					n, err := c.Read(buf)
					req = append(req, buf[:n]...)
					if err != nil {
						return
					}
				}
				// Read the body the request announces.
				head, rest, _ := bytes.Cut(req, []byte("\r\n\r\n"))
				for _, line := range strings.Split(string(head), "\r\n") {
					if v, ok := strings.CutPrefix(line, "Content-Length: "); ok {
						n, _ := strconv.Atoi(v)
						for len(rest) < n {
							m, err := c.Read(buf)
							rest = append(rest, buf[:m]...)
							if err != nil {
								break
							}
						}
					}
				}
				requests <- string(req[:len(head)]) + "\r\n\r\n" + string(rest)
				time.Sleep(hold)
				c.Write(answer)
			}()
		}
	}()
	return socket, requests
}

// TestClientReadsTheAnswersTheDaemonMayGive checks the wire client against
// hand-written answers: every way a body may be delimited, and every
// malformed answer it must refuse rather than guess at.
func TestClientReadsTheAnswersTheDaemonMayGive(t *testing.T) {
	health := `{"status":"v9","pid":7}`
	big := strings.Repeat("x", 100_000)
	bigJSON := `{"status":"` + big + `"}`
	refusal := `{"error":{"code":"forbidden","message":"no way"}}`
	chunk := func(parts ...string) string {
		var b strings.Builder
		for _, p := range parts {
			b.WriteString(strconv.FormatInt(int64(len(p)), 16) + "\r\n" + p + "\r\n")
		}
		return b.String() + "0\r\n\r\n"
	}
	tests := []struct {
		name        string
		answer      string
		wantVersion string
		wantErr     string // substring; "" means success
	}{
		{"content length", "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " + strconv.Itoa(len(health)) + "\r\n\r\n" + health, "v9", ""},
		{"header names in any case, bare LF", "HTTP/1.1 200 OK\ncontent-length: " + strconv.Itoa(len(health)) + "\n\n" + health, "v9", ""},
		{"chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunk(health[:5], health[5:]), "v9", ""},
		{"chunked with an extension and a trailer", "HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n\r\n" + strconv.FormatInt(int64(len(health)), 16) + ";x=y\r\n" + health + "\r\n0\r\nX-Trailer: 1\r\n\r\n", "v9", ""},
		{"large chunked body", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunk(bigJSON[:4000], bigJSON[4000:70000], bigJSON[70000:]), big, ""},
		{"large body by length", "HTTP/1.1 200 OK\r\nContent-Length: " + strconv.Itoa(len(bigJSON)) + "\r\n\r\n" + bigJSON, big, ""},
		{"body until close", "HTTP/1.1 200 OK\r\n\r\n" + health, "v9", ""},
		{"error answer", "HTTP/1.1 403 Forbidden\r\nContent-Length: " + strconv.Itoa(len(refusal)) + "\r\n\r\n" + refusal, "", "no way"},
		{"error without JSON", "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 2\r\n\r\nhi", "", "HTTP status 500 without a JSON error"},
		{"truncated body", "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + health, "", "ended after"},
		{"truncated head", "HTTP/1.1 200 OK\r\nContent-Len", "", "unexpected EOF"},
		{"not HTTP", "SSH-2.0-OpenSSH\r\n\r\n", "", "no HTTP/1.x status line"},
		{"bad status", "HTTP/1.1 2x0 OK\r\n\r\n", "", "bad status code"},
		{"interim answer", "HTTP/1.1 100 Continue\r\n\r\n", "", "interim"},
		{"two lengths", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", "", "bad Content-Length"},
		{"negative length", "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", "", "bad Content-Length"},
		{"other coding", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", "", "transfer coding other than chunked"},
		{"bad chunk size", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "", "bad chunk size"},
		{"chunk without CRLF", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}X\r\n0\r\n\r\n", "", "not followed by CRLF"},
		{"header line without colon", "HTTP/1.1 200 OK\r\nnonsense\r\n\r\n", "", "without a colon"},
		{"header line too long", "HTTP/1.1 200 OK\r\nX: " + strings.Repeat("a", 5000) + "\r\n\r\n", "", "longer than"},
		{"body over the limit by length", "HTTP/1.1 200 OK\r\nContent-Length: " + strconv.Itoa(MaxResponseBytes+1) + "\r\n\r\n", "", "larger than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			socket, _ := serveOnce(t, []byte(tt.answer), 0)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			h, err := NewClient(socket).Health(ctx)
			if tt.wantErr == "" {
				if err != nil || h.Status != tt.wantVersion {
					t.Fatalf("Health = %+v, %v; want version of %d bytes", h, err, len(tt.wantVersion))
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

// TestClientSendsOneRequestPerConnection checks the request's wire form:
// the method, path, a Content-Length that matches the body, and
// "Connection: close".
func TestClientSendsOneRequestPerConnection(t *testing.T) {
	body := `{"value":"c2VjcmV0","encoding":"base64","size":6}`
	socket, requests := serveOnce(t, []byte("HTTP/1.1 200 OK\r\nContent-Length: "+strconv.Itoa(len(body))+"\r\n\r\n"+body), 0)
	resp, err := NewClient(socket).Resolve(context.Background(), ResolveRequest{Ref: "vault://global/a"})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Value.Wipe()
	if string(resp.Value.Reveal()) != "secret" {
		t.Errorf("value = %d bytes, want the 6 of %q", resp.Value.Len(), "secret")
	}
	req := <-requests
	head, reqBody, _ := strings.Cut(req, "\r\n\r\n")
	for _, want := range []string{"POST " + PathResolve + " HTTP/1.1\r\n", "\r\nConnection: close", "\r\nContent-Type: application/json", "\r\nContent-Length: " + strconv.Itoa(len(reqBody))} {
		if !strings.Contains(head, want) {
			t.Errorf("request head %q lacks %q", head, want)
		}
	}
	if !strings.Contains(reqBody, `"vault://global/a"`) {
		t.Errorf("request body = %q", reqBody)
	}
}

// TestClientGivesUpAtTheContextsDeadline checks that a daemon that accepts
// but never answers costs the caller its deadline, not forever, and that
// the error says the deadline passed.
func TestClientGivesUpAtTheContextsDeadline(t *testing.T) {
	socket, _ := serveOnce(t, nil, time.Hour)
	for _, name := range []string{"deadline", "cancel"} {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			defer cancel()
			want := context.DeadlineExceeded
			if name == "cancel" {
				var c2 context.CancelFunc
				ctx, c2 = context.WithCancel(context.Background())
				time.AfterFunc(200*time.Millisecond, c2)
				want = context.Canceled
			}
			done := make(chan error, 1)
			go func() { _, err := NewClient(socket).Health(ctx); done <- err }()
			select {
			case err := <-done:
				if !errors.Is(err, want) {
					t.Fatalf("err = %v, want %v", err, want)
				}
			case <-time.After(30 * time.Second):
				t.Fatal("the request did not give up when its context ended")
			}
		})
	}
}

// TestWireReaderWipesItsBuffer checks that nothing of an answer stays in
// the reader's buffer once the exchange is over.
func TestWireReaderWipesItsBuffer(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	go func() {
		b.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\nsecret-value"))
		b.Close()
	}()
	r := &wireReader{conn: a}
	if _, _, _, err := r.readHead(); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(io.LimitReader(r, 12))
	if err != nil || string(got) != "secret-value" {
		t.Fatalf("body = %q, %v", got, err)
	}
	r.wipe()
	if bytes.Contains(r.buf[:], []byte("secret")) {
		t.Fatal("the reader's buffer still holds the answer after wipe")
	}
}
