package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestDecodeResolveRequest(t *testing.T) {
	long := strings.Repeat("a", MaxRefLen+1)
	tests := []struct {
		name    string
		body    string
		want    ResolveRequest
		wantErr string // substring; "" means success
		tooBig  bool
	}{
		{name: "ref", body: `{"ref":"vault://global/k"}`, want: ResolveRequest{Ref: "vault://global/k"}},
		{name: "path", body: `{"path":"model_provider.openai_api_key"}`, want: ResolveRequest{Path: "model_provider.openai_api_key"}},
		{name: "whitespace around", body: " \n{ \"path\" : \"a.b\" }\n", want: ResolveRequest{Path: "a.b"}},
		{name: "empty body", body: ``, wantErr: "must be a JSON object"},
		{name: "array", body: `["ref"]`, wantErr: "must be a JSON object"},
		{name: "string", body: `"vault://global/k"`, wantErr: "must be a JSON object"},
		{name: "empty object", body: `{}`, wantErr: `needs "ref" or "path"`},
		{name: "both fields", body: `{"ref":"vault://global/k","path":"a"}`, wantErr: "exclusive"},
		{name: "unknown field", body: `{"value":"x"}`, wantErr: `unknown field: the fields are "ref" and "path"`},
		{name: "duplicate field", body: `{"ref":"vault://global/a","ref":"vault://global/b"}`, wantErr: `field "ref" appears twice`},
		{name: "number", body: `{"ref":42}`, wantErr: `field "ref": must be a string`},
		{name: "null", body: `{"ref":null}`, wantErr: `field "ref": must be a string`},
		{name: "object value", body: `{"ref":{"env":"X"}}`, wantErr: `field "ref": must be a string`},
		{name: "empty string", body: `{"path":""}`, wantErr: `field "path": must not be empty`},
		{name: "ref too long", body: `{"ref":"` + long + `"}`, wantErr: `field "ref": longer than`},
		{name: "path too long", body: `{"path":"` + strings.Repeat("p", MaxPathLen+1) + `"}`, wantErr: `field "path": longer than`},
		{name: "trailing value", body: `{"ref":"vault://global/k"} {}`, wantErr: "more than one JSON value"},
		{name: "trailing garbage", body: `{"ref":"vault://global/k"}x`, wantErr: "more than one JSON value"},
		{name: "truncated", body: `{"ref":"vault://global/k"`, wantErr: "not valid JSON"},
		{name: "invalid utf-8", body: "{\"ref\":\"\xff\"}", wantErr: "valid UTF-8"},
		{name: "over the size cap", body: `{"ref":"` + strings.Repeat("a", MaxRequestBytes) + `"}`, wantErr: "larger than", tooBig: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeResolveRequest(strings.NewReader(tt.body))
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("DecodeResolveRequest: %v", err)
				}
				if got != tt.want {
					t.Fatalf("got %+v, want %+v", got, tt.want)
				}
				return
			}
			var re *RequestError
			if !errors.As(err, &re) {
				t.Fatalf("err = %v, want a *RequestError containing %q", err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %q, want it to contain %q", err, tt.wantErr)
			}
			if re.TooLarge != tt.tooBig {
				t.Fatalf("TooLarge = %v, want %v", re.TooLarge, tt.tooBig)
			}
		})
	}
}

func TestDecodeResolveRequestErrorsNeverQuoteTheValue(t *testing.T) {
	const secret = "sk-live-SECRET-0123456789"
	bodies := []string{
		`{"ref":"` + secret + `","path":"x"}`,
		`{"ref":"` + secret + `"} trailing`,
		`{"` + secret + `":"x"}`,
		`{"ref":"` + secret + `","ref":"x"}`,
		`{"path":"` + secret + strings.Repeat("x", MaxPathLen) + `"}`,
	}
	for i, b := range bodies {
		_, err := DecodeResolveRequest(strings.NewReader(b))
		if err == nil {
			t.Fatalf("body %d: accepted", i)
		}
		if strings.Contains(err.Error(), "SECRET") {
			t.Fatalf("body %d: error %q quotes the value", i, err)
		}
	}
}

