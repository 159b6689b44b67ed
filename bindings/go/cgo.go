package backendai

/*
#cgo pkg-config: backendai
#include <stdlib.h>
#include <string.h>
#include "backendai.h"

// The trampolines are defined (//export) in callbacks.go; declared here with the exact
// types cgo generates for them so that they can be passed as C function pointers.
extern int32_t baiGoConsole(void *ud, bai_console_record_t *rec);
extern int32_t baiGoMedia(void *ud, bai_media_record_t *rec);
extern int32_t baiGoInput(void *ud, bai_input_request_t *req);
extern int32_t baiGoProgress(void *ud, bai_progress_t *p);
extern void baiGoRelease(void *ud);

// Per-operation options (C memory, free with free()) routing every record of one call to the
// Go state behind the cgo.Handle h; the library releases h through baiGoRelease exactly once.
static bai_op_opts_t *bai_go_op_opts(uintptr_t h) {
	bai_op_opts_t *o = (bai_op_opts_t *)calloc(1, sizeof *o);
	if (!o) return NULL;
	o->struct_size = sizeof *o;
	o->console_cb = (bai_console_cb)baiGoConsole;
	o->media_cb = (bai_media_cb)baiGoMedia;
	o->input_cb = (bai_input_cb)baiGoInput;
	o->progress_cb = (bai_progress_cb)baiGoProgress;
	o->userdata = (void *)h;
	o->userdata_free = (bai_userdata_free_cb)baiGoRelease;
	return o;
}

// C arrays of C strings, owned by the Go side and freed with bai_go_strv_free.
static char **bai_go_strv_new(size_t n) { return (char **)calloc(n ? n : 1, sizeof(char *)); }
static void bai_go_strv_set(char **v, size_t i, char *s) { v[i] = s; }
static void bai_go_strv_free(char **v, size_t n) {
	if (!v) return;
	for (size_t i = 0; i < n; i++) free(v[i]);
	free(v);
}
static uint16_t *bai_go_u16v_new(size_t n) { return (uint16_t *)calloc(n ? n : 1, sizeof(uint16_t)); }
static void bai_go_u16v_set(uint16_t *v, size_t i, uint16_t x) { v[i] = x; }
*/
import "C"

import (
	"runtime"
	"runtime/cgo"
	"unsafe"
)

// cstrv is a C array of NUL-terminated strings allocated in C memory.
type cstrv struct {
	p *C.char
	v **C.char
	n int
}

func newCStrv(items []string) *cstrv {
	if len(items) == 0 {
		return &cstrv{}
	}
	v := C.bai_go_strv_new(C.size_t(len(items)))
	for i, s := range items {
		C.bai_go_strv_set(v, C.size_t(i), C.CString(s))
	}
	return &cstrv{v: v, n: len(items)}
}

func (s *cstrv) ptr() **C.char { return s.v }

func (s *cstrv) free() {
	if s.v != nil {
		C.bai_go_strv_free(s.v, C.size_t(s.n))
		s.v = nil
	}
}

// cstr returns a C copy of s (release with C.free), or nil for "" when nilIfEmpty.
func cstr(s string, nilIfEmpty bool) *C.char {
	if s == "" && nilIfEmpty {
		return nil
	}
	return C.CString(s)
}

func cfree(p *C.char) {
	if p != nil {
		C.free(unsafe.Pointer(p))
	}
}

// bytesArg returns a C copy of b (release with C.free) and its length. A non-nil pointer is
// returned even for empty input, since the library requires one.
func bytesArg(b []byte) (*C.uint8_t, C.size_t) {
	p := C.malloc(C.size_t(len(b) + 1))
	if len(b) > 0 {
		C.memcpy(p, unsafe.Pointer(&b[0]), C.size_t(len(b)))
	}
	return (*C.uint8_t)(p), C.size_t(len(b))
}

// takeBuf copies a library-filled bai_buf_t into Go memory and disposes it.
func takeBuf(b *C.bai_buf_t) []byte {
	if b.data == nil {
		return nil
	}
	out := C.GoBytes(unsafe.Pointer(b.data), C.int(b.len))
	C.bai_buf_dispose(b)
	return out
}

// call runs f on a locked OS thread, so that the thread-local last error read after a
// failure belongs to this call.
func call(op string, f func() C.bai_code_t) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	rc := f()
	if rc == C.BAI_OK {
		return nil
	}
	return lastError(op, rc)
}

// Version is the loaded library's version text, e.g. "libbackendai/0.2.0 (api v7.20230615)".
func Version() string { return C.GoString(C.bai_version()) }

// VersionNum is the loaded library's version as (major << 16) | (minor << 8) | patch.
func VersionNum() uint32 { return uint32(C.bai_version_num()) }

// HeaderVersionNum is the version of the header this package was compiled against.
const HeaderVersionNum = uint32(C.BAI_VERSION_NUM)

// CheckVersion reports whether the loaded library can serve this package (header version).
func CheckVersion() error {
	return call("check version", func() C.bai_code_t { return C.bai_check_version(C.BAI_VERSION_NUM) })
}

func unsafePointer(p *C.char) unsafe.Pointer { return unsafe.Pointer(p) }

// opOpts is the bai_op_opts_t of one call, routing its records to st (through a cgo.Handle
// the library releases exactly once, even when the call fails): pass it to exactly one call,
// then free it.
type opOpts struct{ p *C.bai_op_opts_t }

func newOpOpts(st *callState) opOpts {
	return opOpts{C.bai_go_op_opts(C.uintptr_t(cgo.NewHandle(st)))}
}

func (o opOpts) free() { C.free(unsafe.Pointer(o.p)) }

// newU16v copies ports into C memory (release with C.free).
func newU16v(ports []uint16) *C.uint16_t {
	p := C.bai_go_u16v_new(C.size_t(len(ports)))
	for i, port := range ports {
		C.bai_go_u16v_set(p, C.size_t(i), C.uint16_t(port))
	}
	return p
}
