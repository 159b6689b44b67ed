package backendai

/*
#include <stdlib.h>
#include "backendai.h"
*/
import "C"

import (
	"context"
	"encoding/json"
	"runtime"
	"time"
)

// Limits of the server on file transfers.
const (
	MaxUploadFiles   = int(C.BAI_MAX_UPLOAD_FILES)   // files per upload
	MaxUploadSize    = int(C.BAI_MAX_UPLOAD_SIZE)    // each uploaded file must be smaller
	MaxDownloadFiles = int(C.BAI_MAX_DOWNLOAD_FILES) // paths per download
)

// UploadOptions are the options of Upload.
type UploadOptions struct {
	// BaseDir names each file by its path relative to it ("": the current directory). A file
	// outside BaseDir is an error.
	BaseDir string
	// OnProgress gets the bytes sent so far and the total.
	OnProgress func(done, total uint64)
}

// Upload uploads local files into the session's working directory (/home/work). When ctx
// ends, the upload is cancelled and Upload returns an error wrapping ctx.Err().
func (c *Compute) Upload(ctx context.Context, paths []string, opts UploadOptions) error {
	const name = "upload"
	if err := ctx.Err(); err != nil {
		return ctxError(name, err)
	}
	c.freeMu.RLock()
	if c.closed {
		c.freeMu.RUnlock()
		return newError(name, ErrBadState, "the compute handle is closed")
	}
	op, err := func() (*Operation, error) {
		defer c.freeMu.RUnlock()
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		st := &callState{onProgress: opts.OnProgress, internal: true}
		oo := newOpOpts(st)
		defer oo.free()
		pv := newCStrv(paths)
		defer pv.free()
		base := cstr(opts.BaseDir, true)
		defer cfree(base)
		var o *C.bai_op_t
		if rc := C.bai_compute_upload_start(c.h, pv.ptr(), C.size_t(len(paths)), base, oo.p, &o); rc != C.BAI_OK {
			return nil, lastError(name, rc)
		}
		return c.s.adopt(o, st, name, false), nil
	}()
	if err != nil {
		return err
	}
	defer op.Close()
	_, err = op.Wait(ctx)
	return err
}

// DownloadOptions are the options of Download.
type DownloadOptions struct {
	// OnProgress gets the bytes received so far and the total (0 when unknown).
	OnProgress func(done, total uint64)
}

// Download downloads files or directories of the session (paths relative to /home/work) into
// the existing directory destDir and returns the names written.
func (c *Compute) Download(ctx context.Context, files []string, destDir string, opts DownloadOptions) ([]string, error) {
	const op = "download"
	h, err := c.lock(op)
	if err != nil {
		return nil, err
	}
	defer c.mu.Unlock()
	st := &callState{onProgress: opts.OnProgress}
	oo := newOpOpts(st)
	defer oo.free()
	fv := newCStrv(files)
	defer fv.free()
	dest := C.CString(destDir)
	defer cfree(dest)
	var names C.bai_buf_t
	err = blockingOn(ctx, op, h, func(h *C.bai_compute_t) C.bai_code_t {
		return C.bai_compute_download(h, fv.ptr(), C.size_t(len(files)), dest, oo.p, &names)
	})
	if err != nil {
		if e, ok := err.(*Error); ok && st.err != nil && e.Code == ErrAbortedByCallback {
			e.cause = st.err
		}
		return nil, err
	}
	var out []string
	if raw := takeBuf(&names); len(raw) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			return nil, newError(op, ErrBadResponse, "names: "+err.Error())
		}
	}
	return out, nil
}

// FileInfo is one entry of ListFiles.
type FileInfo struct {
	Name    string    // the entry's name (without its directory)
	IsDir   bool      // a directory
	Mode    string    // ls-style, e.g. "-rw-r--r--"
	Size    uint64    // size in bytes
	ModTime time.Time // last modification
	CTime   time.Time // creation
	ATime   time.Time // last access
}

func epoch(sec C.double) time.Time {
	s := float64(sec)
	return time.Unix(0, int64(s*1e9))
}

// ListFiles lists a directory of the session (relative to /home/work; "" means ".").
func (c *Compute) ListFiles(ctx context.Context, path string) ([]FileInfo, error) {
	p := cstr(path, true)
	defer cfree(p)
	var list *C.bai_file_list_t
	if err := c.blocking(ctx, "list files", func(h *C.bai_compute_t) C.bai_code_t {
		return C.bai_compute_list_files(h, p, &list)
	}); err != nil {
		return nil, err
	}
	defer C.bai_file_list_free(list)
	n := int(C.bai_file_list_count(list))
	out := make([]FileInfo, 0, n)
	for i := 0; i < n; i++ {
		e := C.bai_file_list_get(list, C.size_t(i))
		if e == nil {
			continue
		}
		out = append(out, FileInfo{
			Name:    C.GoString(e.name),
			IsDir:   bool(e.is_dir),
			Mode:    C.GoString(e.mode),
			Size:    uint64(e.size),
			ModTime: epoch(e.mtime),
			CTime:   epoch(e.ctime),
			ATime:   epoch(e.atime),
		})
	}
	return out, nil
}
