package backendai

/*
#include "backendai.h"
*/
import "C"

import (
	"fmt"
)

// Code is a libbackendai result code. Codes are stable and grouped by hundreds: 100s caller
// mistakes, 200s transport, 300s server answers, 400s compute sessions, 900s internal.
//
// A Code is also an error, so that errors.Is(err, backendai.ErrNotFound) matches any *Error
// carrying that code. ErrNotFound also matches ErrSessionGone (a compute session that ended
// or was destroyed is not found), and ErrCancelled matches ErrInterrupted (a run cancelled
// while it executed), as every binding groups them.
//
// How a run ended when it did not finish: ErrCancelled (cancelled while queued behind
// another run: it never executed), ErrInterrupted (cancelled while it executed), ErrTimeout,
// ErrAbortedByCallback (a writer, OnInput or a panic in a callback stopped it).
type Code int32

const (
	OK                   Code = 0   // success
	ErrNullArg           Code = 100 // a required pointer was NULL
	ErrInvalidArg        Code = 101 // an argument is out of range or malformed
	ErrInvalidUTF8       Code = 102 // a text argument is not valid UTF-8
	ErrBadState          Code = 103 // the object is not in a state that allows the call
	ErrReentrant         Code = 104 // a blocking call from inside a callback
	ErrBufferTooSmall    Code = 105 // the caller's buffer is too small
	ErrNetwork           Code = 200 // connection refused, reset or dropped; DNS failure
	ErrTLS               Code = 201 // certificate not trusted, handshake failure
	ErrTimeout           Code = 202 // a connect, read or request timeout expired
	ErrCancelled         Code = 203 // cancelled by the caller (a queued run never executed)
	ErrWebSocket         Code = 204 // WebSocket protocol failure
	ErrHTTPStatus        Code = 300 // an HTTP error status without a more specific code
	ErrAuth              Code = 301 // HTTP 401: unknown access key, signature mismatch, login refused
	ErrNotFound          Code = 302 // HTTP 404: no such session, image, folder or path
	ErrConflict          Code = 303 // HTTP 409 or an equivalent conflict
	ErrRateLimited       Code = 304 // HTTP 429
	ErrServer            Code = 305 // HTTP 5xx
	ErrBadResponse       Code = 306 // the server's answer could not be understood
	ErrSessionGone       Code = 400 // the compute session ended while the operation ran
	ErrExecFailed        Code = 401 // the code or a batch step failed to run
	ErrAbortedByCallback Code = 402 // a callback asked to stop
	ErrIO                Code = 403 // a local file could not be read or written
	ErrInterrupted       Code = 404 // a run was cancelled while it executed: the server interrupted it
	ErrPanic             Code = 900 // a panic inside the library was caught
	ErrInternal          Code = 903 // any other internal failure
	codePending          Code = 1
	codeWaitingInput     Code = 2
)

// Name is the symbolic name of the code, e.g. "BAI_E_TIMEOUT".
func (c Code) Name() string { return C.GoString(C.bai_code_name(C.int32_t(c))) }

// Error describes the code in one line.
func (c Code) Error() string { return C.GoString(C.bai_code_describe(C.int32_t(c))) }

// String is the code's name, e.g. "BAI_E_TIMEOUT".
func (c Code) String() string { return c.Name() }

// Is reports whether c belongs to target's family: every code matches itself, ErrNotFound
// also matches ErrSessionGone, and ErrCancelled also matches ErrInterrupted.
func (c Code) Is(target error) bool {
	t, ok := target.(Code)
	return ok && (c == t || (t == ErrNotFound && c == ErrSessionGone) || (t == ErrCancelled && c == ErrInterrupted))
}

// Error is a failure reported by libbackendai.
type Error struct {
	Op          string // what this package was doing, e.g. "create compute"
	Code        Code   // the library's result code
	Name        string // symbolic name of Code, e.g. "BAI_E_NOT_FOUND"
	Message     string // the library's detail
	HTTPStatus  int    // status of the server's answer, 0 if none
	ServerType  string // problem+json "type" of the server's answer, "" if none
	ServerTitle string // problem+json "title" of the server's answer, "" if none
	// ServerCode is the problem+json "error_code" of the server's answer (Backend.AI 26.09
	// and later, e.g. "session_read_not-found"), "" if none (23.09 sends none).
	ServerCode string
	cause      error // e.g. context.Canceled when the context ended the call
}

// Error is "backendai: <op>: <name>: <message> (HTTP <status>) (<cause>)".
func (e *Error) Error() string {
	s := "backendai: "
	if e.Op != "" {
		s += e.Op + ": "
	}
	s += e.Name
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.HTTPStatus != 0 {
		s += fmt.Sprintf(" (HTTP %d)", e.HTTPStatus)
	}
	if e.cause != nil {
		s += " (" + e.cause.Error() + ")"
	}
	return s
}

// Unwrap returns the context error when a cancelled or expired context ended the call.
func (e *Error) Unwrap() error { return e.cause }

// Is matches a Code or its family: errors.Is(err, backendai.ErrNotFound) is true for
// ErrNotFound and ErrSessionGone, errors.Is(err, backendai.ErrCancelled) for ErrCancelled
// and ErrInterrupted.
func (e *Error) Is(target error) bool { return e.Code.Is(target) }

func newError(op string, code Code, msg string) *Error {
	return &Error{Op: op, Code: code, Name: code.Name(), Message: msg}
}

// lastError reads the calling thread's last error detail. The caller must hold the OS thread
// locked since the failing call.
func lastError(op string, rc C.bai_code_t) *Error {
	e := newError(op, Code(rc), C.GoString(C.bai_last_error_message()))
	e.HTTPStatus = int(C.bai_last_error_http_status())
	e.ServerType = C.GoString(C.bai_last_error_server_type())
	e.ServerTitle = C.GoString(C.bai_last_error_server_title())
	e.ServerCode = C.GoString(C.bai_last_error_server_code())
	return e
}
