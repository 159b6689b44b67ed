package backendai

/*
#include <stdlib.h>
#include "backendai.h"
*/
import "C"

import (
	"context"
	"iter"
	"runtime"
	"runtime/cgo"
	"sync"
	"time"
	"unsafe"
)

// PollState is what Operation.Poll reports of an operation that has not failed.
type PollState int

const (
	PollPending      PollState = iota // still running
	PollWaitingInput                  // the code waits for input no OnInput answered: SendInput
	PollDone                          // finished: Result
)

// String is "pending", "waiting-input" or "done".
func (p PollState) String() string {
	return enumName([]string{"pending", "waiting-input", "done"}, int32(p), "PollState")
}

// Operation is a non-blocking run (Compute.Start, StartStream, StartBatch): it runs while
// the program does something else, and is driven by Poll, Wait or Session.Poll (which drives
// every operation of the session from one goroutine, each into its own RunOptions).
//
// How it ended, however it was driven: Err is nil for a finished run (Result gives its
// result), or an *Error whose Code says what happened: ErrCancelled (cancelled while queued
// behind another run: it never executed), ErrInterrupted (cancelled while it executed; also
// errors.Is ErrCancelled), ErrTimeout, ErrAbortedByCallback (a writer, OnInput or a panic
// stopped it: the error wraps that cause), or another code.
//
// Close every Operation (Run, Stream and RunBatch close theirs). Cancel may be called from
// any goroutine; the other methods from the goroutine that drives it, and Close not from
// inside its own callbacks.
type Operation struct {
	mu        sync.RWMutex // read-held by calls on o; Close takes it to free o
	freeMu    sync.Mutex   // held by Cancel (any goroutine) and by Close around the free
	o         *C.bai_op_t
	s         *Session // its opMu orders frees against NextDone
	st        *callState
	name      string // what it is, for error messages: "run", "stream", ...
	hasResult bool
	err       *Error  // the outcome of a failed operation, with the detail of its first report
	res       *Result // the result of a finished run, read once
}

// StartRun starts running code without blocking (bai_compute_run_start) and returns the
// operation; its records go to opts, its UserData travels with it. Runs on one compute
// session execute one at a time in start order (the library queues them). OnInput, if set,
// is asked inside the poll that delivers the request.
func (c *Compute) StartRun(code string, opts RunOptions) (*Operation, error) {
	return c.start("run", []byte(code), ModeQuery, nil, opts, false, false)
}

// StartStream is the non-blocking form of Stream (bai_compute_stream_start).
func (c *Compute) StartStream(code string, opts RunOptions) (*Operation, error) {
	return c.start("stream", []byte(code), ModeQuery, nil, opts, true, false)
}

// StartBatch is the non-blocking form of RunBatch.
func (c *Compute) StartBatch(b BatchOptions, opts RunOptions) (*Operation, error) {
	return c.start("run batch", nil, ModeBatch, &b, opts, false, false)
}

