package backendai

/*
#include <stdlib.h>
#include "backendai.h"
*/
import "C"

import (
	"fmt"
	"runtime/cgo"
	"unsafe"
)

// Userdata handed to the library is a runtime/cgo.Handle (an integer, never a Go pointer).
// Each registration gets its own handle, deleted in baiGoRelease when the library calls
// userdata_free for it: exactly once per registration.

func handleOf(ud unsafe.Pointer) cgo.Handle { return cgo.Handle(uintptr(ud)) }

func stateOf(ud unsafe.Pointer) *callState {
	st, _ := handleOf(ud).Value().(*callState)
	return st
}

// guard turns a panic of user code inside a callback into an error kept on the state, and
// the callback's answer into BAI_CB_STOP: a Go panic must never unwind through C frames.
func (st *callState) guard(f func() error) (rc C.int32_t) {
	defer func() {
		if r := recover(); r != nil {
			st.fail(fmt.Errorf("backendai: callback panicked: %v", r))
			rc = C.BAI_CB_STOP
		}
	}()
	if err := f(); err != nil {
		st.fail(err)
		return C.BAI_CB_STOP
	}
	return C.BAI_CB_CONTINUE
}

//export baiGoConsole
func baiGoConsole(ud unsafe.Pointer, rec *C.bai_console_record_t) C.int32_t {
	st := stateOf(ud)
	if st == nil || rec == nil {
		return C.BAI_CB_CONTINUE
	}
	r := ConsoleRecord{
		Stream: Stream(rec.stream),
		Kind:   C.GoString(rec.kind),
		RunID:  C.GoString(rec.run_id),
	}
	if rec.len > 0 {
		r.Data = C.GoBytes(unsafe.Pointer(rec.data), C.int(rec.len))
	}
	return st.guard(func() error { return st.console(r) })
}

//export baiGoMedia
func baiGoMedia(ud unsafe.Pointer, rec *C.bai_media_record_t) C.int32_t {
	st := stateOf(ud)
	if st == nil || rec == nil || st.run.OnMedia == nil {
		return C.BAI_CB_CONTINUE
	}
	m := Media{
		MIME:    C.GoString(rec.mime),
		Decoded: bool(rec.decoded),
		RunID:   C.GoString(rec.run_id),
	}
	if rec.len > 0 {
		m.Data = C.GoBytes(unsafe.Pointer(rec.data), C.int(rec.len))
	}
	return st.guard(func() error { st.run.OnMedia(m); return nil })
}

// baiGoInput records the request. For a run of Run, Stream or Wait it returns without a reply:
// the operation then reports BAI_WAITING_INPUT and the loop asks RunOptions.OnInput outside of
// the C callback, where it may block and where the context is still honoured. For an
// operation of Start (driven by Poll or Session.Poll) it asks OnInput here and replies.
//
//export baiGoInput
func baiGoInput(ud unsafe.Pointer, req *C.bai_input_request_t) C.int32_t {
	st := stateOf(ud)
	if st == nil || req == nil {
		return C.BAI_CB_CONTINUE
	}
	r := InputRequest{
		Prompt:     C.GoString(C.bai_input_request_prompt(req)),
		IsPassword: bool(C.bai_input_request_is_password(req)),
		RunID:      C.GoString(C.bai_input_request_run_id(req)),
	}
	if !st.answerInCallback || st.run.OnInput == nil {
		st.input = &r
		return C.BAI_CB_CONTINUE
	}
	return st.guard(func() error {
		line, err := st.run.OnInput(r)
		if err != nil {
			return err
		}
		p, n := bytesArg([]byte(line))
		defer C.free(unsafe.Pointer(p))
		if rc := C.bai_input_reply(req, p, n); rc != C.BAI_OK {
			return lastError("input reply", rc)
		}
		return nil
	})
}

//export baiGoProgress
func baiGoProgress(ud unsafe.Pointer, p *C.bai_progress_t) C.int32_t {
	st := stateOf(ud)
	if st == nil || p == nil || st.onProgress == nil {
		return C.BAI_CB_CONTINUE
	}
	done, total := uint64(p.done), uint64(p.total)
	return st.guard(func() error { st.onProgress(done, total); return nil })
}

//export baiGoRelease
func baiGoRelease(ud unsafe.Pointer) {
	if ud != nil {
		handleOf(ud).Delete()
	}
}
