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
	"sort"
	"sync"
	"time"
	"unsafe"
)

// SessionType of a compute session.
type SessionType int32

const (
	Interactive SessionType = 0 // the default
	Batch       SessionType = 1 // runs StartupCommand and ends
)

// ClusterMode of a multi-container compute session.
type ClusterMode int32

const (
	SingleNode ClusterMode = 0 // all containers on one node (the default)
	MultiNode  ClusterMode = 1 // containers spread over several nodes
)

// CreateOptions are the options of CreateCompute, all optional.
type CreateOptions struct {
	Type            SessionType       // interactive (the default) or batch
	Name            string            // reuse key of get-or-create; "" picks a random name
	Mounts          []string          // storage folders mounted under /home/work/<name>
	MountMap        map[string]string // folder name → mount path
	Env             map[string]string // environment variables
	Resources       map[string]string // e.g. "cpu": "2", "mem": "4g"
	ResourceOpts    map[string]string // e.g. "shmem": "1g"
	ClusterSize     int               // containers (0 means 1)
	ClusterMode     ClusterMode       // where the containers run
	Domain          string            // domain; "" uses the configuration's
	Group           string            // group (project); "" uses the configuration's
	ScalingGroup    string            // resource group; "" lets the server choose
	BootstrapScript string            // script run when the session starts
	StartupCommand  string            // command of a batch session
	Tag             string            // a free-form tag
	EnqueueOnly     bool              // return at once with status PENDING
	NoReuse         bool              // never reuse a session with the same name
	MaxWait         time.Duration     // longest wait for the session to start; 0: the context's deadline, else no limit
	OwnerAccessKey  string            // create on behalf of this access key (admins)
	Architecture    string            // image architecture; "" is this machine's
	StartsAt        string            // scheduled start (ISO 8601, or a delay such as "1h")
	CallbackURL     string            // URL the server notifies of status changes
	Dependencies    []string          // sessions that must end before this one starts
	PreopenPorts    []uint16          // container ports to open
}

// Compute is a handle to a compute session. Blocking calls on one Compute are serialised
// (the library serves a handle from one thread at a time); runs (Run, Stream, StartRun, ...)
// and uploads are operations of their own and may run concurrently with them and with each
// other: the library executes the runs of one compute session one at a time, in start order.
// Interrupt and the getters may run concurrently with everything. Close releases the handle without terminating the session:
// call Destroy for that.
type Compute struct {
	mu     sync.Mutex   // held for the duration of each blocking call using h
	freeMu sync.RWMutex // read-held by any-thread calls (Interrupt, starts) that do not take mu
	h      *C.bai_compute_t
	s      *Session
	closed bool
}

func sortedPairs(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]string, 0, 2*len(m))
	for _, k := range keys {
		out = append(out, k, m[k])
	}
	return out
}

