package ratelog

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestOneLinePerCausePerInterval(t *testing.T) {
	var out bytes.Buffer
	now := time.Unix(1000, 0)
	l := &Limiter{Logger: slog.New(slog.NewTextHandler(&out, nil)), Interval: time.Second, Now: func() time.Time { return now }}
	for range 100 {
		l.Log(slog.LevelWarn, "replay", "request refused", "cause", "replay")
	}
	if !l.Log(slog.LevelWarn, "size", "request refused", "cause", "size") {
		t.Fatal("a second cause was suppressed by the first")
	}
	if got := strings.Count(out.String(), "\n"); got != 2 {
		t.Fatalf("wrote %d lines for 100 events of one cause and 1 of another, want 2:\n%s", got, out.String())
	}
	now = now.Add(time.Second)
	out.Reset()
	if !l.Log(slog.LevelWarn, "replay", "request refused", "cause", "replay") {
		t.Fatal("nothing logged after the interval")
	}
	if !strings.Contains(out.String(), "suppressed=99") {
		t.Fatalf("the line after the interval does not count the 99 suppressed events: %s", out.String())
	}
}

func TestCausesBounded(t *testing.T) {
	l := &Limiter{Logger: slog.New(slog.DiscardHandler)}
	for i := range 10 * maxCauses {
		l.Log(slog.LevelInfo, string(rune('a'+i%26))+strings.Repeat("x", i), "m")
	}
	if len(l.causes) > maxCauses {
		t.Fatalf("%d causes remembered, at most %d", len(l.causes), maxCauses)
	}
}
