package api

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"

	"github.com/palyra/palyra-vault/internal/readlimit"
	"github.com/palyra/palyra-vault/secret"
)

// RequestError reports a request body that DecodeResolveRequest refuses.
// Its message names the field and the rule broken, never the field's
// content: a secret pasted by mistake must not reach a log.
type RequestError struct {
	// TooLarge is set when the body is longer than MaxRequestBytes.
	TooLarge bool
	msg      string
}

// Error returns the reason, for example `field "ref": longer than 12288 bytes`.
func (e *RequestError) Error() string { return e.msg }

func badRequest(format string, args ...any) error {
	return &RequestError{msg: fmt.Sprintf(format, args...)}
}

// DecodeResolveRequest reads and checks the body of POST /v1/resolve: at
// most MaxRequestBytes bytes holding exactly one JSON object with the
// fields "ref" or "path" (exactly one of them, a non-empty string within MaxRefLen or MaxPathLen bytes), nothing after it. Unknown
// fields, duplicate fields, other JSON types and invalid UTF-8 are refused. It fails with
// a *RequestError, or with the reader's error.
//
// It checks the shape only: whether the reference or path means anything is
// the daemon's business.
func DecodeResolveRequest(r io.Reader) (ResolveRequest, error) {
	body, err := readlimit.ReadAll(r, MaxRequestBytes, 0)
	if errors.Is(err, readlimit.ErrTooLarge) {
		return ResolveRequest{}, &RequestError{TooLarge: true, msg: fmt.Sprintf("request body is larger than %d bytes", MaxRequestBytes)}
	}
	if err != nil {
		return ResolveRequest{}, fmt.Errorf("reading request body: %w", err)
	}
	defer clear(body) // the body may hold a secret pasted by mistake
	return parseResolveRequest(body)
}

func parseResolveRequest(body []byte) (ResolveRequest, error) {
	// encoding/json would replace invalid UTF-8 with U+FFFD silently.
	if !utf8.Valid(body) {
		return ResolveRequest{}, badRequest("request body must be valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	tok, err := dec.Token()
	if err != nil || tok != json.Delim('{') {
		return ResolveRequest{}, badRequest(`request body must be a JSON object such as {"path": "model_provider.openai_api_key"} or {"ref": "vault://global/openai_api_key"}`)
	}
	var req ResolveRequest
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return ResolveRequest{}, badRequest("request body is not valid JSON")
		}
		name, _ := tok.(string)
		var dst *string
		var max int
		switch name {
		case "ref":
			dst, max = &req.Ref, MaxRefLen
		case "path":
			dst, max = &req.Path, MaxPathLen
		default:
			// The name is not repeated: it could be a value pasted by mistake.
			return ResolveRequest{}, badRequest(`unknown field: the fields are "ref" and "path"`)
		}
		if seen[name] {
			return ResolveRequest{}, badRequest("field %q appears twice", name)
		}
		seen[name] = true
		tok, err = dec.Token()
		if err != nil {
			return ResolveRequest{}, badRequest("request body is not valid JSON")
		}
		s, ok := tok.(string)
		if !ok {
			return ResolveRequest{}, badRequest("field %q: must be a string", name)
		}
		switch {
		case s == "":
			return ResolveRequest{}, badRequest("field %q: must not be empty", name)
		case len(s) > max:
			return ResolveRequest{}, badRequest("field %q: longer than %d bytes", name, max)
		}
		*dst = s
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return ResolveRequest{}, badRequest("request body is not valid JSON")
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return ResolveRequest{}, badRequest("request body holds more than one JSON value")
	}
	switch {
	case req.Ref == "" && req.Path == "":
		return ResolveRequest{}, badRequest(`request body needs "ref" or "path"`)
	case req.Ref != "" && req.Path != "":
		return ResolveRequest{}, badRequest(`fields "ref" and "path" are exclusive: give one`)
	}
	return req, nil
}

// AppendResolveResponse appends the JSON body of a successful resolve to
// dst: meta's fields, then "value" holding the standard base64 of value.
// It is the only encoder that writes a value; the caller should clear the
// result once it is sent.
func AppendResolveResponse(dst []byte, meta ResolveResponse, value []byte) ([]byte, error) {
	meta.Encoding = EncodingBase64
	meta.Size = len(value)
	head, err := json.Marshal(meta)
	if err != nil {
		return dst, fmt.Errorf("encoding response: %w", err)
	}
	dst = append(dst, head[:len(head)-1]...) // drop the closing brace
	dst = append(dst, `,"value":"`...)
	dst = base64.StdEncoding.AppendEncode(dst, value)
	dst = append(dst, "\"}\n"...)
	return dst, nil
}

// wireValue decodes the base64 "value" field straight into a
// secret.SensitiveBytes.
type wireValue struct{ v secret.SensitiveBytes }

func (w *wireValue) UnmarshalJSON(data []byte) error {
	if len(data) < 2 || data[0] != '"' || data[len(data)-1] != '"' {
		return errors.New(`field "value": must be a base64 string`)
	}
	src := data[1 : len(data)-1]
	buf := make([]byte, base64.StdEncoding.DecodedLen(len(src)))
	n, err := base64.StdEncoding.Decode(buf, src)
	if err != nil {
		clear(buf)
		return errors.New(`field "value": not valid standard base64`)
	}
	w.v = secret.NewSensitiveBytes(buf[:n])
	return nil
}

// DecodeResolveResponse parses the body of a successful resolve. The caller
// owns the returned Value and should Wipe it; body can be cleared as soon as
// this returns.
func DecodeResolveResponse(body []byte) (ResolveResponse, error) {
	var wire struct {
		ResolveResponse
		Value *wireValue `json:"value"`
	}
	wire.Value = &wireValue{}
	if err := json.Unmarshal(body, &wire); err != nil {
		wire.Value.v.Wipe()
		return ResolveResponse{}, fmt.Errorf("decoding the daemon's answer: %w", err)
	}
	resp := wire.ResolveResponse
	resp.Value = wire.Value.v
	if resp.Encoding != EncodingBase64 || resp.Value.Len() != resp.Size {
		resp.Value.Wipe()
		return ResolveResponse{}, errors.New("decoding the daemon's answer: value missing or of the wrong size")
	}
	return resp, nil
}
