package backendai

/*
#include <stdlib.h>
#include "backendai.h"
*/
import "C"

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
)

// SessionInfo is one compute session of a listing.
type SessionInfo struct {
	ID            string          // the session's id
	Name          string          // its name
	Image         string          // its container image
	Type          string          // "INTERACTIVE", "BATCH", ...
	Status        string          // "RUNNING", "PENDING", ...
	StatusInfo    string          // why it has that status
	StatusChanged string          // when the status last changed
	Result        string          // "SUCCESS", "FAILURE", "UNDEFINED"
	Raw           json.RawMessage // the whole item as the server sent it
}

// Page is one page of a session listing.
type Page struct {
	Items      []SessionInfo // the sessions of this page
	TotalCount uint64        // matching sessions on the server
}

func asText(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	default:
		b, _ := json.Marshal(x)
		return string(b)
	}
}

// ListSessions gets one page of the caller's compute sessions. status is a status name
// ("RUNNING"), a comma-separated list, or "" for all; pageSize is 1–100.
func (s *Session) ListSessions(ctx context.Context, status string, offset uint64, pageSize int) (*Page, error) {
	return sessionCall(ctx, s, "list sessions", func(h *C.bai_session_t) (*Page, error) {
		st := cstr(status, true)
		defer cfree(st)
		var page *C.bai_page_t
		if err := call("list sessions", func() C.bai_code_t {
			return C.bai_compute_list(h, st, C.uint64_t(offset), C.uint32_t(pageSize), &page)
		}); err != nil {
			return nil, err
		}
		defer C.bai_page_free(page)
		n := int(C.bai_page_count(page))
		out := &Page{TotalCount: uint64(C.bai_page_total_count(page)), Items: make([]SessionInfo, 0, n)}
		for i := 0; i < n; i++ {
			raw := C.GoString(C.bai_page_item_json(page, C.size_t(i)))
			var m map[string]any
			if err := json.Unmarshal([]byte(raw), &m); err != nil {
				return nil, newError("list sessions", ErrBadResponse, fmt.Sprintf("item %d: %v", i, err))
			}
			out.Items = append(out.Items, SessionInfo{
				ID:            asText(m["id"]),
				Name:          asText(m["name"]),
				Image:         asText(m["image"]),
				Type:          asText(m["type"]),
				Status:        asText(m["status"]),
				StatusInfo:    asText(m["status_info"]),
				StatusChanged: asText(m["status_changed"]),
				Result:        asText(m["result"]),
				Raw:           json.RawMessage(raw),
			})
		}
		return out, nil
	}, nil)
}

// ListOptions are the options of Sessions.
type ListOptions struct {
	Status   string // status name, comma-separated list, or "" for all
	PageSize int    // 1–100; 0 means 20
}

// Sessions iterates over all of the caller's compute sessions, fetching pages as needed. An
// error ends the iteration after being yielded once.
//
//	for info, err := range s.Sessions(ctx, backendai.ListOptions{Status: "RUNNING"}) {
//		if err != nil { ... }
//	}
func (s *Session) Sessions(ctx context.Context, opts ListOptions) iter.Seq2[SessionInfo, error] {
	size := opts.PageSize
	if size == 0 {
		size = 20
	}
	return func(yield func(SessionInfo, error) bool) {
		var offset uint64
		for {
			page, err := s.ListSessions(ctx, opts.Status, offset, size)
			if err != nil {
				yield(SessionInfo{}, err)
				return
			}
			for _, it := range page.Items {
				if !yield(it, nil) {
					return
				}
			}
			offset += uint64(len(page.Items))
			if len(page.Items) == 0 || offset >= page.TotalCount {
				return
			}
		}
	}
}