// CreateCompute creates a compute session from a container image, or reuses the running one
// with the same name (get-or-create, unless NoReuse), and waits until it runs.
//
// The library's create cannot be interrupted: when ctx ends first, CreateCompute returns at
// once with ctx's error, and a session created meanwhile is destroyed in the background (a
// reused one is left alone).
func (s *Session) CreateCompute(ctx context.Context, image string, opts CreateOptions) (*Compute, error) {
	h, err := sessionCall(ctx, s, "create compute", func(sh *C.bai_session_t) (*C.bai_compute_t, error) {
		var o C.bai_create_opts_t
		o.struct_size = C.uint32_t(unsafe.Sizeof(o))
		o.session_type = C.int32_t(opts.Type)
		var strs []*C.char
		str := func(v string) *C.char {
			p := cstr(v, true)
			if p != nil {
				strs = append(strs, p)
			}
			return p
		}
		var vecs []*cstrv
		vec := func(items []string) **C.char {
			v := newCStrv(items)
			vecs = append(vecs, v)
			return v.ptr()
		}
		defer func() {
			for _, p := range strs {
				cfree(p)
			}
			for _, v := range vecs {
				v.free()
			}
		}()
		o.name = str(opts.Name)
		o.mounts, o.n_mounts = vec(opts.Mounts), C.size_t(len(opts.Mounts))
		o.mount_map, o.n_mount_map = vec(sortedPairs(opts.MountMap)), C.size_t(len(opts.MountMap))
		o.environ, o.n_environ = vec(sortedPairs(opts.Env)), C.size_t(len(opts.Env))
		o.resources, o.n_resources = vec(sortedPairs(opts.Resources)), C.size_t(len(opts.Resources))
		o.resource_opts, o.n_resource_opts = vec(sortedPairs(opts.ResourceOpts)), C.size_t(len(opts.ResourceOpts))
		o.cluster_size = C.uint32_t(opts.ClusterSize)
		o.cluster_mode = C.int32_t(opts.ClusterMode)
		o.domain = str(opts.Domain)
		o.group = str(opts.Group)
		o.scaling_group = str(opts.ScalingGroup)
		o.bootstrap_script = str(opts.BootstrapScript)
		o.startup_command = str(opts.StartupCommand)
		o.tag = str(opts.Tag)
		o.enqueue_only = C.bool(opts.EnqueueOnly)
		o.no_reuse = C.bool(opts.NoReuse)
		wait := opts.MaxWait
		if dl, ok := ctx.Deadline(); ok && wait == 0 {
			wait = time.Until(dl)
		}
		if wait > 0 {
			o.max_wait_seconds = C.uint32_t((wait + time.Second - 1) / time.Second)
		}
		o.owner_access_key = str(opts.OwnerAccessKey)
		o.architecture = str(opts.Architecture)
		o.starts_at = str(opts.StartsAt)
		o.callback_url = str(opts.CallbackURL)
		o.dependencies, o.n_dependencies = vec(opts.Dependencies), C.size_t(len(opts.Dependencies))
		if len(opts.PreopenPorts) > 0 {
			p := newU16v(opts.PreopenPorts)
			defer C.free(unsafe.Pointer(p))
			o.preopen_ports, o.n_preopen_ports = p, C.size_t(len(opts.PreopenPorts))
		}
		img := C.CString(image)
		defer cfree(img)
		var out *C.bai_compute_t
		if err := call("create compute", func() C.bai_code_t { return C.bai_compute_create(sh, img, &o, &out) }); err != nil {
			return nil, err
		}
		return out, nil
	}, func(h *C.bai_compute_t) {
		if C.bai_compute_was_created(h) {
			C.bai_compute_destroy(h, C.BAI_DESTROY_FORCED, nil)
		}
		C.bai_compute_free(h)
	})
	if err != nil {
		return nil, err
	}
	return newCompute(s, h), nil
}

// AttachCompute makes a handle for an existing compute session by name or id, without a
// request.
func (s *Session) AttachCompute(nameOrID string) (*Compute, error) {
	sh, err := s.acquire("attach compute")
	if err != nil {
		return nil, err
	}
	defer s.release()
	n := C.CString(nameOrID)
	defer cfree(n)
	var out *C.bai_compute_t
	if err := call("attach compute", func() C.bai_code_t { return C.bai_compute_attach(sh, n, &out) }); err != nil {
		return nil, err
	}
	return newCompute(s, out), nil
}

func newCompute(s *Session, h *C.bai_compute_t) *Compute {
	c := &Compute{h: h, s: s}
	runtime.SetFinalizer(c, (*Compute).Close)
	return c
}

// lock takes the handle for one call.
func (c *Compute) lock(op string) (*C.bai_compute_t, error) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, newError(op, ErrBadState, "the compute handle is closed")
	}
	return c.h, nil
}

// Close releases the handle (the session keeps running on the server). It waits for a call
// in progress on the handle to return. Closing twice is harmless.
func (c *Compute) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.closed {
		c.freeMu.Lock()
		c.closed = true
		C.bai_compute_free(c.h)
		c.freeMu.Unlock()
		c.h = nil
		runtime.SetFinalizer(c, nil)
	}
	return nil
}

func (c *Compute) getter(f func(*C.bai_compute_t) string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return ""
	}
	return f(c.h)
}

// ID is the session's id (a UUID), or the name given to AttachCompute.
func (c *Compute) ID() string {
	return c.getter(func(h *C.bai_compute_t) string { return C.GoString(C.bai_compute_id(h)) })
}

// Name is the session's name.
func (c *Compute) Name() string {
	return c.getter(func(h *C.bai_compute_t) string { return C.GoString(C.bai_compute_name(h)) })
}

// Status is the session's status as last seen ("RUNNING", "PENDING", ...).
func (c *Compute) Status() string {
	return c.getter(func(h *C.bai_compute_t) string { return C.GoString(C.bai_compute_status(h)) })
}

// Created reports whether CreateCompute created the session (false: it reused one).
func (c *Compute) Created() bool {
	return c.getter(func(h *C.bai_compute_t) string {
		if C.bai_compute_was_created(h) {
			return "y"
		}
		return ""
	}) != ""
}

// blocking runs one blocking library call on the handle, on a locked OS thread, and
// cancels it through bai_compute_cancel when ctx ends.
func (c *Compute) blocking(ctx context.Context, op string, f func(h *C.bai_compute_t) C.bai_code_t) error {
	h, err := c.lock(op)
	if err != nil {
		return err
	}
	defer c.mu.Unlock()
	return blockingOn(ctx, op, h, f)
}

