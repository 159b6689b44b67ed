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
// or was destroyed is not found), as every binding groups them.
type Code int32

const (
	OK                   Code = 0
	ErrNullArg           Code = 100
	ErrInvalidArg        Code = 101
	ErrInvalidUTF8       Code = 102
	ErrBadState          Code = 103
	ErrReentrant         Code = 104
	ErrBufferTooSmall    Code = 105
	ErrNetwork           Code = 200
	ErrTLS               Code = 201
	ErrTimeout           Code = 202
	ErrCancelled         Code = 203
	ErrWebSocket         Code = 204
	ErrHTTPStatus        Code = 300
	ErrAuth              Code = 301
	ErrNotFound          Code = 302
	ErrConflict          Code = 303
	ErrRateLimited       Code = 304
	ErrServer            Code = 305
	ErrBadResponse       Code = 306
	ErrSessionGone       Code = 400
	ErrExecFailed        Code = 401
	ErrAbortedByCallback Code = 402
	ErrIO                Code = 403
	ErrInterrupted       Code = 404
	ErrPanic             Code = 900
	ErrPoisoned          Code = 901
	ErrNoMemory          Code = 902
	ErrInternal          Code = 903
	codePending          Code = 1
	codeWaitingInput     Code = 2
)

// Name is the symbolic name of the code, e.g. "BAI_E_TIMEOUT".
func (c Code) Name() string { return C.GoString(C.bai_code_name(C.int32_t(c))) }

// Error describes the code in one line.
func (c Code) Error() string { return C.GoString(C.bai_code_describe(C.int32_t(c))) }

// String is the code's name, e.g. "BAI_E_TIMEOUT".
func (c Code) String() string { return c.Name() }

// Is reports whether c belongs to target's family: every code matches itself, and
// ErrNotFound also matches ErrSessionGone.
func (c Code) Is(target error) bool {
	t, ok := target.(Code)
	return ok && (c == t || (t == ErrNotFound && c == ErrSessionGone) || (t == ErrCancelled && c == ErrInterrupted))
}

// Error is a failure reported by libbackendai.
type Error struct {
	Op          string // what this package was doing, e.g. "create compute"
	Code        Code
	Name        string // symbolic name of Code, e.g. "BAI_E_NOT_FOUND"
	Message     string // the library's detail
	HTTPStatus  int    // status of the server's answer, 0 if none
	ServerType  string // problem+json "type" of the server's answer, "" if none
	ServerTitle string // problem+json "title" of the server's answer, "" if none
	cause       error  // e.g. context.Canceled when the context ended the call
}

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
// ErrNotFound and ErrSessionGone.
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
	return e
}
