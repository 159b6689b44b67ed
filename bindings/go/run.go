package backendai

/*
#include <stdlib.h>
#include "backendai.h"
*/
import "C"

import (
	"context"
	"encoding/json"
	"io"
	"runtime"
	"time"
	"unsafe"
)

// Stream of a console record.
type Stream int32

const (
	Stdout     Stream = 0 // standard output
	Stderr     Stream = 1 // standard error
	HTML       Stream = 2 // HTML output
	Log        Stream = 3 // kernel log output
	Completion Stream = 4 // completion output
	Other      Stream = 5 // see ConsoleRecord.Kind
)

// ConsoleRecord is one chunk of console output, in server order. Chunks are not aligned to
// lines or UTF-8 characters.
type ConsoleRecord struct {
	Stream Stream // the stream; Other for kinds named only by Kind
	Kind   string // the server's record kind: "stdout", "stderr", "html", ...
	Data   []byte // the bytes (a copy)
	RunID  string // the run it belongs to ("" for streamed runs)
}

// Media is an image, SVG or drawing sent by the running code. Images sent as data URIs are
// decoded (Decoded true); SVG and drawings hold the text as sent.
type Media struct {
	MIME    string // e.g. "image/png", "image/svg+xml"
	Data    []byte // decoded image bytes, or the text as sent
	Decoded bool   // Data was decoded from a data URI
	RunID   string // the run it belongs to
}

// InputRequest describes a request of the running code for one line of input.
type InputRequest struct {
	Prompt     string // stdout since its last newline before the request: what input("name? ") printed
	IsPassword bool   // getpass(): do not echo
	RunID      string // the run asking
}

// RunOptions route the output of one run and answer its input requests: they belong to that
// run alone (bai_op_opts_t), whichever goroutine drives it. All fields are optional. The
// functions are called on the goroutine that drives the run (Run, Wait, Poll or
// Session.Poll), never concurrently.
type RunOptions struct {
	Stdout    io.Writer           // standard output, as it arrives
	Stderr    io.Writer           // standard error, as it arrives
	OnConsole func(ConsoleRecord) // every console record, including stdout and stderr
	OnMedia   func(Media)         // images, SVG and drawings the code sends
	// OnInput answers input() and getpass() with one line (without its newline); returning
	// an error stops the run (ErrAbortedByCallback, wrapping it). Without it, a run asking
	// for input fails with ErrBadState (Run, Wait) or waits (Poll: PollWaitingInput).
	OnInput func(InputRequest) (string, error)
	// UserData is any value of the caller's, kept with the operation: Operation.UserData,
	// for instance on the operations Session.NextDone hands out. (Named so as not to be
	// mistaken for a context.Context.)
	UserData any
}

// BatchOptions are the steps of a batch run. Each is "" (skip), "*" (the kernel's default)
// or a shell command run in /home/work.
type BatchOptions struct {
	Clean    string // the clean step
	Build    string // the build step
	Exec     string // the exec step
	BuildLog bool   // also stream the build step's output
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
	RunID       string // the server's id of the run
	ExitCode    int64  // the exit code, when HasExitCode
	HasExitCode bool   // the server sent an exit code
	// Raised tells whether the code raised: a non-zero exit code, or a Python traceback on
	// stderr (query mode reports exit code 0 even then, as the real manager does).
	Raised bool
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
		Raised: bool(C.bai_exec_result_raised(r)),
	}
	parseJSON(C.bai_exec_result_options_json(r), &out.Options)
	parseJSON(C.bai_exec_result_files_json(r), &out.Files)
	var code C.int64_t
	if C.bai_exec_result_exit_code(r, &code) {
		out.ExitCode, out.HasExitCode = int64(code), true
	}
	return out
}

// callState is what the callbacks of one call see (through a cgo.Handle).
type callState struct {
	run              RunOptions
	onProgress       func(done, total uint64)
	err              error         // first failure of a callback (writer error, panic)
	input            *InputRequest // set by the input callback, consumed by the poll loop
	answerInCallback bool          // OnInput is asked inside the input callback (Start)
	op               *Operation    // the operation these callbacks serve, if one
	internal         bool          // an operation of Run/Upload/...: never handed out by NextDone
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

// Run runs code to the end in the session's interpreter (query mode), sending "continue"
// after partial results and answering input requests with opts.OnInput, and returns the final
// result. When ctx ends, the run is cancelled and Run returns promptly with an error wrapping
// ctx.Err() (ErrCancelled while it was queued behind other runs, ErrInterrupted once it
// executed). Runs on one compute session execute one at a time in start order.
func (c *Compute) Run(ctx context.Context, code string, opts RunOptions) (*Result, error) {
	return c.runToEnd(ctx, "run", []byte(code), ModeQuery, nil, opts, false)
}

// Stream runs code like Run, over the streaming (WebSocket) endpoint: output reaches opts as
// soon as the server sends them instead of once per request round trip.
func (c *Compute) Stream(ctx context.Context, code string, opts RunOptions) (*Result, error) {
	return c.runToEnd(ctx, "stream", []byte(code), ModeQuery, nil, opts, true)
}

// RunBatch runs a batch job (clean, build and exec steps) to the end.
func (c *Compute) RunBatch(ctx context.Context, b BatchOptions, opts RunOptions) (*Result, error) {
	return c.runToEnd(ctx, "run batch", nil, ModeBatch, &b, opts, false)
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

func (c *Compute) runToEnd(ctx context.Context, op string, code []byte, mode ExecMode, b *BatchOptions, opts RunOptions, stream bool) (*Result, error) {
	if err := ctx.Err(); err != nil {
		return nil, ctxError(op, err)
	}
	o, err := c.start(op, code, mode, b, opts, stream, true)
	if err != nil {
		return nil, err
	}
	defer o.Close()
	return o.Wait(ctx)
}

// pollInterval bounds each bai_op_poll wait, so that the loop also notices a finished
// context by itself (the watcher cancels the op at once in any case).
const pollInterval = 200 * time.Millisecond

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
	oo := newOpOpts(st)
	defer oo.free()
	rid := cstr(runID, true)
	defer cfree(rid)
	p, n := bytesArg([]byte(code))
	defer C.free(unsafe.Pointer(p))
	bc := newBatchC(b)
	defer bc.free()
	var r *C.bai_exec_result_t
	err = blockingOn(ctx, "execute", h, func(h *C.bai_compute_t) C.bai_code_t {
		return C.bai_compute_execute(h, rid, p, n, C.int32_t(mode), bc.ptr(), oo.p, &r)
	})
	if err != nil {
		if e, ok := err.(*Error); ok && st.err != nil && e.Code == ErrAbortedByCallback {
			e.cause = st.err
		}
		return nil, err
	}
	return takeResult(r), nil
}
