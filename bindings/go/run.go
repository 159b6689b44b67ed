package backendai

/*
#include <stdlib.h>
#include "backendai.h"
*/
import "C"

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"runtime"
	"sync"
	"time"
	"unsafe"
)

// Stream of a console record.
type Stream int32

const (
	Stdout     Stream = 0
	Stderr     Stream = 1
	HTML       Stream = 2
	Log        Stream = 3
	Completion Stream = 4
	Other      Stream = 5 // see ConsoleRecord.Kind
)

// ConsoleRecord is one chunk of console output, in server order. Chunks are not aligned to
// lines or UTF-8 characters.
type ConsoleRecord struct {
	Stream Stream
	Kind   string // the server's record kind: "stdout", "stderr", "html", ...
	Data   []byte
	RunID  string
}

// Media is an image, SVG or drawing sent by the running code. Images sent as data URIs are
// decoded (Decoded true); SVG and drawings hold the text as sent.
type Media struct {
	MIME    string
	Data    []byte
	Decoded bool
	RunID   string
}

// InputRequest describes a request of the running code for one line of input.
type InputRequest struct {
	Prompt     string // stdout since its last newline before the request: what input("name? ") printed
	IsPassword bool   // getpass(): do not echo
	RunID      string
}

// RunOptions route the output of a run and answer its input requests. All fields are
// optional. The functions are called on the goroutine that called Run, never concurrently.
type RunOptions struct {
	Stdout    io.Writer
	Stderr    io.Writer
	OnConsole func(ConsoleRecord) // every console record, including stdout and stderr
	OnMedia   func(Media)
	// OnInput answers input() and getpass() with one line (without its newline). Without it,
	// a run asking for input fails with ErrBadState.
	OnInput func(InputRequest) (string, error)
}

// BatchOptions are the steps of a batch run. Each is "" (skip), "*" (the kernel's default)
// or a shell command run in /home/work.
type BatchOptions struct {
	Clean    string
	Build    string
	Exec     string
	BuildLog bool
}

// ExecMode of a single Execute step.
type ExecMode int32

const (
	ModeQuery    ExecMode = 0 // run a code snippet in the session's interpreter
	ModeBatch    ExecMode = 1 // run clean/build/exec steps
	ModeContinue ExecMode = 2 // continue a run (empty code)
	ModeInput    ExecMode = 3 // send a line of input to a run (the line as code)
)

// Result is the outcome of a run or of one execution step.
type Result struct {
	Status      string // "finished", "continued", "waiting-input", "build-finished", ...
	RunID       string
	ExitCode    int64
	HasExitCode bool
	// Options and Files are the server's JSON parsed, nil when it sent none: Options is
	// {"is_password": false} while a step waits for input.
	Options map[string]any
	Files   []any
}

// parseJSON decodes the library's JSON text into v; null, "" or text that is not of v's
// shape leave v at its zero value (nil).
func parseJSON(p *C.char, v any) {
	if p != nil {
		_ = json.Unmarshal([]byte(C.GoString(p)), v)
	}
}

func takeResult(r *C.bai_exec_result_t) *Result {
	defer C.bai_exec_result_free(r)
	out := &Result{
		Status: C.GoString(C.bai_exec_result_status(r)),
		RunID:  C.GoString(C.bai_exec_result_run_id(r)),
	}
	parseJSON(C.bai_exec_result_options_json(r), &out.Options)
	parseJSON(C.bai_exec_result_files_json(r), &out.Files)
	var code C.int64_t
	if C.bai_exec_result_exit_code(r, &code) {
		out.ExitCode, out.HasExitCode = int64(code), true
	}
	return out
}

// callState is what the callbacks of one call see (through cgo.Handles).
type callState struct {
	run        RunOptions
	onProgress func(done, total uint64)
	err        error         // first failure of a callback (writer error, panic)
	input      *InputRequest // set by the input callback, consumed by the poll loop
	tail       []byte        // stdout since its last newline (the prompt of input())
}

func (st *callState) fail(err error) {
	if st.err == nil {
		st.err = err
	}
}

func (st *callState) console(r ConsoleRecord) error {
	if st.run.OnConsole != nil {
		st.run.OnConsole(r)
	}
	var w io.Writer
	switch r.Stream {
	case Stdout:
		w = st.run.Stdout
		if i := bytes.LastIndexByte(r.Data, '\n'); i >= 0 {
			st.tail = append(st.tail[:0], r.Data[i+1:]...)
		} else if len(st.tail) < 4096 {
			st.tail = append(st.tail, r.Data...)
		}
	case Stderr:
		w = st.run.Stderr
	}
	if w != nil && len(r.Data) > 0 {
		if _, err := w.Write(r.Data); err != nil {
			return err
		}
	}
	return nil
}

