package backendai

/*
#include <stdlib.h>
#include "backendai.h"
*/
import "C"

import (
	"encoding/json"
	"runtime"
	"strings"
	"time"
)

// EndpointType selects how requests are authenticated.
type EndpointType int32

const (
	// EndpointAPI talks to the manager with HMAC-signed requests (access and secret key).
	EndpointAPI EndpointType = 0
	// EndpointSession talks to the web server with a cookie login (Username, Password).
	EndpointSession EndpointType = 1
)

// Config configures an API session. The zero value uses the official SDK's defaults
// (endpoint https://api.cloud.backend.ai, domain and group "default"); ConfigFromEnv reads
// BACKEND_* variables as the official SDK does. Zero fields keep the defaults.
type Config struct {
	Endpoint       string        // one URL, or a comma-separated list tried in order
	EndpointType   EndpointType  // EndpointAPI (the default) or EndpointSession
	AccessKey      string        // the access key (EndpointAPI)
	SecretKey      string        // never logged, never in error messages
	Username       string        // session mode login
	Password       string        // session mode password; never logged
	Domain         string        // the domain name
	Group          string        // the group (project) name
	APIVersion     string        // e.g. "v7.20230615"
	HashType       string        // "sha256" (default) or "sha512"
	UserAgent      string        // the User-Agent header
	VFolderMounts  []string      // folders mounted into every created compute session
	CAFile         string        // PEM file of extra trusted CA certificates
	HTTPProxy      string        // an HTTP(S) proxy URL
	SkipTLSVerify  bool          // accept any TLS certificate (tests only)
	ConnectTimeout time.Duration // 0: 10 s
	ReadTimeout    time.Duration // 0: no limit
	RequestTimeout time.Duration // 0: no limit
	// RetryBudget bounds how long a resumable transfer retries transient failures without
	// progress; 0 keeps the library's default.
	RetryBudget time.Duration

	fromEnv bool
}

// ConfigFromEnv reads the configuration from the environment as the official SDK does
// (BACKEND_ENDPOINT, BACKEND_ACCESS_KEY, BACKEND_SECRET_KEY, ... with SORNA_* fallbacks and
// the nearest .env file). The secret key stays inside the library: the returned Config shows
// every other value, and Open uses the environment's secret unless SecretKey is set.
func ConfigFromEnv() (Config, error) {
	var cfg *C.bai_config_t
	if err := call("config from env", func() C.bai_code_t { return C.bai_config_from_env(&cfg) }); err != nil {
		return Config{}, err
	}
	defer C.bai_config_free(cfg)
	var buf C.bai_buf_t
	if err := call("describe config", func() C.bai_code_t { return C.bai_config_describe(cfg, &buf) }); err != nil {
		return Config{}, err
	}
	var d struct {
		Endpoints        []string `json:"endpoints"`
		EndpointType     string   `json:"endpoint_type"`
		AccessKey        string   `json:"access_key"`
		Domain           string   `json:"domain"`
		Group            string   `json:"group"`
		APIVersion       string   `json:"api_version"`
		HashType         string   `json:"hash_type"`
		ConnectTimeoutMS int64    `json:"connect_timeout_ms"`
		ReadTimeoutMS    int64    `json:"read_timeout_ms"`
		RequestTimeoutMS int64    `json:"request_timeout_ms"`
		RetryBudgetMS    int64    `json:"retry_budget_ms"`
		SkipTLSVerify    bool     `json:"skip_tls_verify"`
		CAFile           *string  `json:"ca_file"`
		HTTPProxy        *string  `json:"http_proxy"`
		UserAgent        string   `json:"user_agent"`
		VFolderMounts    []string `json:"vfolder_mounts"`
		Username         *string  `json:"username"`
	}
	if err := json.Unmarshal(takeBuf(&buf), &d); err != nil {
		return Config{}, newError("describe config", ErrBadResponse, err.Error())
	}
	c := Config{
		Endpoint:       strings.Join(d.Endpoints, ","),
		AccessKey:      d.AccessKey,
		Domain:         d.Domain,
		Group:          d.Group,
		APIVersion:     d.APIVersion,
		HashType:       d.HashType,
		UserAgent:      d.UserAgent,
		VFolderMounts:  d.VFolderMounts,
		SkipTLSVerify:  d.SkipTLSVerify,
		ConnectTimeout: time.Duration(d.ConnectTimeoutMS) * time.Millisecond,
		ReadTimeout:    time.Duration(d.ReadTimeoutMS) * time.Millisecond,
		RequestTimeout: time.Duration(d.RequestTimeoutMS) * time.Millisecond,
		RetryBudget:    time.Duration(d.RetryBudgetMS) * time.Millisecond,
		fromEnv:        true,
	}
	if d.EndpointType == "session" {
		c.EndpointType = EndpointSession
	}
	if d.CAFile != nil {
		c.CAFile = *d.CAFile
	}
	if d.HTTPProxy != nil {
		c.HTTPProxy = *d.HTTPProxy
	}
	if d.Username != nil {
		c.Username = *d.Username
	}
	return c, nil
}

