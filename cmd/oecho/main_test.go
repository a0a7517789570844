package main

import (
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"o7s.dev/ouroboros/internal/tool"
)

func TestParseOptions(t *testing.T) {
	o, err := parseOptions(nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if o.name != "oecho" || o.message == "" || o.wait != 2*time.Second || o.listen {
		t.Fatalf("defaults: %+v", o)
	}
	o, err = parseOptions([]string{"-n", "echo.lab", "--message", "hi there", "-w", "750"}, io.Discard)
	if err != nil || o.name != "echo.lab" || o.message != "hi there" || o.wait != 750*time.Millisecond {
		t.Fatalf("parsed: %+v, %v", o, err)
	}
	for _, args := range [][]string{{"-m", ""}, {"-n", ""}, {"-l", "-m", "x"}, {"hello"}, {"-w", "-1s"}} {
		var ue *tool.UsageError
		if _, err := parseOptions(args, io.Discard); !errors.As(err, &ue) {
			t.Errorf("%q: got %v, want a usage error", args, err)
		}
	}
	var help strings.Builder
	if _, err := parseOptions([]string{"--help"}, &help); !errors.Is(err, tool.ErrDone) ||
		!strings.Contains(help.String(), "-m, --message MESSAGE") || !strings.Contains(help.String(), "(default oecho)") {
		t.Fatalf("--help: %v\n%s", err, help.String())
	}
}
