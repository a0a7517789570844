package main

import (
	"bytes"
	"errors"
	"flag"
	"log/slog"
	"strings"
	"testing"

	"o7s.dev/ouroboros/stack/config"
)

func TestParseFlags(t *testing.T) {
	var stderr bytes.Buffer
	o, err := parseFlags([]string{"--config", "/x.conf", "--check", "--stdout", "--log-level", "debug"}, &stderr)
	if err != nil || o.config != "/x.conf" || !o.check || !o.stdout || o.logLevel != "debug" {
		t.Fatalf("parseFlags = %+v, %v", o, err)
	}
	if _, err := parseFlags([]string{"stray"}, &stderr); err == nil || !strings.Contains(err.Error(), "stray") {
		t.Fatalf("stray argument: %v", err)
	}
	stderr.Reset()
	if _, err := parseFlags([]string{"--help"}, &stderr); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("--help: %v", err)
	}
	for _, want := range []string{"OUROBOROS_RUNDIR", "--config", "--check", "Examples:"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("help lacks %q:\n%s", want, stderr.String())
		}
	}
}

func TestLogLevel(t *testing.T) {
	cases := []struct {
		flag, conf string
		want       slog.Level
		bad        bool
	}{
		{"", "", slog.LevelInfo, false},
		{"debug", "", slog.LevelDebug, false},
		{"", "warn", slog.LevelWarn, false},
		{"error", "debug", slog.LevelError, false},
		{"loud", "", 0, true},
	}
	for _, c := range cases {
		got, err := logLevel(options{logLevel: c.flag}, &config.Config{LogLevel: c.conf})
		if (err != nil) != c.bad || (!c.bad && got != c.want) {
			t.Errorf("logLevel(%q, %q) = %v, %v", c.flag, c.conf, got, err)
		}
	}
}

func TestCheckNeedsConfig(t *testing.T) {
	if _, err := loadConfig(options{check: true}); err == nil {
		t.Fatal("--check without --config must fail")
	}
}