// build makes a bai_config_t from c. The caller holds the OS thread locked and frees the
// result with bai_config_free.
func (c *Config) build() (*C.bai_config_t, error) {
	var cfg *C.bai_config_t
	var rc C.bai_code_t
	if c.fromEnv {
		rc = C.bai_config_from_env(&cfg)
	} else {
		rc = C.bai_config_new(&cfg)
	}
	if rc != C.BAI_OK {
		return nil, lastError("config", rc)
	}
	fail := func(what string, rc C.bai_code_t) error {
		err := lastError("config: "+what, rc)
		C.bai_config_free(cfg)
		return err
	}
	setStr := func(what, v string, set func(*C.char) C.bai_code_t) error {
		if v == "" {
			return nil
		}
		p := C.CString(v)
		defer C.free(unsafePointer(p))
		if rc := set(p); rc != C.BAI_OK {
			return fail(what, rc)
		}
		return nil
	}
	steps := []func() error{
		func() error {
			return setStr("endpoint", c.Endpoint, func(p *C.char) C.bai_code_t { return C.bai_config_set_endpoint(cfg, p) })
		},
		func() error {
			if c.EndpointType == EndpointAPI && c.fromEnv {
				return nil
			}
			if rc := C.bai_config_set_endpoint_type(cfg, C.int32_t(c.EndpointType)); rc != C.BAI_OK {
				return fail("endpoint type", rc)
			}
			return nil
		},
		func() error {
			if c.SecretKey == "" && (c.fromEnv || c.AccessKey == "") {
				return nil // keep the environment's keypair, or stay anonymous
			}
			ak, sk := C.CString(c.AccessKey), C.CString(c.SecretKey)
			defer C.free(unsafePointer(ak))
			defer C.free(unsafePointer(sk))
			if rc := C.bai_config_set_keypair(cfg, ak, sk); rc != C.BAI_OK {
				return fail("keypair", rc)
			}
			return nil
		},
		func() error {
			if c.Username == "" {
				return nil
			}
			u, p := C.CString(c.Username), C.CString(c.Password)
			defer C.free(unsafePointer(u))
			defer C.free(unsafePointer(p))
			if rc := C.bai_config_set_login(cfg, u, p); rc != C.BAI_OK {
				return fail("login", rc)
			}
			return nil
		},
		func() error {
			return setStr("domain", c.Domain, func(p *C.char) C.bai_code_t { return C.bai_config_set_domain(cfg, p) })
		},
		func() error {
			return setStr("group", c.Group, func(p *C.char) C.bai_code_t { return C.bai_config_set_group(cfg, p) })
		},
		func() error {
			return setStr("api version", c.APIVersion, func(p *C.char) C.bai_code_t { return C.bai_config_set_api_version(cfg, p) })
		},
		func() error {
			return setStr("hash type", c.HashType, func(p *C.char) C.bai_code_t { return C.bai_config_set_hash_type(cfg, p) })
		},
		func() error {
			return setStr("user agent", c.UserAgent, func(p *C.char) C.bai_code_t { return C.bai_config_set_user_agent(cfg, p) })
		},
		func() error {
			return setStr("vfolder mounts", strings.Join(c.VFolderMounts, ","), func(p *C.char) C.bai_code_t { return C.bai_config_set_vfolder_mounts(cfg, p) })
		},
		func() error {
			return setStr("CA file", c.CAFile, func(p *C.char) C.bai_code_t { return C.bai_config_set_ca_file(cfg, p) })
		},
		func() error {
			return setStr("HTTP proxy", c.HTTPProxy, func(p *C.char) C.bai_code_t { return C.bai_config_set_http_proxy(cfg, p) })
		},
		func() error {
			if !c.SkipTLSVerify {
				return nil
			}
			if rc := C.bai_config_set_skip_tls_verify(cfg, true); rc != C.BAI_OK {
				return fail("skip TLS verify", rc)
			}
			return nil
		},
		func() error {
			if c.ConnectTimeout <= 0 {
				return nil
			}
			if rc := C.bai_config_set_connect_timeout_ms(cfg, C.int64_t(c.ConnectTimeout.Milliseconds())); rc != C.BAI_OK {
				return fail("connect timeout", rc)
			}
			return nil
		},
		func() error {
			if c.ReadTimeout <= 0 {
				return nil
			}
			if rc := C.bai_config_set_read_timeout_ms(cfg, C.int64_t(c.ReadTimeout.Milliseconds())); rc != C.BAI_OK {
				return fail("read timeout", rc)
			}
			return nil
		},
		func() error {
			if c.RequestTimeout <= 0 {
				return nil
			}
			if rc := C.bai_config_set_request_timeout_ms(cfg, C.int64_t(c.RequestTimeout.Milliseconds())); rc != C.BAI_OK {
				return fail("request timeout", rc)
			}
			return nil
		},
		func() error {
			if c.RetryBudget == 0 {
				return nil
			}
			if rc := C.bai_config_set_retry_budget_ms(cfg, C.int64_t(c.RetryBudget.Milliseconds())); rc != C.BAI_OK {
				return fail("retry budget", rc)
			}
			return nil
		},
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return nil, err
		}
	}
	return cfg, nil
}

// Describe is the configuration as the library sees it, as JSON (the secret key and the
// password are never included): endpoints, timeouts in milliseconds, retry_budget_ms, ...
func (c Config) Describe() (json.RawMessage, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	cfg, err := c.build()
	if err != nil {
		return nil, err
	}
	defer C.bai_config_free(cfg)
	var buf C.bai_buf_t
	if rc := C.bai_config_describe(cfg, &buf); rc != C.BAI_OK {
		return nil, lastError("describe config", rc)
	}
	return json.RawMessage(takeBuf(&buf)), nil
}