func (c *Compute) start(name string, code []byte, mode ExecMode, b *BatchOptions, opts RunOptions, stream, internal bool) (*Operation, error) {
	c.freeMu.RLock()
	defer c.freeMu.RUnlock()
	if c.closed {
		return nil, newError(name, ErrBadState, "the compute handle is closed")
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	st := &callState{run: opts, answerInCallback: !internal, internal: internal}
	oo := newOpOpts(st)
	defer oo.free()
	p, n := bytesArg(code)
	defer C.free(unsafe.Pointer(p))
	bc := newBatchC(b)
	defer bc.free()
	var o *C.bai_op_t
	var rc C.bai_code_t
	if stream {
		rc = C.bai_compute_stream_start(c.h, p, n, C.int32_t(mode), bc.ptr(), oo.p, &o)
	} else {
		rc = C.bai_compute_run_start(c.h, p, n, C.int32_t(mode), bc.ptr(), oo.p, &o)
	}
	if rc != C.BAI_OK {
		return nil, lastError(name, rc)
	}
	return c.s.adopt(o, st, name, true), nil
}

// adopt wraps a started C operation.
func (s *Session) adopt(o *C.bai_op_t, st *callState, name string, hasResult bool) *Operation {
	op := &Operation{o: o, s: s, st: st, name: name, hasResult: hasResult}
	s.opMu.Lock()
	st.op = op
	if st.internal {
		if s.blocking == nil {
			s.blocking = map[*Operation]struct{}{}
		}
		s.blocking[op] = struct{}{}
	}
	s.opMu.Unlock()
	return op
}

func durationMS(d time.Duration) C.int64_t {
	if d < 0 {
		return -1
	}
	return C.int64_t(d.Milliseconds())
}

// Poll waits up to timeout (0: never blocks; negative: until something happens) and delivers
// what is ready to the operation's RunOptions on this goroutine. It returns the operation's
// error (the same every time) once it failed.
func (op *Operation) Poll(timeout time.Duration) (PollState, error) {
	op.mu.RLock()
	defer op.mu.RUnlock()
	if op.o == nil {
		return PollPending, newError(op.name, ErrBadState, "the operation is closed")
	}
	return op.poll(timeout)
}

// poll is Poll with op.mu read-held by the caller.
func (op *Operation) poll(timeout time.Duration) (PollState, error) {
	if op.err != nil {
		return PollPending, op.err
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	rc := C.bai_op_poll(op.o, durationMS(timeout))
	switch Code(rc) {
	case codePending:
		return PollPending, nil
	case codeWaitingInput:
		return PollWaitingInput, nil
	case OK:
		return PollDone, nil
	}
	// The first failing poll has the complete detail (HTTP status, problem type).
	op.setErr(lastError(op.name, rc))
	return PollPending, op.err
}

// setErr records the outcome of a failed operation (op.mu read-held, thread locked).
func (op *Operation) setErr(e *Error) {
	if e.Message == "" {
		var b C.bai_buf_t
		if C.bai_op_error_message(op.o, &b) == C.BAI_OK {
			e.Message = string(takeBuf(&b))
		}
	}
	if op.st.err != nil && e.Code == ErrAbortedByCallback {
		e.cause = op.st.err
	}
	op.err = e
}

// Err is the operation's outcome: nil while it runs and when it finished, else an *Error (see
// Operation).
func (op *Operation) Err() error {
	op.mu.RLock()
	defer op.mu.RUnlock()
	if e := op.outcome(); e != nil {
		return e
	}
	return nil
}

// outcome is Err with op.mu read-held.
func (op *Operation) outcome() *Error {
	if op.err != nil || op.o == nil {
		return op.err
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	rc := C.bai_op_code(op.o)
	if rc == C.BAI_OK || Code(rc) == codePending {
		return nil
	}
	op.setErr(newError(op.name, Code(rc), ""))
	return op.err
}

// Result is the result of a finished run, or the operation's error (see Operation); ErrBadState
// while it runs.
func (op *Operation) Result() (*Result, error) {
	op.mu.RLock()
	defer op.mu.RUnlock()
	return op.result()
}

func (op *Operation) result() (*Result, error) {
	if op.o == nil && op.res == nil && op.err == nil {
		return nil, newError(op.name, ErrBadState, "the operation is closed")
	}
	if e := op.outcome(); e != nil {
		return nil, e
	}
	if op.res != nil || !op.hasResult {
		return op.res, nil
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if Code(C.bai_op_code(op.o)) == codePending {
		return nil, newError(op.name, ErrBadState, "the operation still runs")
	}
	var r *C.bai_exec_result_t
	if rc := C.bai_op_result(op.o, &r); rc != C.BAI_OK {
		return nil, lastError(op.name, rc)
	}
	op.res = takeResult(r)
	return op.res, nil
}

// Done reports whether the operation ended (finished or failed).
func (op *Operation) Done() bool { return op.Code() != codePending }

// Code is the operation's code: pending (1) while it runs, then OK or the error code.
func (op *Operation) Code() Code {
	op.mu.RLock()
	defer op.mu.RUnlock()
	if op.o == nil {
		if op.err != nil {
			return op.err.Code
		}
		return ErrBadState
	}
	return Code(C.bai_op_code(op.o))
}

// RunID is the run id the server gave the run; "" until it did (and for streamed runs).
func (op *Operation) RunID() string {
	op.mu.RLock()
	defer op.mu.RUnlock()
	if op.o == nil {
		return ""
	}
	return C.GoString(C.bai_op_run_id(op.o))
}

// UserData is RunOptions.UserData of the call that started the operation.
func (op *Operation) UserData() any { return op.st.run.UserData }

// InputRequest is the input the operation waits for (after PollWaitingInput): its prompt,
// password flag and run id.
func (op *Operation) InputRequest() (InputRequest, error) {
	op.mu.RLock()
	defer op.mu.RUnlock()
	if op.o == nil {
		return InputRequest{}, newError(op.name, ErrBadState, "the operation is closed")
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var b C.bai_buf_t
	if rc := C.bai_op_input_prompt(op.o, &b); rc != C.BAI_OK {
		return InputRequest{}, lastError(op.name+": input prompt", rc)
	}
	return InputRequest{
		Prompt:     string(takeBuf(&b)),
		IsPassword: bool(C.bai_op_input_is_password(op.o)),
		RunID:      C.GoString(C.bai_op_run_id(op.o)),
	}, nil
}

// SendInput answers the input the operation waits for with one line (without its newline).
func (op *Operation) SendInput(line string) error {
	op.mu.RLock()
	defer op.mu.RUnlock()
	if op.o == nil {
		return newError(op.name, ErrBadState, "the operation is closed")
	}
	return op.sendInput(line)
}

func (op *Operation) sendInput(line string) error {
	p, n := bytesArg([]byte(line))
	defer C.free(unsafe.Pointer(p))
	return call(op.name+": send input", func() C.bai_code_t { return C.bai_op_send_input(op.o, p, n) })
}

// Cancel cancels the operation; any goroutine, idempotent. A run still queued behind another
// ends with ErrCancelled and never executes; a run executing is interrupted on the server and
// ends with ErrInterrupted once the server confirmed it (at most 15 s later).
func (op *Operation) Cancel() error {
	// Not op.mu: a Close waiting for a Wait in progress must not hold up a cancel.
	op.freeMu.Lock()
	defer op.freeMu.Unlock()
	if op.o == nil {
		return nil
	}
	return call(op.name+": cancel", func() C.bai_code_t { return C.bai_op_cancel(op.o) })
}

// Close frees the operation, cancelling it if it still runs (a run is interrupted on the
// server in the background). Closing twice is harmless; the outcome and result read before
// stay readable.
func (op *Operation) Close() error {
	op.mu.Lock()
	defer op.mu.Unlock()
	if op.o != nil {
		op.freeMu.Lock()
		op.s.opMu.Lock()
		delete(op.s.blocking, op)
		C.bai_op_free(op.o)
		op.o = nil
		op.s.opMu.Unlock()
		op.freeMu.Unlock()
	}
	return nil
}

// Wait drives the operation from this goroutine until it ends and returns its result (or its
// error). Input requests not answered inside the poll are answered with RunOptions.OnInput
// (ErrBadState without one). When ctx ends, the operation is cancelled and Wait returns
// promptly with an error wrapping ctx.Err(). Wait does not close the operation.
func (op *Operation) Wait(ctx context.Context) (*Result, error) {
	op.mu.RLock()
	defer op.mu.RUnlock()
	if op.o == nil {
		return nil, newError(op.name, ErrBadState, "the operation is closed")
	}
	st := op.st
	stop := watchOp(ctx, op.o)
	defer stop()
	for {
		state, err := op.poll(pollInterval)
		if err != nil {
			e := err.(*Error)
			if ctx.Err() != nil && (e.Code == ErrCancelled || e.Code == ErrInterrupted || e.Code == ErrTimeout) {
				e.cause = ctx.Err()
			}
			return nil, e
		}
		switch state {
		case PollPending:
			if ctx.Err() != nil {
				C.bai_op_cancel(op.o)
			}
		case PollDone:
			stop()
			return op.result()
		case PollWaitingInput:
			if err := ctx.Err(); err != nil {
				C.bai_op_cancel(op.o)
				continue // the cancelled run ends with its own outcome
			}
			req := InputRequest{}
			if st.input != nil {
				req = *st.input
			} else if r, err := op.inputRequest(); err == nil {
				req = r
			}
			st.input = nil
			if st.run.OnInput == nil {
				C.bai_op_cancel(op.o)
				return nil, newError(op.name, ErrBadState, "the code asks for input and RunOptions.OnInput is nil")
			}
			line, err, ok := askInput(ctx, st.run.OnInput, req)
			if !ok {
				C.bai_op_cancel(op.o)
				continue
			}
			if err != nil {
				C.bai_op_cancel(op.o)
				e := newError(op.name, ErrAbortedByCallback, "input: "+err.Error())
				e.cause = err
				return nil, e
			}
			if err := op.sendInput(line); err != nil && ctx.Err() == nil {
				return nil, err
			}
		}
	}
}

func (op *Operation) inputRequest() (InputRequest, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var b C.bai_buf_t
	if rc := C.bai_op_input_prompt(op.o, &b); rc != C.BAI_OK {
		return InputRequest{}, lastError(op.name+": input prompt", rc)
	}
	return InputRequest{Prompt: string(takeBuf(&b)), IsPassword: bool(C.bai_op_input_is_password(op.o)),
		RunID: C.GoString(C.bai_op_run_id(op.o))}, nil
}

// watchOp cancels op from another goroutine as soon as ctx ends. stop waits for the watcher
// to finish, so that bai_op_cancel never races bai_op_free.
func watchOp(ctx context.Context, o *C.bai_op_t) (stop func()) {
	return watchContext(ctx, func(<-chan struct{}) { C.bai_op_cancel(o) })
}

// watchContext runs onEnd on its own goroutine once ctx ends, unless stop came first; onEnd
// may wait on stopped to return when stop is called. stop (idempotent) waits for that
// goroutine to finish, so nothing it does outlives the handle it acts on.
func watchContext(ctx context.Context, onEnd func(stopped <-chan struct{})) (stop func()) {
	if ctx.Done() == nil {
		return func() {}
	}
	stopped := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		select {
		case <-stopped:
		case <-ctx.Done():
			onEnd(stopped)
		}
	}()
	var once sync.Once
	return func() { once.Do(func() { close(stopped); wg.Wait() }) }
}

// Poll drives every operation of the session (bai_session_poll): it waits up to timeout (0:
// never blocks; negative: no limit) for news, then delivers every ready record to the
// RunOptions of the operation it belongs to, on this goroutine. It returns how many operations
// finished during the call; take them with NextDone or Done. One goroutine polls a session at
// a time.
func (s *Session) Poll(timeout time.Duration) (int, error) {
	h, err := s.acquire("poll")
	if err != nil {
		return 0, err
	}
	defer s.release()
	var n C.size_t
	if err := call("poll", func() C.bai_code_t { return C.bai_session_poll(h, durationMS(timeout), &n) }); err != nil {
		return 0, err
	}
	return int(n), nil
}

// NextDone is the next operation of the session that finished, in completion order, or nil
// when there is none (yet) (bai_session_next_done). Each finished operation is handed out
// once, however it was driven; closed ones, and those of Run, Stream, Upload and the other
// blocking forms, are skipped. Read its UserData, Result or Err, then Close it.
func (s *Session) NextDone() *Operation {
	h, err := s.acquire("next done")
	if err != nil {
		return nil
	}
	defer s.release()
	s.opMu.Lock()
	defer s.opMu.Unlock()
	for {
		o := C.bai_session_next_done(h)
		if o == nil {
			return nil
		}
		if st := stateOfOp(o); st != nil && !st.internal && st.op != nil {
			return st.op
		}
	}
}

// stateOfOp is the state behind an operation's userdata, or nil for one this package did not
// start.
func stateOfOp(o *C.bai_op_t) (st *callState) {
	ud := C.bai_op_userdata(o)
	if ud == nil {
		return nil
	}
	defer func() {
		if recover() != nil { // not a cgo.Handle of ours
			st = nil
		}
	}()
	st, _ = cgo.Handle(uintptr(ud)).Value().(*callState)
	return st
}

// Done iterates over the operations that finished and were not handed out yet, in completion
// order, each once (see NextDone):
//
//	for pending > 0 {
//		s.Poll(200 * time.Millisecond)
//		for op := range s.Done() {
//			job := op.UserData().(*Job)
//			...
//			op.Close()
//		}
//	}
func (s *Session) Done() iter.Seq[*Operation] {
	return func(yield func(*Operation) bool) {
		for {
			op := s.NextDone()
			if op == nil || !yield(op) {
				return
			}
		}
	}
}

// EventFD is a file descriptor that becomes readable when an operation of the session has
// news: watch it (epoll, a poller) and call Poll(0). Do not read, write or close it.
func (s *Session) EventFD() int {
	h, err := s.acquire("event fd")
	if err != nil {
		return -1
	}
	defer s.release()
	return int(C.bai_session_event_fd(h))
}

// Wakeup ends a wait in Poll now (any goroutine).
func (s *Session) Wakeup() error {
	h, err := s.acquire("wakeup")
	if err != nil {
		return err
	}
	defer s.release()
	return call("wakeup", func() C.bai_code_t { return C.bai_session_wakeup(h) })
}

// Cancel cancels every blocking call in progress on the session, whatever goroutine runs it
// and whatever handle it is on (Run, Stream, Execute, Upload, Download, folder and raw
// calls): each returns an error with ErrCancelled (a run that executed ErrInterrupted).
// Calls started afterwards are not affected, nor are operations of StartRun and the other
// Start forms (Operation.Cancel). Any goroutine.
func (s *Session) Cancel() error {
	h, err := s.acquire("cancel")
	if err != nil {
		return err
	}
	defer s.release()
	s.opMu.Lock()
	for op := range s.blocking { // Run, Stream, Upload, ... are operations underneath
		C.bai_op_cancel(op.o)
	}
	s.opMu.Unlock()
	return call("cancel", func() C.bai_code_t { return C.bai_session_cancel(h) })
}
