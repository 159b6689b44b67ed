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
	"unsafe"
)

// FolderOptions are the options of CreateFolder, all optional.
type FolderOptions struct {
	Host       string // storage host, e.g. "local:volume1"
	Group      string // owning group (project); "" makes a user folder
	UsageMode  string // "general" (default), "model" or "data"
	Permission string // "rw" (default), "ro" or "wd"
	Cloneable  bool   // others may clone the folder
}

func (s *Session) folderBuf(ctx context.Context, op string, f func(h *C.bai_session_t, out *C.bai_buf_t) C.bai_code_t) (json.RawMessage, error) {
	return sessionCall(ctx, s, op, func(h *C.bai_session_t) (json.RawMessage, error) {
		var buf C.bai_buf_t
		if err := call(op, func() C.bai_code_t { return f(h, &buf) }); err != nil {
			return nil, err
		}
		return json.RawMessage(takeBuf(&buf)), nil
	}, nil)
}

// CreateFolder creates a storage folder and returns its details (JSON).
func (s *Session) CreateFolder(ctx context.Context, name string, o FolderOptions) (json.RawMessage, error) {
	return s.folderBuf(ctx, "create folder", func(h *C.bai_session_t, out *C.bai_buf_t) C.bai_code_t {
		opts := (*C.bai_vfolder_opts_t)(C.calloc(1, C.size_t(unsafe.Sizeof(C.bai_vfolder_opts_t{}))))
		defer C.free(unsafe.Pointer(opts))
		opts.struct_size = C.uint32_t(unsafe.Sizeof(*opts))
		opts.cloneable = C.bool(o.Cloneable)
		opts.host, opts.group = cstr(o.Host, true), cstr(o.Group, true)
		opts.usage_mode, opts.permission = cstr(o.UsageMode, true), cstr(o.Permission, true)
		defer func() { cfree(opts.host); cfree(opts.group); cfree(opts.usage_mode); cfree(opts.permission) }()
		n := C.CString(name)
		defer cfree(n)
		return C.bai_vfolder_create(h, n, opts, out)
	})
}

// Folders lists the storage folders the caller can use (JSON, as GET /folders answers).
func (s *Session) Folders(ctx context.Context) (json.RawMessage, error) {
	return s.folderBuf(ctx, "list folders", func(h *C.bai_session_t, out *C.bai_buf_t) C.bai_code_t {
		return C.bai_vfolder_list(h, out)
	})
}

// FolderInfo gets a folder's details (JSON).
func (s *Session) FolderInfo(ctx context.Context, name string) (json.RawMessage, error) {
	return s.folderBuf(ctx, "folder info", func(h *C.bai_session_t, out *C.bai_buf_t) C.bai_code_t {
		n := C.CString(name)
		defer cfree(n)
		return C.bai_vfolder_get_info(h, n, out)
	})
}

// FolderEntry is one entry of FolderFiles.
type FolderEntry struct {
	Name     string `json:"name"`     // the entry's name
	Type     string `json:"type"`     // "FILE" or "DIRECTORY"
	Size     int64  `json:"size"`     // size in bytes
	Mode     any    `json:"mode"`     // permission bits, as the server sends them
	Created  any    `json:"created"`  // creation time, as the server sends it
	Modified any    `json:"modified"` // last modification, as the server sends it
}

// FolderFiles lists a directory of a folder ("" means ".").
func (s *Session) FolderFiles(ctx context.Context, name, path string) ([]FolderEntry, error) {
	raw, err := s.folderBuf(ctx, "folder files", func(h *C.bai_session_t, out *C.bai_buf_t) C.bai_code_t {
		n := C.CString(name)
		defer cfree(n)
		p := cstr(path, true)
		defer cfree(p)
		return C.bai_vfolder_list_files(h, n, p, out)
	})
	if err != nil {
		return nil, err
	}
	var v struct {
		Items []FolderEntry `json:"items"`
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, newError("folder files", ErrBadResponse, err.Error())
	}
	return v.Items, nil
}

// DeleteFolder deletes a storage folder.
func (s *Session) DeleteFolder(ctx context.Context, name string) error {
	_, err := sessionCall(ctx, s, "delete folder", func(h *C.bai_session_t) (struct{}, error) {
		n := C.CString(name)
		defer cfree(n)
		return struct{}{}, call("delete folder", func() C.bai_code_t { return C.bai_vfolder_delete(h, n) })
	}, nil)
	return err
}

// FolderTransferOptions are the options of UploadToFolder and DownloadFromFolder.
type FolderTransferOptions struct {
	BaseDir    string                   // upload: remote names are paths relative to it ("": current directory)
	Recursive  bool                     // upload: directories are uploaded whole
	OnProgress func(done, total uint64) // bytes transferred so far, and the total
}

// UploadToFolder uploads local files into a storage folder (resumable, bounded memory). When
// ctx ends, the transfer is cancelled and the error wraps ctx.Err().
func (s *Session) UploadToFolder(ctx context.Context, name string, paths []string, o FolderTransferOptions) error {
	return s.folderTransfer(ctx, "upload to folder", true, name, paths, o.BaseDir, o)
}

// DownloadFromFolder downloads files of a storage folder into the existing directory destDir.
func (s *Session) DownloadFromFolder(ctx context.Context, name string, files []string, destDir string, o FolderTransferOptions) error {
	return s.folderTransfer(ctx, "download from folder", false, name, files, destDir, o)
}

func (s *Session) folderTransfer(ctx context.Context, name string, upload bool, folder string, items []string, dir string, o FolderTransferOptions) error {
	if err := ctx.Err(); err != nil {
		return ctxError(name, err)
	}
	h, err := s.acquire(name)
	if err != nil {
		return err
	}
	op, err := func() (*Operation, error) {
		defer s.release()
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		st := &callState{onProgress: o.OnProgress, internal: true}
		oo := newOpOpts(st)
		defer oo.free()
		n := C.CString(folder)
		defer cfree(n)
		v := newCStrv(items)
		defer v.free()
		d := cstr(dir, !upload)
		defer cfree(d)
		var opPtr *C.bai_op_t
		var rc C.bai_code_t
		if upload {
			rc = C.bai_vfolder_upload_start(h, n, v.ptr(), C.size_t(len(items)), d, C.bool(o.Recursive), oo.p, &opPtr)
		} else {
			rc = C.bai_vfolder_download_start(h, n, v.ptr(), C.size_t(len(items)), d, oo.p, &opPtr)
		}
		if rc != C.BAI_OK {
			return nil, lastError(name, rc)
		}
		return s.adopt(opPtr, st, name, false), nil
	}()
	if err != nil {
		return err
	}
	defer op.Close()
	_, err = op.Wait(ctx)
	return err
}
