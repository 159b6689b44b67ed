package backendai_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	backendai "github.com/libbackendai/libbackendai/bindings/go"
)

// Operations a host can tell apart (issue 15): per-operation RunOptions and UserData, run
// ids, the completion list, the outcomes of cancelled, interrupted and timed-out runs, the
// input prompt, Result.Raised, session-wide cancel and the retry budget.

const opsSessions, opsPerSession = 8, 8

// job is the context of one run: what the host knows about it.
type job struct {
	session, index int
	op             *backendai.Operation
	out            bytes.Buffer
	completions    int
	cancelled      bool
}

func (j *job) started() bool { return strings.Contains(j.out.String(), "started") }

func opsCode(k, i int) string {
	switch i {
	case 0: // cancelled once it runs: interrupted
		return "import time\nprint('started', flush=True)\ntime.sleep(60)\nprint('woke')"
	case 1: // cancelled while queued behind run 0: must never execute
		return "flag = True\nprint('queued run ran')"
	case 7:
		return fmt.Sprintf("print('%d:%d')\nraise ValueError('on purpose')", k, i)
	}
	return fmt.Sprintf("print('%d:%d')", k, i)
}

// TestOpsScenario: 64 runs on 8 compute sessions driven from one goroutine, each with its own
// RunOptions and UserData; each completion handed out once; queued runs cancelled see
// ErrCancelled and never execute; running runs cancelled see ErrInterrupted; the others
// finish with their own output.
func TestOpsScenario(t *testing.T) {
	s := open(t)
	cs := make([]*backendai.Compute, opsSessions)
	for k := range cs {
		cs[k] = create(t, s, fmt.Sprintf("go-ops%d", k))
	}
	// A warm-up run per session (it resets flag): its completion is handed out once too.
	for _, c := range cs {
		op, err := c.StartRun("flag = False", backendai.RunOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for {
			st, err := op.Poll(time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if st == backendai.PollDone {
				break
			}
		}
		if got := s.NextDone(); got != op {
			t.Fatalf("NextDone = %p, want the warm-up run %p", got, op)
		}
		if got := s.NextDone(); got != nil {
			t.Fatalf("a completion handed out twice: %p", got)
		}
		op.Close()
	}
	start := time.Now()
	jobs := make([]*job, 0, opsSessions*opsPerSession)
	for k, c := range cs {
		for i := 0; i < opsPerSession; i++ {
			j := &job{session: k, index: i}
			op, err := c.StartRun(opsCode(k, i), backendai.RunOptions{Stdout: &j.out, UserData: j})
			if err != nil {
				t.Fatalf("StartRun %d:%d: %v", k, i, err)
			}
			j.op = op
			if op.UserData() != j {
				t.Fatal("UserData is not the job")
			}
			jobs = append(jobs, j)
		}
		queued := jobs[k*opsPerSession+1]
		if err := queued.op.Cancel(); err != nil {
			t.Fatal(err)
		}
		queued.cancelled = true
	}
	defer func() {
		for _, j := range jobs {
			j.op.Close()
		}
	}()
	done, cancelledRunning := 0, 0
	deadline := time.Now().Add(2 * time.Minute)
	for done < len(jobs) {
		if time.Now().After(deadline) {
			t.Fatalf("%d of 64 finished", done)
		}
		if _, err := s.Poll(200 * time.Millisecond); err != nil {
			t.Fatal(err)
		}
		for op := range s.Done() {
			j := op.UserData().(*job)
			if j.op != op {
				t.Fatalf("job %d:%d handed another operation", j.session, j.index)
			}
			j.completions++
			done++
		}
		for k := 0; k < opsSessions; k++ { // cancel each sleeping run once it runs
			j := jobs[k*opsPerSession]
			if j.started() && !j.cancelled {
				if err := j.op.Cancel(); err != nil {
					t.Fatal(err)
				}
				j.cancelled = true
				cancelledRunning++
			}
		}
	}
	elapsed := time.Since(start)
	if cancelledRunning != opsSessions || s.NextDone() != nil {
		t.Fatalf("%d running runs cancelled; NextDone after the end: %v", cancelledRunning, s.NextDone())
	}
	ok, raised := 0, 0
	for _, j := range jobs {
		name := fmt.Sprintf("%d:%d", j.session, j.index)
		if j.completions != 1 {
			t.Errorf("%s handed out %d times", name, j.completions)
		}
		res, err := j.op.Result()
		switch j.index {
		case 0:
			if !errors.Is(err, backendai.ErrInterrupted) || !errors.Is(err, backendai.ErrCancelled) || j.op.Code() != backendai.ErrInterrupted {
				t.Errorf("%s: %v, want ErrInterrupted", name, err)
			}
			if strings.Contains(j.out.String(), "woke") {
				t.Errorf("%s woke up", name)
			}
		case 1:
			var e *backendai.Error
			if !errors.As(err, &e) || e.Code != backendai.ErrCancelled || errors.Is(err, backendai.ErrInterrupted) {
				t.Errorf("%s: %v, want ErrCancelled", name, err)
			}
			if j.out.Len() != 0 {
				t.Errorf("%s printed %q", name, j.out.String())
			}
		default:
			if err != nil || j.op.Err() != nil {
				t.Errorf("%s: %v", name, err)
				continue
			}
			if j.out.String() != name+"\n" { // its own output, no other run's
				t.Errorf("%s printed %q", name, j.out.String())
			}
			if res.Status != "finished" || res.Raised != (j.index == 7) || res.RunID == "" || res.RunID != j.op.RunID() {
				t.Errorf("%s result %+v, run id %q", name, res, j.op.RunID())
			}
			ok++
			if res.Raised {
				raised++
			}
		}
	}
	if ok != opsSessions*(opsPerSession-2) || raised != opsSessions {
		t.Errorf("%d finished, %d raised", ok, raised)
	}
	// The runs cancelled while queued never executed.
	for k, c := range cs {
		var out bytes.Buffer
		if _, err := c.Run(context.Background(), "print(flag)", backendai.RunOptions{Stdout: &out}); err != nil || out.String() != "False\n" {
			t.Errorf("session %d: flag %q %v", k, out.String(), err)
		}
	}
	t.Logf("64 runs on 8 compute sessions: %.1f s", elapsed.Seconds())
}

// Runs of Run and friends are operations underneath but are never handed out by NextDone;
// closed operations are skipped too.
func TestOpsCompletionListSkipsOwnAndClosedOperations(t *testing.T) {
	s := open(t)
	c := create(t, s, "go-skip")
	kept, err := c.StartRun("print('kept')", backendai.RunOptions{UserData: "kept"})
	if err != nil {
		t.Fatal(err)
	}
	defer kept.Close()
	dropped, err := c.StartRun("print('dropped')", backendai.RunOptions{UserData: "dropped"})
	if err != nil {
		t.Fatal(err)
	}
	dropped.Close()
	var out bytes.Buffer
	if _, err := c.Run(context.Background(), "print('blocking')", backendai.RunOptions{Stdout: &out}); err != nil {
		t.Fatal(err)
	}
	var got []any
	deadline := time.Now().Add(15 * time.Second)
	for len(got) == 0 && time.Now().Before(deadline) {
		s.Poll(100 * time.Millisecond)
		for op := range s.Done() {
			got = append(got, op.UserData())
		}
	}
	if len(got) != 1 || got[0] != "kept" || s.NextDone() != nil {
		t.Fatalf("handed out %v", got)
	}
}

func TestOpsInputRequest(t *testing.T) {
	s := open(t)
	c := create(t, s, "go-opinput")
	// Without OnInput the operation waits; its request says what it waits for.
	op, err := c.StartRun("import getpass\nprint('hello')\nx = input('a? ')\ny = getpass.getpass('pw: ')\nprint(x + y)", backendai.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer op.Close()
	var reqs []backendai.InputRequest
	for answer := 1; answer <= 3; {
		st, err := op.Poll(time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if st == backendai.PollDone {
			break
		}
		if st == backendai.PollWaitingInput {
			r, err := op.InputRequest()
			if err != nil {
				t.Fatal(err)
			}
			reqs = append(reqs, r)
			if err := op.SendInput(fmt.Sprint(answer)); err != nil {
				t.Fatal(err)
			}
			answer++
		}
	}
	if len(reqs) != 2 || reqs[0].Prompt != "a? " || reqs[0].IsPassword || reqs[1].Prompt != "pw: " || !reqs[1].IsPassword ||
		reqs[0].RunID != op.RunID() {
		t.Fatalf("requests %+v (run %q)", reqs, op.RunID())
	}
	// With OnInput, a started run is answered inside the poll, Session.Poll included.
	var prompts []string
	var out bytes.Buffer
	op2, err := c.StartRun("import sys\nsys.stdout.write('par'); sys.stdout.flush()\nprint('got', input('tial: '))", backendai.RunOptions{
		Stdout: &out,
		OnInput: func(r backendai.InputRequest) (string, error) {
			prompts = append(prompts, r.Prompt)
			return "x", nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer op2.Close()
	deadline := time.Now().Add(15 * time.Second)
	for !op2.Done() && time.Now().Before(deadline) {
		s.Poll(100 * time.Millisecond)
	}
	if res, err := op2.Result(); err != nil || res.ExitCode != 0 || out.String() != "partial: got x\n" {
		t.Fatalf("result %+v %v, stdout %q", res, err, out.String())
	}
	if len(prompts) != 1 || prompts[0] != "partial: " {
		t.Fatalf("prompts %q", prompts)
	}
}

func TestOpsRaisedAndTimeout(t *testing.T) {
	s := open(t)
	c := create(t, s, "go-raised")
	ctx := context.Background()
	if res, err := c.Run(ctx, "print('fine')", backendai.RunOptions{}); err != nil || res.Raised {
		t.Fatalf("fine: %+v %v", res, err)
	}
	res, err := c.Run(ctx, "raise KeyError('k')", backendai.RunOptions{})
	if err != nil || !res.Raised || res.ExitCode != 0 { // query mode: exit code 0 even so
		t.Fatalf("raised: %+v %v", res, err)
	}
	// A request timeout is its own outcome.
	cfg, err := backendai.ConfigFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	cfg.RequestTimeout = 500 * time.Millisecond
	short, err := backendai.Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer short.Close()
	sc, err := short.AttachCompute(c.Name())
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	start := time.Now()
	_, err = sc.Run(ctx, "import time\ntime.sleep(3)", backendai.RunOptions{})
	if !errors.Is(err, backendai.ErrTimeout) || time.Since(start) > 2900*time.Millisecond {
		t.Fatalf("err = %v after %v, want ErrTimeout", err, time.Since(start))
	}
	op, err := sc.StartRun("import time\ntime.sleep(3)", backendai.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer op.Close()
	if _, err := op.Wait(ctx); !errors.Is(err, backendai.ErrTimeout) || op.Code() != backendai.ErrTimeout {
		t.Fatalf("operation: %v (code %v)", err, op.Code())
	}
}

func TestSessionCancelEndsBlockingCallsOfEveryGoroutine(t *testing.T) {
	s := open(t)
	a, b := create(t, s, "go-sca"), create(t, s, "go-scb")
	var wg sync.WaitGroup
	errs := make([]error, 2)
	startedA, startedB := make(chan struct{}), make(chan struct{})
	for i, c := range []*backendai.Compute{a, b} {
		started := []chan struct{}{startedA, startedB}[i]
		var once sync.Once
		wg.Add(1)
		go func(i int, c *backendai.Compute) {
			defer wg.Done()
			_, errs[i] = c.Run(context.Background(), "import time\nprint('x', flush=True)\ntime.sleep(30)", backendai.RunOptions{
				OnConsole: func(backendai.ConsoleRecord) { once.Do(func() { close(started) }) },
			})
		}(i, c)
	}
	for _, ch := range []chan struct{}{startedA, startedB} {
		select {
		case <-ch:
		case <-time.After(20 * time.Second):
			t.Fatal("a run did not start")
		}
	}
	start := time.Now()
	if err := s.Cancel(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if time.Since(start) > 16*time.Second {
		t.Fatalf("cancel took %v", time.Since(start))
	}
	for i, err := range errs {
		if !errors.Is(err, backendai.ErrCancelled) {
			t.Errorf("run %d: %v, want the cancelled family", i, err)
		}
	}
	var out bytes.Buffer
	if _, err := a.Run(context.Background(), "print('after')", backendai.RunOptions{Stdout: &out}); err != nil || out.String() != "after\n" {
		t.Fatalf("after cancel: %q %v", out.String(), err)
	}
}

func TestRetryBudget(t *testing.T) {
	cfg, err := backendai.ConfigFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.RetryBudget <= 0 {
		t.Fatalf("the environment's retry budget is %v", cfg.RetryBudget)
	}
	cfg.RetryBudget = 2500 * time.Millisecond
	raw, err := cfg.Describe()
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		RetryBudgetMS int64 `json:"retry_budget_ms"`
	}
	if err := json.Unmarshal(raw, &d); err != nil || d.RetryBudgetMS != 2500 {
		t.Fatalf("describe: %s %v", raw, err)
	}
	if secret := os.Getenv("BACKEND_SECRET_KEY"); secret != "" && strings.Contains(string(raw), secret) {
		t.Fatal("describe shows the secret key")
	}
	cfg.RetryBudget = -time.Second
	if _, err := cfg.Describe(); !errors.Is(err, backendai.ErrInvalidArg) {
		t.Fatalf("negative budget: %v", err)
	}
}
