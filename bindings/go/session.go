package backendai

/*
#include <stdlib.h>
#include "backendai.h"
*/
import "C"

import (
	"context"
	"encoding/json"
	"net/http"
	"runtime"
	"sync"
	"time"
	"unsafe"
)

// Session is an open API session (configuration, reusable HTTP connections, negotiated API
// version). It is safe for concurrent use by many goroutines. Close releases it; compute
// sessions obtained from it stay usable until they are closed themselves.
type Session struct {
	mu     sync.Mutex
	h      *C.bai_session_t
	refs   int  // calls in flight
	closed bool // Close was called; the last call in flight frees h

	opMu     sync.Mutex              // orders bai_op_free against bai_session_next_done
	blocking map[*Operation]struct{} // operations of Run, Upload, ...: cancelled by Cancel
}

// Open opens an API session: it negotiates the API version with the server (and logs in,
// in session mode).
//
// The library's open cannot be interrupted; when ctx ends first, Open returns at once with
// ctx's error and the session being opened is released in the background.
func Open(ctx context.Context, cfg Config) (*Session, error) {
	h, err := await(ctx, "open", func() (*C.bai_session_t, error) {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		c, err := cfg.build()
		if err != nil {
			return nil, err
		}
		defer C.bai_config_free(c)
		var s *C.bai_session_t
		if rc := C.bai_session_new(c, &s); rc != C.BAI_OK {
			return nil, lastError("open", rc)
		}
		return s, nil
	}, func(s *C.bai_session_t) { C.bai_session_free(s) })
	if err != nil {
		return nil, err
	}
	s := &Session{h: h}
	runtime.SetFinalizer(s, (*Session).Close)
	return s, nil
}

// acquire pins the C session for one call.
func (s *Session) acquire(op string) (*C.bai_session_t, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.h == nil {
		return nil, newError(op, ErrBadState, "the session is closed")
	}
	s.refs++
	return s.h, nil
}

func (s *Session) release() {
	s.mu.Lock()
	s.refs--
	var h *C.bai_session_t
	if s.closed && s.refs == 0 {
		h, s.h = s.h, nil
	}
	s.mu.Unlock()
	if h != nil {
		C.bai_session_free(h)
	}
}

// Close releases the session. Calls still in flight finish first (the session is freed when
// the last one returns). Closing twice is harmless.
func (s *Session) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	var h *C.bai_session_t
	if s.refs == 0 {
		h, s.h = s.h, nil
	}
	s.mu.Unlock()
	runtime.SetFinalizer(s, nil)
	if h != nil {
		C.bai_session_free(h)
	}
	return nil
}

// sessionCall runs f with the C session pinned, honouring ctx as await does.
func sessionCall[T any](ctx context.Context, s *Session, op string, f func(h *C.bai_session_t) (T, error), discard func(T)) (T, error) {
	h, err := s.acquire(op)
	if err != nil {
		var zero T
		return zero, err
	}
	return await(ctx, op, func() (T, error) {
		defer s.release()
		return f(h)
	}, discard)
}

// APIVersion is the negotiated API version sent with every request, e.g. "v7.20230615".
func (s *Session) APIVersion() string {
	h, err := s.acquire("api version")
	if err != nil {
		return ""
	}
	defer s.release()
	return C.GoString(C.bai_session_api_version(h))
}

// ServerVersion is the API version the server announced when the session opened.
func (s *Session) ServerVersion() string {
	h, err := s.acquire("server version")
	if err != nil {
		return ""
	}
	defer s.release()
	return C.GoString(C.bai_session_server_version(h))
}

// Versions is the server's answer to System.get_versions().
type Versions struct {
	Version string          `json:"version"` // API version, e.g. "v7.20230615"
	Manager string          `json:"manager"` // manager release, e.g. "23.09.10"
	Raw     json.RawMessage `json:"-"`       // the whole answer
}

