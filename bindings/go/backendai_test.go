package backendai_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	backendai "github.com/libbackendai/libbackendai/bindings/go"
)

// The tests drive the real library against a real server named by BACKEND_ENDPOINT,
// BACKEND_ACCESS_KEY and BACKEND_SECRET_KEY (test.sh starts the local server when unset).

func image() string {
	if v := os.Getenv("BACKENDAI_TEST_IMAGE"); v != "" {
		return v
	}
	return "python:3.9-ubuntu20.04"
}

func TestMain(m *testing.M) {
	if os.Getenv("BACKEND_ENDPOINT") == "" {
		fmt.Fprintln(os.Stderr, "BACKEND_ENDPOINT is not set: run the tests through test.sh or point it at a server")
		os.Exit(2)
	}
	os.Exit(m.Run())
}

func unique(prefix string) string {
	b := make([]byte, 4)
	rand.Read(b)
	return prefix + "-" + hex.EncodeToString(b)
}

func open(t *testing.T) *backendai.Session {
	t.Helper()
	cfg, err := backendai.ConfigFromEnv()
	if err != nil {
		t.Fatalf("ConfigFromEnv: %v", err)
	}
	s, err := backendai.Open(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func create(t *testing.T, s *backendai.Session, prefix string) *backendai.Compute {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c, err := s.CreateCompute(ctx, image(), backendai.CreateOptions{Name: unique(prefix), NoReuse: true})
	if err != nil {
		t.Fatalf("CreateCompute: %v", err)
	}
	t.Cleanup(func() {
		c.Destroy(context.Background())
		c.Close()
	})
	return c
}

func TestLibraryVersion(t *testing.T) {
	if err := backendai.CheckVersion(); err != nil {
		t.Fatalf("CheckVersion: %v", err)
	}
	if !strings.HasPrefix(backendai.Version(), "libbackendai/") {
		t.Fatalf("Version() = %q", backendai.Version())
	}
	if backendai.VersionNum() != backendai.HeaderVersionNum {
		t.Fatalf("library %#x, header %#x", backendai.VersionNum(), backendai.HeaderVersionNum)
	}
}

func TestConfigFromEnv(t *testing.T) {
	cfg, err := backendai.ConfigFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Endpoint != strings.TrimSuffix(os.Getenv("BACKEND_ENDPOINT"), "/") && cfg.Endpoint != os.Getenv("BACKEND_ENDPOINT") && !strings.HasPrefix(cfg.Endpoint, os.Getenv("BACKEND_ENDPOINT")) {
		t.Errorf("Endpoint = %q, environment has %q", cfg.Endpoint, os.Getenv("BACKEND_ENDPOINT"))
	}
	if cfg.AccessKey != os.Getenv("BACKEND_ACCESS_KEY") {
		t.Errorf("AccessKey = %q", cfg.AccessKey)
	}
	if cfg.SecretKey != "" {
		t.Errorf("the secret key must stay inside the library")
	}
}

func TestVersions(t *testing.T) {
	s := open(t)
	v, err := s.Versions(context.Background())
	if err != nil {
		t.Fatalf("Versions: %v", err)
	}
	if !strings.HasPrefix(v.Version, "v") || v.Manager == "" {
		t.Fatalf("Versions = %+v (%s)", v, v.Raw)
	}
	if !strings.HasPrefix(s.APIVersion(), "v") {
		t.Fatalf("APIVersion = %q", s.APIVersion())
	}
}

func TestExplicitConfig(t *testing.T) {
	s, err := backendai.Open(context.Background(), backendai.Config{
		Endpoint:  os.Getenv("BACKEND_ENDPOINT"),
		AccessKey: os.Getenv("BACKEND_ACCESS_KEY"),
		SecretKey: os.Getenv("BACKEND_SECRET_KEY"),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Versions(context.Background()); err != nil {
		t.Fatalf("Versions: %v", err)
	}
}

func TestWrongSecretKeyIsAuthError(t *testing.T) {
	s, err := backendai.Open(context.Background(), backendai.Config{
		Endpoint:  os.Getenv("BACKEND_ENDPOINT"),
		AccessKey: os.Getenv("BACKEND_ACCESS_KEY"),
		SecretKey: "not-the-secret-key",
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	_, err = s.CreateCompute(context.Background(), image(), backendai.CreateOptions{Name: unique("auth")})
	var e *backendai.Error
	if !errors.As(err, &e) {
		t.Fatalf("err = %v, want *backendai.Error", err)
	}
	if e.Code != backendai.ErrAuth || e.HTTPStatus != 401 || !errors.Is(err, backendai.ErrAuth) {
		t.Fatalf("err = %#v", e)
	}
	// 26.09 adds its own error_code; 23.09 sends none.
	wantCode := "user_auth_unauthorized"
	if os.Getenv("BAI_TEST_EMULATE") == "23.09" {
		wantCode = ""
	}
	if e.ServerCode != wantCode {
		t.Fatalf("ServerCode = %q, want %q", e.ServerCode, wantCode)
	}
	if strings.Contains(err.Error(), "not-the-secret-key") {
		t.Fatalf("the error shows the secret key: %v", err)
	}
}

func TestInvalidEndpointIsRejected(t *testing.T) {
	_, err := backendai.Open(context.Background(), backendai.Config{Endpoint: "not a url"})
	if !errors.Is(err, backendai.ErrInvalidArg) {
		t.Fatalf("err = %v, want ErrInvalidArg", err)
	}
}

// The main scenario: open → create → run with output writers → upload a file and read it from
// code → list and download it → destroy.
func TestScenario(t *testing.T) {
	ctx := context.Background()
	s := open(t)
	name := unique("go-scenario")
	c, err := s.CreateCompute(ctx, image(), backendai.CreateOptions{
		Name: name,
		Env:  map[string]string{"GREETING": "hi from env"},
	})
	if err != nil {
		t.Fatalf("CreateCompute: %v", err)
	}
	defer c.Close()
	if c.Name() != name || c.ID() == "" || !c.Created() {
		t.Fatalf("name %q id %q created %v", c.Name(), c.ID(), c.Created())
	}
	if c.Status() != "RUNNING" {
		t.Fatalf("status %q", c.Status())
	}

	var out, errOut bytes.Buffer
	res, err := c.Run(ctx, "import os, sys\nprint('hello', 6*7)\nprint('oops', file=sys.stderr)\nprint(os.environ.get('GREETING'))\n",
		backendai.RunOptions{Stdout: &out, Stderr: &errOut})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if out.String() != "hello 42\nhi from env\n" || errOut.String() != "oops\n" {
		t.Fatalf("stdout %q stderr %q", out.String(), errOut.String())
	}
	if res.Status != "finished" || !res.HasExitCode || res.ExitCode != 0 {
		t.Fatalf("result %+v", res)
	}

	// The interpreter keeps its state between runs.
	out.Reset()
	if _, err := c.Run(ctx, "x = 5", backendai.RunOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Run(ctx, "print(x * 2)", backendai.RunOptions{Stdout: &out}); err != nil {
		t.Fatal(err)
	}
	if out.String() != "10\n" {
		t.Fatalf("stdout %q", out.String())
	}

	// Upload, then read the file from code.
	dir := t.TempDir()
	payload := "line one\nline two ünïcode\n"
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o755); err != nil {
		t.Fatal(err)
	}
	local := filepath.Join(dir, "data", "input.txt")
	if err := os.WriteFile(local, []byte(payload), 0o644); err != nil {
		t.Fatal(err)
	}
	var progressed uint64
	if err := c.Upload(ctx, []string{local}, backendai.UploadOptions{
		BaseDir:    dir,
		OnProgress: func(done, total uint64) { progressed = done },
	}); err != nil {
		t.Fatalf("Upload: %v", err)
	}
	if progressed != uint64(len(payload)) {
		t.Errorf("progress reached %d of %d bytes", progressed, len(payload))
	}
	out.Reset()
	if _, err := c.Run(ctx, "print(open('data/input.txt', encoding='utf-8').read().upper(), end='')",
		backendai.RunOptions{Stdout: &out}); err != nil {
		t.Fatal(err)
	}
	if out.String() != strings.ToUpper(payload) {
		t.Fatalf("read back %q", out.String())
	}

	files, err := c.ListFiles(ctx, "data")
	if err != nil {
		t.Fatalf("ListFiles: %v", err)
	}
	found := false
	for _, f := range files {
		if f.Name == "input.txt" {
			found = true
			if f.IsDir || f.Size != uint64(len(payload)) || f.ModTime.IsZero() {
				t.Errorf("entry %+v", f)
			}
		}
	}
	if !found {
		t.Fatalf("input.txt not listed: %+v", files)
	}

	// Write a file from code and download it.
	if _, err := c.Run(ctx, "open('made.txt', 'w').write('made by code\\n')", backendai.RunOptions{}); err != nil {
		t.Fatal(err)
	}
	dest := t.TempDir()
	names, err := c.Download(ctx, []string{"made.txt"}, dest, backendai.DownloadOptions{})
	if err != nil {
		t.Fatalf("Download: %v", err)
	}
	got, err := os.ReadFile(filepath.Join(dest, "made.txt"))
	if err != nil || string(got) != "made by code\n" {
		t.Fatalf("downloaded %q (%v), names %v", got, err, names)
	}

	if _, err := c.Info(ctx); err != nil {
		t.Fatalf("Info: %v", err)
	}

	// Listing: the session is there.
	seen := false
	for info, err := range s.Sessions(ctx, backendai.ListOptions{PageSize: 2}) {
		if err != nil {
			t.Fatalf("Sessions: %v", err)
		}
		if info.ID == c.ID() || info.Name == name {
			seen = true
			if info.Status != "RUNNING" {
				t.Errorf("listed status %q", info.Status)
			}
		}
	}
	if !seen {
		t.Fatalf("session %s not listed", c.ID())
	}

	if err := c.Destroy(ctx); err != nil {
		t.Fatalf("Destroy: %v", err)
	}
	_, err = c.Run(ctx, "print(1)", backendai.RunOptions{})
	if err == nil {
		t.Fatal("Run after Destroy succeeded")
	}
	var e *backendai.Error
	if !errors.As(err, &e) || (e.Code != backendai.ErrNotFound && e.Code != backendai.ErrSessionGone) {
		t.Fatalf("Run after Destroy: %v", err)
	}
	if err := c.Destroy(ctx); !errors.Is(err, backendai.ErrNotFound) {
		t.Fatalf("second Destroy: %v", err)
	}
}

func TestGetOrCreateReuses(t *testing.T) {
	ctx := context.Background()
	s := open(t)
	name := unique("go-reuse")
	a, err := s.CreateCompute(ctx, image(), backendai.CreateOptions{Name: name})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { a.Destroy(ctx); a.Close() }()
	b, err := s.CreateCompute(ctx, image(), backendai.CreateOptions{Name: name})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if !a.Created() || b.Created() || a.ID() != b.ID() {
		t.Fatalf("a %s created %v, b %s created %v", a.ID(), a.Created(), b.ID(), b.Created())
	}
}

func TestInput(t *testing.T) {
	s := open(t)
	c := create(t, s, "go-input")
	var prompts []backendai.InputRequest
	answers := []string{"3", "4"}
	var out bytes.Buffer
	res, err := c.Run(context.Background(), "a = int(input('a? '))\nb = int(input('b? '))\nprint('sum', a + b)",
		backendai.RunOptions{Stdout: &out, OnInput: func(r backendai.InputRequest) (string, error) {
			prompts = append(prompts, r)
			a := answers[0]
			answers = answers[1:]
			return a, nil
		}})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if out.String() != "a? b? sum 7\n" || res.ExitCode != 0 {
		t.Fatalf("stdout %q result %+v", out.String(), res)
	}
	if len(prompts) != 2 || prompts[0].Prompt != "a? " || prompts[1].Prompt != "b? " || prompts[0].IsPassword {
		t.Fatalf("prompts %+v", prompts)
	}

	// getpass() is flagged as a password and not echoed.
	out.Reset()
	var req backendai.InputRequest
	if _, err := c.Run(context.Background(), "import getpass\npw = getpass.getpass('Password: ')\nprint('len', len(pw))",
		backendai.RunOptions{Stdout: &out, OnInput: func(r backendai.InputRequest) (string, error) {
			req = r
			return "s3cret-value", nil
		}}); err != nil {
		t.Fatal(err)
	}
	if !req.IsPassword || !strings.Contains(out.String(), "len 12\n") || strings.Contains(out.String(), "s3cret-value") {
		t.Fatalf("request %+v stdout %q", req, out.String())
	}

	// An Input function failing ends the run with its error.
	boom := errors.New("no answer today")
	_, err = c.Run(context.Background(), "input('x? ')", backendai.RunOptions{
		OnInput: func(backendai.InputRequest) (string, error) { return "", boom },
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want the Input error", err)
	}
	// Without an Input function, a run asking for input fails instead of hanging.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err = c.Run(ctx, "input('y? ')", backendai.RunOptions{})
	if !errors.Is(err, backendai.ErrBadState) {
		t.Fatalf("err = %v, want ErrBadState", err)
	}
	// The session still works afterwards.
	out.Reset()
	if _, err := c.Run(ctx, "print('still here')", backendai.RunOptions{Stdout: &out}); err != nil || out.String() != "still here\n" {
		t.Fatalf("after failed input: %q %v", out.String(), err)
	}
}

// A tiny real PNG (1x1, RGB).
const pngB64 = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC"

func TestMedia(t *testing.T) {
	s := open(t)
	c := create(t, s, "go-media")
	png, _ := base64.StdEncoding.DecodeString(pngB64)
	svg := `<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><circle cx="5" cy="5" r="4"/></svg>`
	code := "import base64\nfrom backendai_kernel import emit_media\n" +
		fmt.Sprintf("emit_media('image/png', base64.b64decode(%q))\n", pngB64) +
		fmt.Sprintf("emit_media('image/svg+xml', %q)\n", svg) +
		"print('after media')\n"
	var media []backendai.Media
	var out bytes.Buffer
	if _, err := c.Run(context.Background(), code, backendai.RunOptions{
		Stdout:  &out,
		OnMedia: func(m backendai.Media) { media = append(media, m) },
	}); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if len(media) != 2 {
		t.Fatalf("media %+v", media)
	}
	if media[0].MIME != "image/png" || !media[0].Decoded || !bytes.Equal(media[0].Data, png) {
		t.Fatalf("png record %q decoded %v (%d bytes)", media[0].MIME, media[0].Decoded, len(media[0].Data))
	}
	if media[1].MIME != "image/svg+xml" || media[1].Decoded || string(media[1].Data) != svg {
		t.Fatalf("svg record %+v", media[1])
	}
	if out.String() != "after media\n" {
		t.Fatalf("stdout %q", out.String())
	}
}

func TestCancelLongRun(t *testing.T) {
	s := open(t)
	c := create(t, s, "go-cancel")
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(time.Second, cancel)
	var out bytes.Buffer
	start := time.Now()
	_, err := c.Run(ctx, "import time\nprint('sleeping', flush=True)\ntime.sleep(60)\nprint('woke up')", backendai.RunOptions{Stdout: &out})
	elapsed := time.Since(start)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if !errors.Is(err, backendai.ErrCancelled) {
		t.Fatalf("err = %v, want ErrCancelled", err)
	}
	if elapsed > 5*time.Second {
		t.Fatalf("cancellation took %v", elapsed)
	}
	if strings.Contains(out.String(), "woke up") {
		t.Fatalf("stdout %q", out.String())
	}
	// The run was interrupted on the server: the session serves the next run at once.
	out.Reset()
	ctx2, cancel2 := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel2()
	if _, err := c.Run(ctx2, "print('next run')", backendai.RunOptions{Stdout: &out}); err != nil || out.String() != "next run\n" {
		t.Fatalf("next run: %q %v", out.String(), err)
	}
}

func TestDeadline(t *testing.T) {
	s := open(t)
	c := create(t, s, "go-deadline")
	ctx, cancel := context.WithTimeout(context.Background(), 800*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.Run(ctx, "import time\ntime.sleep(60)", backendai.RunOptions{})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want context.DeadlineExceeded", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Fatalf("deadline honoured after %v", time.Since(start))
	}
	// An already cancelled context never starts the call.
	done, cancel2 := context.WithCancel(context.Background())
	cancel2()
	if _, err := c.Run(done, "print(1)", backendai.RunOptions{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	if _, err := s.Versions(done); !errors.Is(err, context.Canceled) {
		t.Fatalf("Versions: err = %v", err)
	}
}

type failingWriter struct{ err error }

func (w failingWriter) Write([]byte) (int, error) { return 0, w.err }

func TestWriterErrorStopsRun(t *testing.T) {
	s := open(t)
	c := create(t, s, "go-writer")
	werr := errors.New("disk full")
	start := time.Now()
	_, err := c.Run(context.Background(), "import time\nprint('x', flush=True)\ntime.sleep(30)", backendai.RunOptions{Stdout: failingWriter{werr}})
	if !errors.Is(err, werr) || !errors.Is(err, backendai.ErrAbortedByCallback) {
		t.Fatalf("err = %v", err)
	}
	if time.Since(start) > 10*time.Second {
		t.Fatalf("stop took %v", time.Since(start))
	}
}

func TestExecuteSteps(t *testing.T) {
	s := open(t)
	c := create(t, s, "go-exec")
	ctx := context.Background()
	var out bytes.Buffer
	res, err := c.Execute(ctx, backendai.ModeQuery, "", "name = input('who? ')", nil, backendai.RunOptions{Stdout: &out})
	if err != nil {
		t.Fatal(err)
	}
	for res.Status == "continued" {
		if res, err = c.Execute(ctx, backendai.ModeContinue, res.RunID, "", nil, backendai.RunOptions{Stdout: &out}); err != nil {
			t.Fatal(err)
		}
	}
	if res.Status != "waiting-input" || res.RunID == "" {
		t.Fatalf("result %+v", res)
	}
	res, err = c.Execute(ctx, backendai.ModeInput, res.RunID, "gopher", nil, backendai.RunOptions{Stdout: &out})
	if err != nil {
		t.Fatal(err)
	}
	for res.Status == "continued" {
		if res, err = c.Execute(ctx, backendai.ModeContinue, res.RunID, "", nil, backendai.RunOptions{Stdout: &out}); err != nil {
			t.Fatal(err)
		}
	}
	if res.Status != "finished" {
		t.Fatalf("result %+v", res)
	}
	out.Reset()
	if _, err := c.Run(ctx, "print(name)", backendai.RunOptions{Stdout: &out}); err != nil || out.String() != "gopher\n" {
		t.Fatalf("%q %v", out.String(), err)
	}
	// A continue without a run id is the caller's mistake.
	if _, err := c.Execute(ctx, backendai.ModeContinue, "", "", nil, backendai.RunOptions{}); !errors.Is(err, backendai.ErrInvalidArg) {
		t.Fatalf("err = %v", err)
	}
}

func TestBatch(t *testing.T) {
	s := open(t)
	c := create(t, s, "go-batch")
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "main.py"), []byte("print('batch main')\n"), 0o644)
	if err := c.Upload(context.Background(), []string{filepath.Join(dir, "main.py")}, backendai.UploadOptions{BaseDir: dir}); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	res, err := c.RunBatch(context.Background(), backendai.BatchOptions{Exec: "python main.py"}, backendai.RunOptions{Stdout: &out})
	if err != nil {
		t.Fatalf("RunBatch: %v", err)
	}
	if !strings.Contains(out.String(), "batch main\n") || res.ExitCode != 0 {
		t.Fatalf("stdout %q result %+v", out.String(), res)
	}
}

func TestUploadErrors(t *testing.T) {
	s := open(t)
	c := create(t, s, "go-upload")
	dir := t.TempDir()
	big := filepath.Join(dir, "big.bin")
	os.WriteFile(big, make([]byte, backendai.MaxUploadSize+1), 0o644)
	if err := c.Upload(context.Background(), []string{big}, backendai.UploadOptions{BaseDir: dir}); !errors.Is(err, backendai.ErrInvalidArg) {
		t.Fatalf("oversized upload: %v", err)
	}
	outside := filepath.Join(t.TempDir(), "x.txt")
	os.WriteFile(outside, []byte("x"), 0o644)
	if err := c.Upload(context.Background(), []string{outside}, backendai.UploadOptions{BaseDir: dir}); !errors.Is(err, backendai.ErrInvalidArg) {
		t.Fatalf("upload outside base dir: %v", err)
	}
	if _, err := c.Download(context.Background(), []string{"no-such-file.txt"}, t.TempDir(), backendai.DownloadOptions{}); err == nil {
		t.Fatal("download of a missing file succeeded")
	}
}

func TestNotFound(t *testing.T) {
	s := open(t)
	c, err := s.AttachCompute(unique("go-missing"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, err = c.Info(context.Background())
	var e *backendai.Error
	if !errors.As(err, &e) || e.Code != backendai.ErrNotFound || e.HTTPStatus != 404 || e.Name != "BAI_E_NOT_FOUND" {
		t.Fatalf("err = %#v", err)
	}
}

func TestClosedHandles(t *testing.T) {
	s := open(t)
	c, err := s.AttachCompute("whatever")
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	c.Close()
	if _, err := c.Run(context.Background(), "1", backendai.RunOptions{}); !errors.Is(err, backendai.ErrBadState) {
		t.Fatalf("Run on closed compute: %v", err)
	}
	s.Close()
	if _, err := s.Versions(context.Background()); !errors.Is(err, backendai.ErrBadState) {
		t.Fatalf("Versions on closed session: %v", err)
	}
}

func TestConcurrentGoroutinesShareSession(t *testing.T) {
	s := open(t)
	ctx := context.Background()
	const workers = 4
	var wg sync.WaitGroup
	errs := make(chan error, workers*4)
	for i := 0; i < workers; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			for j := 0; j < 3; j++ {
				if _, err := s.Versions(ctx); err != nil {
					errs <- fmt.Errorf("worker %d versions: %w", i, err)
					return
				}
			}
			c, err := s.CreateCompute(ctx, image(), backendai.CreateOptions{Name: unique(fmt.Sprintf("go-conc%d", i)), NoReuse: true})
			if err != nil {
				errs <- fmt.Errorf("worker %d create: %w", i, err)
				return
			}
			defer func() { c.Destroy(ctx); c.Close() }()
			var out bytes.Buffer
			if _, err := c.Run(ctx, fmt.Sprintf("import time\ntime.sleep(0.3)\nprint('worker', %d)", i), backendai.RunOptions{Stdout: &out}); err != nil {
				errs <- fmt.Errorf("worker %d run: %w", i, err)
				return
			}
			if want := fmt.Sprintf("worker %d\n", i); out.String() != want {
				errs <- fmt.Errorf("worker %d stdout %q", i, out.String())
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestConcurrentRunsOnOneCompute(t *testing.T) {
	s := open(t)
	c := create(t, s, "go-shared")
	var wg sync.WaitGroup
	outs := make([]bytes.Buffer, 4)
	errs := make([]error, 4)
	for i := range outs {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			_, errs[i] = c.Run(context.Background(), fmt.Sprintf("print(%d * 11)", i), backendai.RunOptions{Stdout: &outs[i]})
		}(i)
	}
	wg.Wait()
	for i := range outs {
		if errs[i] != nil || outs[i].String() != fmt.Sprintf("%d\n", i*11) {
			t.Errorf("run %d: %q %v", i, outs[i].String(), errs[i])
		}
	}
}

func TestInterruptFromAnotherGoroutine(t *testing.T) {
	s := open(t)
	c := create(t, s, "go-interrupt")
	started := make(chan struct{})
	var once sync.Once
	done := make(chan error, 1)
	go func() {
		_, err := c.Run(context.Background(), "import time\nprint('go', flush=True)\ntime.sleep(60)", backendai.RunOptions{
			OnConsole: func(backendai.ConsoleRecord) { once.Do(func() { close(started) }) },
		})
		done <- err
	}()
	select {
	case <-started:
	case <-time.After(20 * time.Second):
		t.Fatal("run did not start")
	}
	if err := c.Interrupt(context.Background()); err != nil {
		t.Fatalf("Interrupt: %v", err)
	}
	select {
	case err := <-done:
		// An interrupted run ends; whether as an error or a finished run with a KeyboardInterrupt
		// traceback is the server's choice: it must not take the full 60 s.
		_ = err
	case <-time.After(15 * time.Second):
		t.Fatal("interrupted run did not end")
	}
}

var _ = io.Discard

func TestStream(t *testing.T) {
	s := open(t)
	c := create(t, s, "go-stream")
	var out, errOut bytes.Buffer
	res, err := c.Stream(context.Background(), "import sys\nprint('streamed', 6*7)\nprint('e', file=sys.stderr)", backendai.RunOptions{Stdout: &out, Stderr: &errOut})
	if err != nil {
		t.Fatalf("Stream: %v", err)
	}
	if out.String() != "streamed 42\n" || errOut.String() != "e\n" || res.ExitCode != 0 {
		t.Fatalf("stdout %q stderr %q result %+v", out.String(), errOut.String(), res)
	}
	// Output arrives while the code runs: cancel as soon as the first line is seen.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out.Reset()
	start := time.Now()
	_, err = c.Stream(ctx, "import time\nprint('sleeping', flush=True)\ntime.sleep(60)", backendai.RunOptions{
		OnConsole: func(r backendai.ConsoleRecord) { cancel() },
		Stdout:    &out,
	})
	if !errors.Is(err, context.Canceled) || time.Since(start) > 10*time.Second {
		t.Fatalf("err = %v after %v", err, time.Since(start))
	}
	if out.String() != "sleeping\n" {
		t.Fatalf("stdout %q", out.String())
	}
	// Input over the stream.
	out.Reset()
	if _, err := c.Stream(context.Background(), "print('hi', input('who? '))", backendai.RunOptions{
		Stdout:  &out,
		OnInput: func(backendai.InputRequest) (string, error) { return "gopher", nil },
	}); err != nil || out.String() != "who? hi gopher\n" {
		t.Fatalf("stream input: %q %v", out.String(), err)
	}
}

func TestStorageFolders(t *testing.T) {
	ctx := context.Background()
	s := open(t)
	name := unique("go-data")
	if _, err := s.CreateFolder(ctx, name, backendai.FolderOptions{}); err != nil {
		t.Fatalf("CreateFolder: %v", err)
	}
	defer s.DeleteFolder(ctx, name)
	if _, err := s.CreateFolder(ctx, name, backendai.FolderOptions{}); err == nil {
		t.Fatal("creating the same folder twice succeeded")
	}
	list, err := s.Folders(ctx)
	if err != nil || !strings.Contains(string(list), name) {
		t.Fatalf("Folders: %s %v", list, err)
	}
	dir := t.TempDir()
	payload := strings.Repeat("folder data\n", 1000)
	os.WriteFile(filepath.Join(dir, "in.txt"), []byte(payload), 0o644)
	var progress uint64
	if err := s.UploadToFolder(ctx, name, []string{filepath.Join(dir, "in.txt")}, backendai.FolderTransferOptions{
		BaseDir: dir, OnProgress: func(done, total uint64) { progress = done },
	}); err != nil {
		t.Fatalf("UploadToFolder: %v", err)
	}
	if progress != uint64(len(payload)) {
		t.Errorf("progress %d of %d", progress, len(payload))
	}
	// Mounted into a compute session under its name.
	c, err := s.CreateCompute(ctx, image(), backendai.CreateOptions{Name: unique("go-mount"), Mounts: []string{name}})
	if err != nil {
		t.Fatalf("CreateCompute with mount: %v", err)
	}
	defer func() { c.Destroy(ctx); c.Close() }()
	var out bytes.Buffer
	code := fmt.Sprintf("print(len(open('%s/in.txt').read()))\nopen('%s/out.txt', 'w').write('written by the session')", name, name)
	if _, err := c.Run(ctx, code, backendai.RunOptions{Stdout: &out}); err != nil || out.String() != fmt.Sprintf("%d\n", len(payload)) {
		t.Fatalf("read from mount: %q %v", out.String(), err)
	}
	entries, err := s.FolderFiles(ctx, name, "")
	if err != nil {
		t.Fatalf("FolderFiles: %v", err)
	}
	sizes := map[string]int64{}
	for _, e := range entries {
		sizes[e.Name] = e.Size
	}
	if sizes["in.txt"] != int64(len(payload)) || sizes["out.txt"] != int64(len("written by the session")) {
		t.Fatalf("entries %+v", entries)
	}
	dest := t.TempDir()
	if err := s.DownloadFromFolder(ctx, name, []string{"out.txt"}, dest, backendai.FolderTransferOptions{}); err != nil {
		t.Fatalf("DownloadFromFolder: %v", err)
	}
	if got, _ := os.ReadFile(filepath.Join(dest, "out.txt")); string(got) != "written by the session" {
		t.Fatalf("downloaded %q", got)
	}
	// Unknown folders are 404.
	_, err = s.CreateCompute(ctx, image(), backendai.CreateOptions{Name: unique("go-nomount"), Mounts: []string{"no-such-folder"}})
	var e *backendai.Error
	if !errors.As(err, &e) || e.HTTPStatus != 404 {
		t.Fatalf("mount of unknown folder: %v", err)
	}
	if err := s.DeleteFolder(ctx, name); err != nil {
		t.Fatalf("DeleteFolder: %v", err)
	}
	if _, err := s.FolderInfo(ctx, name); !errors.Is(err, backendai.ErrNotFound) {
		t.Fatalf("FolderInfo after delete: %v", err)
	}
}
