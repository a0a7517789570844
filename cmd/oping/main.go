// Command oping measures the round-trip time of a flow to a name, as ping
// does for IP hosts. With -l it is the server: it echoes every ping back, to
// any number of clients at once.
package main

import (
	"context"
	"io"
	"os"
	"time"

	"o7s.dev/ouroboros/internal/tool"
	"o7s.dev/ouroboros/stack/flow"
)

const name = "oping"

const about = `oping sends pings over a flow to NAME and prints the round-trip time of ` +
	`each reply, then loss and round-trip statistics (also on Ctrl-C). A reply that ` +
	`has not come back WAIT after the last ping was sent counts as lost; duplicate ` +
	`and out-of-order replies are counted and reported.

With -l, oping is the server: bind its pid (printed on start) or the oping ` +
	`program to a name, and it echoes every ping on every flow it accepts.`

type options struct {
	listen   bool
	name     string
	count    int
	interval time.Duration
	wait     time.Duration
	// allocWait bounds the allocation: -w when given, else 0 (the tools'
	// allocation timeout).
	allocWait time.Duration
	duration  time.Duration
	size      int
	qos       tool.QoS
	flood     bool
	quiet     bool
}

func defaultOptions() options {
	return options{
		interval: time.Second,
		wait:     2 * time.Second,
		size:     64,
		qos:      tool.MustQoS("best"),
	}
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
			return serve(ctx, p, stderr)
		}
		return ping(ctx, p, o, stdout)
	})
}

func parseOptions(args []string, stdout io.Writer) (options, error) {
	o := defaultOptions()
	c := tool.NewCommand(name, about,
		"-l",
		"-n NAME [-c COUNT] [-i INTERVAL | -f] [-s SIZE] [-q QOS] [-d DURATION] [-w WAIT] [-Q]")
	c.Bool(&o.listen, "l,listen", "run as a server: echo every ping back", "oping -l")
	c.String(&o.name, "n,name", "NAME", "the name to ping", "-n oping")
	c.Int(&o.count, "c,count", "COUNT", "stop after sending COUNT pings; 0 sends until -d ends or Ctrl-C", "-c 10")
	c.Var(tool.DurationValue(&o.interval, time.Millisecond), "i,interval", "INTERVAL",
		"time between pings: a duration, or a plain number of milliseconds; at least 1ms", "-i 200ms, or -i 200")
	c.Int(&o.size, "s,size", "SIZE", "bytes per ping, header included; at least 16, at most the flow's max SDU", "-s 1400")
	c.Var(&o.qos, "q,qos", "QOS", tool.QoSUsage, "-q voice")
	c.Var(tool.DurationValue(&o.duration, time.Second), "d,duration", "DURATION",
		"stop sending after DURATION: a duration, or a plain number of seconds", "-d 30s, or -d 30")
	c.Var(tool.DurationValue(&o.wait, time.Millisecond), "w,wait", "WAIT",
		"how long a reply may take before it counts as lost, and, when given, how long the flow's allocation may take: a duration, or a plain number of milliseconds", "-w 500ms")
	c.Bool(&o.flood, "f,flood", "flood: send the next ping as soon as the reply to the last one arrives (or WAIT passes)", "-f -c 10000 -Q")
	c.Bool(&o.quiet, "Q,quiet", "quiet: print only the summary", "-Q")
	c.Example("oping -l", "serve; then: irm bind process PID name oping (or irm bind program oping name oping)")
	c.Example("oping -n oping -c 5", "five pings, one a second")
	c.Example("oping -n oping -f -d 10s -Q -s 1000", "as many 1000-byte pings as replies come back for 10 seconds; summary only")
	if err := c.Parse(args, stdout); err != nil {
		return o, err
	}
	return o, o.validate(c)
}

// validate checks what the option parser cannot: combinations and ranges.
func (o *options) validate(c *tool.Command) error {
	if o.listen {
		for _, opt := range []string{"n", "c", "i", "s", "q", "d", "w", "f", "Q"} {
			if c.Set(opt) {
				return tool.Usagef("-%s is a client option; the server (-l) takes none", opt)
			}
		}
		return nil
	}
	switch {
	case o.name == "":
		return tool.Usagef("give -n NAME to ping a name, or -l to run the server")
	case o.count < 0:
		return tool.Usagef("-c %d: the count cannot be negative", o.count)
	case o.size < headerLen:
		return tool.Usagef("-s %d: a ping needs at least %d bytes for its header", o.size, headerLen)
	case o.flood && c.Set("i"):
		return tool.Usagef("-f and -i exclude each other: flood sends as fast as replies come back")
	case !o.flood && o.interval < time.Millisecond:
		return tool.Usagef("-i %s: the interval must be at least 1ms (use -f to send as fast as replies come back)", o.interval)
	case o.wait <= 0:
		return tool.Usagef("-w must be positive")
	}
	if c.Set("w") {
		o.allocWait = o.wait
	}
	return nil
}

// ping runs the client and returns an error when nothing came back.
func ping(ctx context.Context, p *flow.Process, o options, stdout io.Writer) error {
	actx := ctx
	if o.allocWait > 0 {
		var cancel context.CancelFunc
		actx, cancel = context.WithTimeout(ctx, o.allocWait)
		defer cancel()
	}
	f, err := tool.Alloc(actx, p, o.name, o.qos.Spec)
	if err != nil {
		return err
	}
	defer f.Close()
	if limit := f.MaxSDU(); limit > 0 && o.size > limit {
		return tool.Usagef("-s %d: the flow to %s carries at most %d bytes per SDU", o.size, o.name, limit)
	}
	pg := newPinger(o, f, stdout)
	return pg.run(ctx)
}