func (st *callState) lastLine() string { return string(st.tail) }

// Run runs code to the end in the session's interpreter (query mode), sending "continue"
// after partial results and answering input requests with opts.Input, and returns the final
// result. When ctx ends, the run is cancelled (and interrupted on the server) and Run returns
// promptly with an error wrapping ctx.Err().
func (c *Compute) Run(ctx context.Context, code string, opts RunOptions) (*Result, error) {
	return c.run(ctx, "run", []byte(code), ModeQuery, nil, opts)
}

// Stream runs code like Run, over the streaming (WebSocket) endpoint: output reaches opts as
// soon as the server sends it instead of once per request round trip.
func (c *Compute) Stream(ctx context.Context, code string, opts RunOptions) (*Result, error) {
	return c.runWith(ctx, "stream", []byte(code), ModeQuery, nil, opts, true)
}

// RunBatch runs a batch job (clean, build and exec steps) to the end.
func (c *Compute) RunBatch(ctx context.Context, b BatchOptions, opts RunOptions) (*Result, error) {
	return c.run(ctx, "run batch", nil, ModeBatch, &b, opts)
}

// batchC holds bai_batch_opts_t in C memory (a Go struct holding it next to Go pointers
// could not be passed to C).
type batchC struct {
	opts *C.bai_batch_opts_t
	strs []*C.char
}

func newBatchC(b *BatchOptions) *batchC {
	if b == nil {
		return nil
	}
	bc := &batchC{opts: (*C.bai_batch_opts_t)(C.calloc(1, C.size_t(unsafe.Sizeof(C.bai_batch_opts_t{}))))}
	bc.opts.struct_size = C.uint32_t(unsafe.Sizeof(*bc.opts))
	bc.opts.build_log = C.bool(b.BuildLog)
	set := func(v string) *C.char {
		p := cstr(v, true)
		if p != nil {
			bc.strs = append(bc.strs, p)
		}
		return p
	}
	bc.opts.clean, bc.opts.build, bc.opts.exec = set(b.Clean), set(b.Build), set(b.Exec)
	return bc
}

func (bc *batchC) ptr() *C.bai_batch_opts_t {
	if bc == nil {
		return nil
	}
	return bc.opts
}

func (bc *batchC) free() {
	if bc != nil {
		for _, p := range bc.strs {
			cfree(p)
		}
		C.free(unsafe.Pointer(bc.opts))
	}
}

func (c *Compute) run(ctx context.Context, op string, code []byte, mode ExecMode, b *BatchOptions, opts RunOptions) (*Result, error) {
	return c.runWith(ctx, op, code, mode, b, opts, false)
}