func TestResolveResponseRoundTrip(t *testing.T) {
	for _, value := range [][]byte{[]byte("sk-test-123"), {0, 1, 2, 0xff, '\n', '"'}, bytes.Repeat([]byte{0xa5}, 70000)} {
		meta := ResolveResponse{Path: "a.b_vault_ref", Setting: "a.b", Fingerprint: "vault#01234567", Refresh: "per_use", ResolvedAt: time.Unix(1700000000, 5).UTC()}
		body, err := AppendResolveResponse(nil, meta, value)
		if err != nil {
			t.Fatal(err)
		}
		if !json.Valid(body) {
			t.Fatalf("body is not valid JSON: %.200s", body)
		}
		got, err := DecodeResolveResponse(body)
		if err != nil {
			t.Fatalf("DecodeResolveResponse: %v", err)
		}
		if !bytes.Equal(got.Value.Reveal(), value) {
			t.Fatalf("value changed in the round trip")
		}
		got.Value = meta.Value
		meta.Size, meta.Encoding = len(value), EncodingBase64
		if fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", meta) {
			t.Fatalf("metadata: got %+v, want %+v", got, meta)
		}
	}
}

func TestResolveResponsePrintsRedacted(t *testing.T) {
	body, _ := AppendResolveResponse(nil, ResolveResponse{Fingerprint: "vault#01234567"}, []byte("sk-test-123"))
	got, err := DecodeResolveResponse(body)
	if err != nil {
		t.Fatal(err)
	}
	j, _ := json.Marshal(got)
	for _, s := range []string{fmt.Sprintf("%v %+v %#v %s", got, got, got, got.Value), string(j)} {
		if strings.Contains(s, "sk-test") {
			t.Fatalf("printed form shows the value: %s", s)
		}
	}
}

func TestDecodeResolveResponseRefusesBadValues(t *testing.T) {
	tests := map[string]string{
		"not base64":     `{"fingerprint":"x","encoding":"base64","size":3,"value":"!!!!"}`,
		"wrong size":     `{"fingerprint":"x","encoding":"base64","size":5,"value":"YWJj"}`,
		"other encoding": `{"fingerprint":"x","encoding":"hex","size":3,"value":"YWJj"}`,
		"no value":       `{"fingerprint":"x","encoding":"base64","size":3}`,
		"value a number": `{"fingerprint":"x","encoding":"base64","size":3,"value":3}`,
	}
	for name, body := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := DecodeResolveResponse([]byte(body)); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

// FuzzDecodeResolveRequest checks that the decoder never panics, that what
// it accepts obeys its rules, and that an accepted request encodes and
// decodes back to itself.
func FuzzDecodeResolveRequest(f *testing.F) {
	for _, s := range []string{
		`{"ref":"vault://global/k"}`, `{"path":"a.b"}`, `{}`, `{"ref":1}`, `{"ref":"a","path":"b"}`,
		`{"ref":"\u00e9\ud800"}`, `[`, `{"ref":"x"}{}`, "{\"path\":\"\x00\"}", `{"ref":"a","ref":"b"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := DecodeResolveRequest(bytes.NewReader(body))
		if err != nil {
			var re *RequestError
			if !errors.As(err, &re) {
				t.Fatalf("error is %T, not *RequestError: %v", err, err)
			}
			return
		}
		if (req.Ref == "") == (req.Path == "") {
			t.Fatalf("accepted %+v: exactly one field must be set", req)
		}
		if len(req.Ref) > MaxRefLen || len(req.Path) > MaxPathLen || len(body) > MaxRequestBytes {
			t.Fatalf("accepted an over-long request")
		}
		again, err := json.Marshal(req)
		if err != nil {
			t.Fatal(err)
		}
		back, err := DecodeResolveRequest(bytes.NewReader(again))
		if err != nil || back != req {
			t.Fatalf("re-encoded request %s decoded to %+v, %v; want %+v", again, back, err, req)
		}
	})
}
