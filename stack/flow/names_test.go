package flow_test

import (
	"context"
	"testing"
	"time"

	"o7s.dev/ouroboros/stack/irm/irmtest"
)

// TestNameExistsAndDestroy: a program that registers a name irmd did not
// know can tell, and remove the name when it is done.
func TestNameExistsAndDestroy(t *testing.T) {
	h := irmtest.Start(t, irmtest.Options{})
	p := attach(t, h)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	exists := func(name string) bool {
		t.Helper()
		ok, err := p.NameExists(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if exists("echo") {
		t.Fatal("echo exists before anyone made it")
	}
	if err := p.Register(ctx, "echo.long", "local"); err != nil {
		t.Fatal(err)
	}
	if exists("echo") || !exists("echo.long") {
		t.Fatal("a name is known by its prefix, or a registered name is not known")
	}
	if err := p.DestroyName(ctx, "echo.long"); err != nil {
		t.Fatal(err)
	}
	if exists("echo.long") {
		t.Fatal("echo.long is still known after DestroyName")
	}
	if err := p.DestroyName(ctx, "echo.long"); err == nil {
		t.Fatal("destroying a name irmd does not know succeeded")
	}
}
