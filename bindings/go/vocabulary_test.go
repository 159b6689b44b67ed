package backendai_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	backendai "github.com/libbackendai/libbackendai/bindings/go"
)

// What every binding names and returns the same way (see bindings/README.md).

func TestEnumsPrintTheirNames(t *testing.T) {
	for _, c := range []struct {
		v    fmt.Stringer
		want string
	}{
		{backendai.EndpointAPI, "api"}, {backendai.EndpointSession, "session"},
		{backendai.EndpointType(7), "EndpointType(7)"}, {backendai.Batch, "batch"},
		{backendai.MultiNode, "multi-node"}, {backendai.Stderr, "stderr"}, {backendai.ModeInput, "input"},
	} {
		if got := fmt.Sprint(c.v); got != c.want {
			t.Errorf("%#v prints %q, want %q", c.v, got, c.want)
		}
	}
	cfg, err := backendai.ConfigFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprintf("%v", cfg.EndpointType); got != "api" {
		t.Errorf("the environment's endpoint type prints %q", got)
	}
}

func TestNotFoundFamilyIncludesAGoneSession(t *testing.T) {
	if !errors.Is(backendai.ErrSessionGone, backendai.ErrNotFound) || errors.Is(backendai.ErrNotFound, backendai.ErrSessionGone) {
		t.Fatal("ErrNotFound must match ErrSessionGone (and not the other way round)")
	}
	ctx := context.Background()
	c := create(t, open(t), "gone")
	if err := c.Destroy(ctx); err != nil {
		t.Fatal(err)
	}
	_, err := c.Run(ctx, "print('never')", backendai.RunOptions{})
	var e *backendai.Error
	if !errors.As(err, &e) || !errors.Is(err, backendai.ErrNotFound) || e.HTTPStatus != 404 {
		t.Fatalf("a run on a destroyed session: %v, want the NOT_FOUND family with HTTP 404", err)
	}
}

func TestOptionsAreParsedOrNil(t *testing.T) {
	ctx := context.Background()
	c := create(t, open(t), "opts")
	step, err := c.Execute(ctx, backendai.ModeQuery, "", `x = input("x? ")`, nil, backendai.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if step.Status != "waiting-input" || step.Options["is_password"] != false {
		t.Fatalf("waiting step: status %q options %#v", step.Status, step.Options)
	}
	done, err := c.Execute(ctx, backendai.ModeInput, step.RunID, "1", nil, backendai.RunOptions{})
	for err == nil && done.Status != "finished" {
		done, err = c.Execute(ctx, backendai.ModeContinue, step.RunID, "", nil, backendai.RunOptions{})
	}
	if err != nil {
		t.Fatal(err)
	}
	if done.Options != nil {
		t.Fatalf("a finished run has options %#v, want nil", done.Options)
	}
}
