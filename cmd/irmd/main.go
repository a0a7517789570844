// Command irmd is the Ouroboros daemon of a host: it runs the IPC resource
// manager and every IPCP of the host, and answers applications, the irm tool
// and the other tools on the control socket in its run directory.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"reflect"
	"strconv"
	"strings"
	"syscall"

	"o7s.dev/ouroboros/stack/config"
	"o7s.dev/ouroboros/stack/crypt/cert"
	"o7s.dev/ouroboros/stack/ctrl"
	"o7s.dev/ouroboros/stack/irm"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "0.1.0-dev"

// defaultConfig is read when --config is not given and the file exists.
const defaultConfig = "/etc/ouroboros/irmd.conf"

const usage = `Usage: irmd [--config FILE [--check]] [--stdout] [--log-level LEVEL] [--version]

irmd is the Ouroboros daemon: one per host. It hosts the IPC resource manager
and the host's IPC processes (IPCPs), and serves applications and the irm tool
on the control socket in its run directory ($OUROBOROS_RUNDIR, default
/run/ouroboros). Stop it with SIGINT or SIGTERM: flows are told they are down.
SIGHUP rereads the configuration file and applies [irmd] revoked (flows whose
peer showed a revoked certificate end); other changes need a restart.

Options:
`

type options struct {
	config   string
	check    bool
	stdout   bool
	logLevel string
	version  bool
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("irmd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.config, "config", "", "read the configuration `FILE` (default "+defaultConfig+" if it exists)")
	fs.BoolVar(&o.check, "check", false, "check the configuration file, and what it needs from this host (files, programs, interfaces, addresses), and exit")
	fs.BoolVar(&o.stdout, "stdout", false, "log to stdout instead of stderr (the journal under systemd)")
	fs.StringVar(&o.logLevel, "log-level", "", "log `LEVEL`: debug, info, warn or error (default info, or [irmd] log_level)")
	fs.BoolVar(&o.version, "version", false, "print the version and exit")
	fs.Usage = func() {
		fmt.Fprint(stderr, usage)
		fs.PrintDefaults()
		fmt.Fprint(stderr, "\nExamples:\n  irmd --stdout\n  irmd --config /etc/ouroboros/irmd.conf --check\n")
	}
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	return o, nil
}

func main() {
	o, err := parseFlags(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		os.Exit(2)
	}
	if o.version {
		fmt.Println("irmd", version)
		return
	}
	os.Exit(run(o))
}

func run(o options) int {
	cfg, err := loadConfig(o)
	if err == nil && cfg != nil {
		err = verify(cfg) // what start needs from the host: --check checks it too
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "irmd:", err)
		return 1
	}
	if o.check {
		if cfg != nil {
			fmt.Println(checkSummary(cfg))
		}
		return 0
	}
	level, err := logLevel(o, cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "irmd:", err)
		return 2
	}
	out := io.Writer(os.Stderr)
	if o.stdout {
		out = os.Stdout
	}
	log := slog.New(slog.NewTextHandler(out, &slog.HandlerOptions{Level: level}))
	if err := serve(log, cfg); err != nil {
		log.Error("irmd stopped", "err", err)
		return 1
	}
	return 0
}

// checkSummary is what --check prints for a file that passes.
func checkSummary(cfg *config.Config) string {
	return fmt.Sprintf("%s: ok (%s, %s)", cfg.File, plural(len(cfg.IPCPs), "IPCP", "IPCPs"), plural(len(cfg.Names), "name", "names"))
}

// plural writes a count with its noun: 1 name, 2 names, 0 names.
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

func loadConfig(o options) (*config.Config, error) {
	path := o.config
	if path == "" {
		if o.check {
			return nil, errors.New("--check needs --config FILE")
		}
		if _, err := os.Stat(defaultConfig); err != nil {
			return nil, nil
		}
		path = defaultConfig
	}
	return config.Load(path)
}

func logLevel(o options, cfg *config.Config) (slog.Level, error) {
	s := o.logLevel
	if s == "" && cfg != nil {
		s = cfg.LogLevel
	}
	if s == "" {
		return slog.LevelInfo, nil
	}
	var l slog.Level
	if err := l.UnmarshalText([]byte(strings.ToUpper(s))); err != nil {
		return 0, fmt.Errorf("bad log level %q: use debug, info, warn or error", s)
	}
	return l, nil
}

// serve runs the daemon until SIGINT or SIGTERM.
func serve(log *slog.Logger, cfg *config.Config) error {
	runDir := ctrl.RunDir()
	group, err := mgmtGroup(cfg)
	if err != nil {
		return err
	}
	raiseFileLimit(log)
	l, err := irm.Listen(runDir)
	if err != nil {
		return err
	}
	if err := l.SetGroup(group); err != nil {
		l.Close()
		return err
	}
	m := irm.New(irm.Config{Log: log, Version: version, RunDir: runDir, Limits: limits(cfg), Local: localLimits(cfg), MgmtGroup: group})
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)

	served := make(chan error, 1)
	go func() { served <- m.Serve(l.UnixListener) }()
	log.Info("irmd started", "version", version, "pid", os.Getpid(), "rundir", runDir)
	// life ends when irmd stops: it ends the enrolments and connections
	// of the configuration that are still being retried.
	life, stop := context.WithCancel(context.Background())
	defer stop()
	joined := func() {}
	if cfg != nil {
		var err error
		joined, err = apply(life, m, cfg, log)
		if err != nil {
			stop()
			l.Close()
			m.Close()
			joined()
			return fmt.Errorf("%s: %w", cfg.File, err)
		}
		log.Info("configuration applied", "file", cfg.File, "ipcps", len(cfg.IPCPs), "names", len(cfg.Names))
	}
	for {
		select {
		case err := <-served:
			stop()
			m.Close()
			l.Close()
			joined()
			return err
		case s := <-sigs:
			if s == syscall.SIGHUP {
				reload(log, m, cfg)
				continue
			}
			log.Info("shutting down", "signal", s.String())
			stop()
			l.Close()
			m.Close()
			joined()
			<-served
			log.Info("irmd stopped")
			return nil
		}
	}
}

// reload rereads the configuration file on SIGHUP and applies what can
// change while irmd runs: [irmd] revoked, which also ends the flows whose
// other end showed a certificate now revoked. The rest takes effect when
// irmd restarts, and irmd says so if it changed. A file that does not
// parse changes nothing.
func reload(log *slog.Logger, m *irm.IRM, cfg *config.Config) {
	if cfg == nil {
		log.Warn("SIGHUP: irmd runs without a configuration file; nothing to reload")
		return
	}
	next, err := config.Load(cfg.File)
	if err != nil {
		log.Error("SIGHUP: the configuration is unchanged", "err", err)
		return
	}
	r, err := cert.ParseRevoked(next.Revoked)
	if err != nil { // checked by config already
		log.Error("SIGHUP: the configuration is unchanged", "err", err)
		return
	}
	ended := m.SetRevoked(r)
	log.Info("configuration reloaded: revoked certificates applied", "file", cfg.File,
		"revoked", len(next.Revoked), "flows ended", ended)
	before, after := *cfg, *next
	before.Revoked, after.Revoked = nil, nil
	if !reflect.DeepEqual(before, after) {
		log.Warn("SIGHUP: only [irmd] revoked is applied while irmd runs; the other changes take effect when it restarts")
	}
	cfg.Revoked = next.Revoked
}