func (c *Compute) runWith(ctx context.Context, op string, code []byte, mode ExecMode, b *BatchOptions, opts RunOptions, stream bool) (*Result, error) {
	if err := ctx.Err(); err != nil {
		return nil, ctxError(op, err)
	}
	h, err := c.lock(op)
	if err != nil {
		return nil, err
	}
	defer c.mu.Unlock()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()

	st := &callState{run: opts}
	defer clearCallbacks(h)
	if err := registerCallbacks(h, st, cbConsole|cbMedia|cbInput); err != nil {
		return nil, err
	}
	p, n := bytesArg(code)
	defer C.free(unsafe.Pointer(p))
	bc := newBatchC(b)
	defer bc.free()
	var o *C.bai_op_t
	var rc C.bai_code_t
	if stream {
		rc = C.bai_compute_stream_start(h, p, n, C.int32_t(mode), bc.ptr(), &o)
	} else {
		rc = C.bai_compute_run_start(h, p, n, C.int32_t(mode), bc.ptr(), &o)
	}
	if rc != C.BAI_OK {
		return nil, lastError(op, rc)
	}
	var res *Result
	err = drive(ctx, op, h, o, st, func() error {
		var r *C.bai_exec_result_t
		if rc := C.bai_op_result(o, &r); rc != C.BAI_OK {
			return lastError(op, rc)
		}
		res = takeResult(r)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// pollInterval bounds each bai_op_poll wait, so that the loop also notices a finished
// context by itself (the watcher cancels the op at once in any case).
const pollInterval = 200 * time.Millisecond

// drive polls op to its end on the calling (locked) thread, answering input requests,
// cancelling it when ctx ends, and frees it. onOK reads the result of a finished op.
func drive(ctx context.Context, op string, h *C.bai_compute_t, o *C.bai_op_t, st *callState, onOK func() error) error {
	// abandonInput ends a run that waits for input: cancelling the op alone leaves it
	// reporting BAI_WAITING_INPUT, and the library's background interrupt may land on the
	// next run; interrupting here, before returning, keeps runs apart.
	abandonInput := func() {
		C.bai_op_cancel(o)
		if h != nil {
			C.bai_compute_interrupt(h)
		}
	}
	stop := watchOp(ctx, o)
	stopped := false
	defer func() {
		if !stopped {
			stop()
		}
		C.bai_op_free(o)
	}()
	for {
		rc := C.bai_op_poll(o, C.int64_t(pollInterval.Milliseconds()))
		switch Code(rc) {
		case codePending:
			if ctx.Err() != nil {
				C.bai_op_cancel(o)
			}
			continue
		case codeWaitingInput:
			if err := ctx.Err(); err != nil {
				// A cancelled op may still report the pending input request: end it here.
				abandonInput()
				stop()
				stopped = true
				return ctxError(op, err)
			}
			req := InputRequest{}
			if st.input != nil {
				req = *st.input
			}
			st.input = nil
			if st.run.OnInput == nil {
				abandonInput()
				stop()
				stopped = true
				return newError(op, ErrBadState, "the code asks for input and RunOptions.OnInput is nil")
			}
			line, err, ok := askInput(ctx, st.run.OnInput, req)
			if !ok {
				abandonInput()
				stop()
				stopped = true
				return ctxError(op, ctx.Err())
			}
			if err != nil {
				abandonInput()
				stop()
				stopped = true
				e := newError(op, ErrAbortedByCallback, "input: "+err.Error())
				e.cause = err
				return e
			}
			p, n := bytesArg([]byte(line))
			rc := C.bai_op_send_input(o, p, n)
			C.free(unsafe.Pointer(p))
			if rc != C.BAI_OK && ctx.Err() == nil {
				return lastError(op+": send input", rc)
			}
			continue
		case OK:
			stop()
			stopped = true
			return onOK()
		default:
			e := lastError(op, rc)
			if e.Message == "" {
				var b C.bai_buf_t
				if C.bai_op_error_message(o, &b) == C.BAI_OK {
					e.Message = string(takeBuf(&b))
				}
			}
			stop()
			stopped = true
			if ctx.Err() != nil && (e.Code == ErrCancelled || e.Code == ErrInterrupted || e.Code == ErrTimeout) {
				e.cause = ctx.Err()
			} else if st.err != nil && e.Code == ErrAbortedByCallback {
				e.cause = st.err
			}
			return e
		}
	}
}

// askInput calls the Input function outside of any C callback, in its own goroutine so that
// a blocking answer does not delay the end of the context; ok is false when ctx ended first
// (the answer, if it ever comes, is dropped).
func askInput(ctx context.Context, f func(InputRequest) (string, error), req InputRequest) (line string, err error, ok bool) {
	type answer struct {
		line string
		err  error
	}
	ch := make(chan answer, 1)
	go func() {
		l, e := f(req)
		ch <- answer{l, e}
	}()
	select {
	case a := <-ch:
		return a.line, a.err, true
	case <-ctx.Done():
		return "", nil, false
	}
}

// watchOp cancels op from another goroutine as soon as ctx ends. stop waits for the watcher
// to finish, so that bai_op_cancel never races bai_op_free.
func watchOp(ctx context.Context, o *C.bai_op_t) (stop func()) {
	if ctx.Done() == nil {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		select {
		case <-done:
		case <-ctx.Done():
			C.bai_op_cancel(o)
		}
	}()
	var once sync.Once
	return func() { once.Do(func() { close(done); wg.Wait() }) }
}

// Execute sends one execute request (the building block of the official SDK's loop) and
// delivers its console and media records to opts before returning. runID is "" to start a
// run, or the run to continue (ModeContinue, empty code) or to answer (ModeInput, the line as
// code). Most programs want Run. opts.OnInput is not used: a step waiting for input returns
// with Status "waiting-input".
func (c *Compute) Execute(ctx context.Context, mode ExecMode, runID, code string, b *BatchOptions, opts RunOptions) (*Result, error) {
	h, err := c.lock("execute")
	if err != nil {
		return nil, err
	}
	defer c.mu.Unlock()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	st := &callState{run: opts}
	defer clearCallbacks(h)
	if err := registerCallbacks(h, st, cbConsole|cbMedia); err != nil {
		return nil, err
	}
	rid := cstr(runID, true)
	defer cfree(rid)
	p, n := bytesArg([]byte(code))
	defer C.free(unsafe.Pointer(p))
	bc := newBatchC(b)
	defer bc.free()
	var r *C.bai_exec_result_t
	err = blockingOn(ctx, "execute", h, func(h *C.bai_compute_t) C.bai_code_t {
		return C.bai_compute_execute(h, rid, p, n, C.int32_t(mode), bc.ptr(), &r)
	})
	if err != nil {
		if e, ok := err.(*Error); ok && st.err != nil && e.Code == ErrAbortedByCallback {
			e.cause = st.err
		}
		return nil, err
	}
	return takeResult(r), nil
}