func blockingOn(ctx context.Context, op string, h *C.bai_compute_t, f func(h *C.bai_compute_t) C.bai_code_t) error {
	if err := ctx.Err(); err != nil {
		return ctxError(op, err)
	}
	stop := watchCompute(ctx, h)
	runtime.LockOSThread()
	rc := f(h)
	var err *Error
	if rc != C.BAI_OK {
		err = lastError(op, rc)
	}
	runtime.UnlockOSThread()
	stop()
	if err == nil {
		return nil
	}
	if ctx.Err() != nil && (err.Code == ErrCancelled || err.Code == ErrInterrupted || err.Code == ErrTimeout) {
		err.cause = ctx.Err()
	}
	return err
}

// watchCompute cancels the handle's blocking call when ctx ends (repeatedly, in case the
// call had not started yet), until stop is called. stop waits for the watcher to finish.
func watchCompute(ctx context.Context, h *C.bai_compute_t) (stop func()) {
	return watchContext(ctx, func(stopped <-chan struct{}) {
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			C.bai_compute_cancel(h)
			select {
			case <-stopped:
				return
			case <-t.C:
			}
		}
	})
}

func (c *Compute) bufCall(ctx context.Context, op string, f func(h *C.bai_compute_t, out *C.bai_buf_t) C.bai_code_t) ([]byte, error) {
	var buf C.bai_buf_t
	err := c.blocking(ctx, op, func(h *C.bai_compute_t) C.bai_code_t { return f(h, &buf) })
	if err != nil {
		return nil, err
	}
	return takeBuf(&buf), nil
}

// Info gets the session's details (GET /session/{name}) as JSON and refreshes Status.
func (c *Compute) Info(ctx context.Context) (json.RawMessage, error) {
	return c.bufCall(ctx, "info", func(h *C.bai_compute_t, out *C.bai_buf_t) C.bai_code_t {
		return C.bai_compute_get_info(h, out)
	})
}

// DestroyOptions are the flags of DestroyWithOptions.
type DestroyOptions struct {
	Forced    bool // also sessions that are starting or failing
	Recursive bool // also dependent sessions
}

// Destroy terminates the session on the server. The handle stays valid until Close.
func (c *Compute) Destroy(ctx context.Context) error {
	_, err := c.DestroyWithOptions(ctx, DestroyOptions{})
	return err
}

// DestroyWithOptions terminates the session and returns the server's last statistics (JSON).
func (c *Compute) DestroyWithOptions(ctx context.Context, o DestroyOptions) (json.RawMessage, error) {
	var flags C.uint32_t
	if o.Forced {
		flags |= C.BAI_DESTROY_FORCED
	}
	if o.Recursive {
		flags |= C.BAI_DESTROY_RECURSIVE
	}
	return c.bufCall(ctx, "destroy", func(h *C.bai_compute_t, out *C.bai_buf_t) C.bai_code_t {
		return C.bai_compute_destroy(h, flags, out)
	})
}

// Interrupt asks the server to interrupt the code running in the session (like Ctrl-C). It
// may be called while another goroutine runs code on the handle.
func (c *Compute) Interrupt(ctx context.Context) error {
	// Deliberately not taking c.mu: bai_compute_interrupt is documented "any thread".
	if err := ctx.Err(); err != nil {
		return ctxError("interrupt", err)
	}
	c.freeMu.RLock()
	defer c.freeMu.RUnlock()
	if c.closed {
		return newError("interrupt", ErrBadState, "the compute handle is closed")
	}
	h := c.h
	return call("interrupt", func() C.bai_code_t { return C.bai_compute_interrupt(h) })
}

// Restart restarts the session's containers (the working directory is kept).
func (c *Compute) Restart(ctx context.Context) error {
	return c.blocking(ctx, "restart", func(h *C.bai_compute_t) C.bai_code_t { return C.bai_compute_restart(h) })
}

// Logs gets the container log of the session.
func (c *Compute) Logs(ctx context.Context) (string, error) {
	b, err := c.bufCall(ctx, "logs", func(h *C.bai_compute_t, out *C.bai_buf_t) C.bai_code_t {
		return C.bai_compute_get_logs(h, out)
	})
	return string(b), err
}

// Complete gets code-completion candidates for code at row/col, as the server's JSON answer.
func (c *Compute) Complete(ctx context.Context, code string, row, col int) (json.RawMessage, error) {
	p, n := bytesArg([]byte(code))
	defer C.free(unsafe.Pointer(p))
	return c.bufCall(ctx, "complete", func(h *C.bai_compute_t, out *C.bai_buf_t) C.bai_code_t {
		return C.bai_compute_complete(h, p, n, C.uint32_t(row), C.uint32_t(col), out)
	})
}
