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

static bai_code_t bai_go_set_console(bai_compute_t *c, uintptr_t h) {
	return bai_compute_set_console_cb(c, (bai_console_cb)baiGoConsole, (void *)h, (bai_userdata_free_cb)baiGoRelease);
}
static bai_code_t bai_go_set_media(bai_compute_t *c, uintptr_t h) {
	return bai_compute_set_media_cb(c, (bai_media_cb)baiGoMedia, (void *)h, (bai_userdata_free_cb)baiGoRelease);
}
static bai_code_t bai_go_set_input(bai_compute_t *c, uintptr_t h) {
	return bai_compute_set_input_cb(c, (bai_input_cb)baiGoInput, (void *)h, (bai_userdata_free_cb)baiGoRelease);
}
static bai_code_t bai_go_set_progress(bai_compute_t *c, uintptr_t h) {
	return bai_compute_set_progress_cb(c, (bai_progress_cb)baiGoProgress, (void *)h, (bai_userdata_free_cb)baiGoRelease);
}
static bai_code_t bai_go_clear_callbacks(bai_compute_t *c) {
	bai_code_t rc = bai_compute_set_console_cb(c, NULL, NULL, NULL);
	if (rc == BAI_OK) rc = bai_compute_set_media_cb(c, NULL, NULL, NULL);
	if (rc == BAI_OK) rc = bai_compute_set_input_cb(c, NULL, NULL, NULL);
	if (rc == BAI_OK) rc = bai_compute_set_progress_cb(c, NULL, NULL, NULL);
	return rc;
}

static bai_code_t bai_go_vfolder_upload_start(const bai_session_t *s, const char *name,
		const char *const *paths, size_t n, const char *base, bool recursive, uintptr_t h,
		bai_op_t **out) {
	return bai_vfolder_upload_start(s, name, paths, n, base, recursive,
		h ? (bai_progress_cb)baiGoProgress : NULL, (void *)h,
		h ? (bai_userdata_free_cb)baiGoRelease : NULL, out);
}
static bai_code_t bai_go_vfolder_download_start(const bai_session_t *s, const char *name,
		const char *const *files, size_t n, const char *dest, uintptr_t h, bai_op_t **out) {
	return bai_vfolder_download_start(s, name, files, n, dest,
		h ? (bai_progress_cb)baiGoProgress : NULL, (void *)h,
		h ? (bai_userdata_free_cb)baiGoRelease : NULL, out);
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

// Version is the loaded library's version text, e.g. "libbackendai/0.1.0 (api v7.20230615)".
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

// Callback kinds of registerCallbacks.
const (
	cbConsole = 1 << iota
	cbMedia
	cbInput
	cbProgress
)

// registerCallbacks registers the trampolines for the given kinds on h, each with its own
// cgo.Handle to st (released by the library through baiGoRelease). The caller holds the
// handle and the OS thread.
func registerCallbacks(h *C.bai_compute_t, st *callState, kinds int) error {
	type reg struct {
		kind int
		name string
		set  func(*C.bai_compute_t, C.uintptr_t) C.bai_code_t
	}
	regs := []reg{
		{cbConsole, "console", func(h *C.bai_compute_t, u C.uintptr_t) C.bai_code_t { return C.bai_go_set_console(h, u) }},
		{cbMedia, "media", func(h *C.bai_compute_t, u C.uintptr_t) C.bai_code_t { return C.bai_go_set_media(h, u) }},
		{cbInput, "input", func(h *C.bai_compute_t, u C.uintptr_t) C.bai_code_t { return C.bai_go_set_input(h, u) }},
		{cbProgress, "progress", func(h *C.bai_compute_t, u C.uintptr_t) C.bai_code_t { return C.bai_go_set_progress(h, u) }},
	}
	for _, r := range regs {
		if kinds&r.kind == 0 {
			continue
		}
		// The library releases the userdata (calls baiGoRelease) even when registration fails.
		hd := cgo.NewHandle(st)
		if rc := r.set(h, C.uintptr_t(hd)); rc != C.BAI_OK {
			return lastError("set "+r.name+" callback", rc)
		}
	}
	return nil
}

// clearCallbacks unregisters every callback of h; the library releases their userdata once
// no operation uses it.
func clearCallbacks(h *C.bai_compute_t) {
	C.bai_go_clear_callbacks(h)
}

// newU16v copies ports into C memory (release with C.free).
func newU16v(ports []uint16) *C.uint16_t {
	p := C.bai_go_u16v_new(C.size_t(len(ports)))
	for i, port := range ports {
		C.bai_go_u16v_set(p, C.size_t(i), C.uint16_t(port))
	}
	return p
}

// vfolderTransferStart starts a folder upload (upload true) or download with an optional
// progress state (its handle is released by the library).
func vfolderTransferStart(upload bool, s *C.bai_session_t, name *C.char, items *cstrv, n int, dir *C.char, recursive bool, st *callState, out **C.bai_op_t) C.bai_code_t {
	var h C.uintptr_t
	if st != nil {
		h = C.uintptr_t(cgo.NewHandle(st))
	}
	if upload {
		return C.bai_go_vfolder_upload_start(s, name, (**C.char)(unsafe.Pointer(items.ptr())), C.size_t(n), dir, C.bool(recursive), h, out)
	}
	return C.bai_go_vfolder_download_start(s, name, (**C.char)(unsafe.Pointer(items.ptr())), C.size_t(n), dir, h, out)
}
