// Command operf measures the throughput of a flow to a name, as iperf does
// for IP hosts. With -l it is the server: it counts (and in bi mode echoes)
// what its clients send and reports what it received.
package main

import (
	"context"
	"io"
	"os"
	"time"

	"o7s.dev/ouroboros/internal/tool"
	"o7s.dev/ouroboros/stack/flow"
)

const name = "operf"

const about = `operf sends SDUs to NAME as fast as the flow takes them for DURATION and ` +
	`prints the throughput in Mbit/s and packets/s; while it runs on a terminal it ` +
	`also prints progress every second. At the end the server reports what it ` +
	`received, so the received figure is what arrived. In uni mode the client sends ` +
	`and the server counts; in bi mode the server also echoes everything and the ` +
	`client counts what comes back.

With -l, operf is the server: bind its pid (printed on start) or the operf ` +
	`program to a name; it serves any number of clients at once.`

type options struct {
	listen   bool
	name     string
	duration time.Duration
	size     int
	mode     mode
	qos      tool.QoS
}

func defaultOptions() options {
	return options{duration: 10 * time.Second, size: 1400, mode: modeUni, qos: tool.MustQoS("raw")}
}

func main() {
	ctx, stop := tool.SignalContext()
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	o, err := parseOptions(args, stdout)
	if err != nil {
		return tool.Exit(name, err, stderr)
	}
	return tool.WithProcess(ctx, name, stderr, func(p *flow.Process) error {
		if o.listen {
			tool.Banner(ctx, stderr, p, name)
			return tool.Serve(ctx, p, stderr, func(f *flow.Flow) { newSession(f, stdout).run() })
		}
		return measure(ctx, p, o, stdout, stderr)
	})
}

func parseOptions(args []string, stdout io.Writer) (options, error) {
	o := defaultOptions()
	c := tool.NewCommand(name, about, "-l", "-n NAME [-d DURATION] [-s SIZE] [-t uni|bi] [-q QOS]")
	c.Bool(&o.listen, "l,listen", "run as a server: count, and in bi mode echo, what clients send", "operf -l")
	c.String(&o.name, "n,name", "NAME", "the name to measure the flow to", "-n operf")
	c.Var(tool.DurationValue(&o.duration, time.Second), "d,duration", "DURATION",
		"how long to send: a duration, or a plain number of seconds", "-d 30, or -d 500ms")
	c.Int(&o.size, "s,size", "SIZE", "bytes per SDU; lowered to the flow's max SDU if above it", "-s 8000")
	c.Var(&o.mode, "t,type", "TYPE", "uni: the client sends, the server counts; bi: the server also echoes, the client counts what comes back", "-t bi")
	c.Var(&o.qos, "q,qos", "QOS", tool.QoSUsage, "-q data")
	c.Example("operf -l", "serve; then: irm bind process PID name operf (or irm bind program operf name operf)")
	c.Example("operf -n operf", "ten seconds one way, 1400-byte SDUs")
	c.Example("operf -n operf -t bi -d 5 -s 64", "five seconds of small SDUs echoed back")
	if err := c.Parse(args, stdout); err != nil {
		return o, err
	}
	return o, o.validate(c)
}

func (o *options) validate(c *tool.Command) error {
	if o.listen {
		for _, opt := range []string{"n", "d", "s", "t", "q"} {
			if c.Set(opt) {
				return tool.Usagef("-%s is a client option; the server (-l) takes none", opt)
			}
		}
		return nil
	}
	switch {
	case o.name == "":
		return tool.Usagef("give -n NAME to measure a flow, or -l to run the server")
	case o.size < 1:
		return tool.Usagef("-s %d: an SDU carries at least one byte", o.size)
	case o.duration <= 0:
		return tool.Usagef("-d must be positive")
	}
	return nil
}