// Versions asks the server for its versions (a signed GET /).
func (s *Session) Versions(ctx context.Context) (*Versions, error) {
	return sessionCall(ctx, s, "versions", func(h *C.bai_session_t) (*Versions, error) {
		var buf C.bai_buf_t
		if err := call("versions", func() C.bai_code_t { return C.bai_system_get_versions(h, &buf) }); err != nil {
			return nil, err
		}
		raw := takeBuf(&buf)
		v := &Versions{Raw: raw}
		if err := json.Unmarshal(raw, v); err != nil {
			return nil, newError("versions", ErrBadResponse, err.Error())
		}
		return v, nil
	}, nil)
}

// Request is a raw request to any API path (the official SDK's Request class).
type Request struct {
	Method      string        // "GET", "POST", ...
	Path        string        // e.g. "/session/mysess"; the endpoint's own path is prefixed
	Query       [][2]string   // key, value pairs, encoded by the library
	Body        []byte        // the request body
	ContentType string        // of the body; "" picks text/plain or application/octet-stream
	Timeout     time.Duration // 0: the session's request timeout
	Anonymous   bool          // send without Authorization
}

// Response is the answer to a raw request, whatever its status.
type Response struct {
	Status int         // the HTTP status
	Header http.Header // the headers
	Body   []byte      // the body
}

// Do sends a raw signed request. Any HTTP answer is a success: check Response.Status.
func (s *Session) Do(ctx context.Context, r Request) (*Response, error) {
	return sessionCall(ctx, s, "request", func(h *C.bai_session_t) (*Response, error) {
		var req C.bai_request_t
		req.struct_size = C.uint32_t(unsafe.Sizeof(req))
		if r.Anonymous {
			req.flags = C.BAI_REQUEST_ANONYMOUS
		}
		req.method = C.CString(r.Method)
		defer cfree(req.method)
		req.path = C.CString(r.Path)
		defer cfree(req.path)
		var q []string
		for _, kv := range r.Query {
			q = append(q, kv[0], kv[1])
		}
		qv := newCStrv(q)
		defer qv.free()
		req.query = qv.ptr()
		req.n_query = C.size_t(len(r.Query))
		if len(r.Body) > 0 {
			p, n := bytesArg(r.Body)
			defer C.free(unsafe.Pointer(p))
			req.body, req.body_len = p, n
		}
		req.content_type = cstr(r.ContentType, true)
		defer cfree(req.content_type)
		req.timeout_ms = C.int64_t(r.Timeout.Milliseconds())
		var resp *C.bai_response_t
		if err := call("request", func() C.bai_code_t { return C.bai_session_request(h, &req, &resp) }); err != nil {
			return nil, err
		}
		defer C.bai_response_free(resp)
		out := &Response{Status: int(C.bai_response_status(resp)), Header: http.Header{}}
		var n C.size_t
		body := C.bai_response_body(resp, &n)
		if n > 0 {
			out.Body = C.GoBytes(unsafe.Pointer(body), C.int(n))
		}
		for i := C.size_t(0); i < C.bai_response_header_count(resp); i++ {
			var name, value *C.char
			if C.bai_response_header_at(resp, i, &name, &value) == C.BAI_OK {
				out.Header.Add(C.GoString(name), C.GoString(value))
			}
		}
		return out, nil
	}, nil)
}

// await runs a library call that cannot be interrupted in its own goroutine and returns when
// it finishes or when ctx ends, whichever comes first. In the latter case the error wraps
// ctx.Err() and discard (if not nil) releases the call's result once it arrives.
func await[T any](ctx context.Context, op string, f func() (T, error), discard func(T)) (T, error) {
	var zero T
	if err := ctx.Err(); err != nil {
		return zero, ctxError(op, err)
	}
	if ctx.Done() == nil {
		return f()
	}
	type result struct {
		v   T
		err error
	}
	ch := make(chan result, 1)
	go func() {
		v, err := f()
		ch <- result{v, err}
	}()
	select {
	case r := <-ch:
		return r.v, r.err
	case <-ctx.Done():
		go func() {
			r := <-ch
			if r.err == nil && discard != nil {
				discard(r.v)
			}
		}()
		return zero, ctxError(op, ctx.Err())
	}
}

func ctxError(op string, err error) *Error {
	// Cancelled, whether by cancel() or by a deadline: the cause tells which.
	e := newError(op, ErrCancelled, "")
	e.cause = err
	return e
}
