package tool_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"testing"

	"o7s.dev/ouroboros/internal/tool"
	"o7s.dev/ouroboros/internal/tool/tooltest"
	"o7s.dev/ouroboros/stack/ctrl"
	"o7s.dev/ouroboros/stack/flow"
)

// The banner names what the server is bound to, or says it is bound to
// nothing yet and how to bind it.
func TestBannerNamesTheBinding(t *testing.T) {
	h := tooltest.Start(t)
	ctx := context.Background()
	p, err := flow.Attach(ctx, flow.Config{RunDir: h.RunDir})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	var w bytes.Buffer
	tool.Banner(ctx, &w, p, "oping")
	want := fmt.Sprintf("oping server, pid %d: bound to no name yet; bind it with 'irm bind process %d name oping' (or the name clients use)\n", p.PID(), p.PID())
	if w.String() != want {
		t.Fatalf("unbound banner %q, want %q", w.String(), want)
	}
	for _, n := range []string{"srv", "echo"} {
		if err := h.IRM.BindProcess(ctrl.BindProcess{PID: os.Getpid(), Name: n}); err != nil {
			t.Fatal(err)
		}
	}
	w.Reset()
	tool.Banner(ctx, &w, p, "oping")
	if want := fmt.Sprintf("oping server, pid %d: accepting flows for echo, srv\n", p.PID()); w.String() != want {
		t.Fatalf("bound banner %q, want %q", w.String(), want)
	}
}
