// Command ocbr sends a constant-bit-rate stream over a flow. With -l it is
// the sink: it reports, per flow and per interval, what arrives.
package main

import (
	"context"
	"io"
	"os"
	"time"

	"o7s.dev/ouroboros/internal/tool"
	"o7s.dev/ouroboros/stack/flow"
)

const name = "ocbr"

const about = `ocbr sends SIZE-byte SDUs to NAME at RATE bits per second for DURATION, ` +
	`then prints what it sent. The send times are computed from the start, so the ` +
	`average rate holds however the process is scheduled; packets due within a ` +
	`millisecond go together in one system call. With -f it ignores the rate and ` +
	`sends as fast as the flow takes them.

With -l, ocbr is the sink: bind its pid (printed on start) or the ocbr program ` +
	`to a name. For every flow it prints the packets, bytes and rate of each ` +
	`INTERVAL, and a summary when the client closes the flow or sends nothing for ` +
	`TIMEOUT.`

type options struct {
	listen   bool
	interval time.Duration
	timeout  time.Duration

	name     string
	rate     uint64
	size     int
	duration time.Duration
	flood    bool
	qos      tool.QoS
}

func defaultOptions() options {
	return options{
		interval: time.Second,
		timeout:  10 * time.Second,
		rate:     1_000_000,
		size:     1000,
		duration: 10 * time.Second,
		qos:      tool.MustQoS("raw"),
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
			tool.Banner(ctx, stderr, p, name)
			return tool.Serve(ctx, p, stderr, func(f *flow.Flow) {
				newSink(f, stdout, o.interval, o.timeout).run()
			})
		}
		return stream(ctx, p, o, stdout, stderr)
	})
}

func parseOptions(args []string, stdout io.Writer) (options, error) {
	o := defaultOptions()
	c := tool.NewCommand(name, about,
		"-l [-i INTERVAL] [-t TIMEOUT]",
		"-n NAME [-r RATE | -f] [-s SIZE] [-d DURATION] [-q QOS]")
	c.Bool(&o.listen, "l,listen", "run as the sink", "ocbr -l -i 500ms")
	c.Var(tool.DurationValue(&o.interval, time.Millisecond), "i,interval", "INTERVAL",
		"sink: report every INTERVAL: a duration, or a plain number of milliseconds", "-i 5s")
	c.Var(tool.DurationValue(&o.timeout, time.Second), "t,timeout", "TIMEOUT",
		"sink: end a flow that sends nothing for TIMEOUT: a duration, or a plain number of seconds", "-t 30")
	c.String(&o.name, "n,name", "NAME", "the name to send the stream to", "-n ocbr")
	c.Var(tool.RateValue(&o.rate), "r,rate", "RATE",
		"bits per second, with an optional k, M or G suffix (powers of 1000)", "-r 250M")
	c.Int(&o.size, "s,size", "SIZE", "bytes per SDU; lowered to the flow's max SDU if above it", "-s 1400")
	c.Var(tool.DurationValue(&o.duration, time.Second), "d,duration", "DURATION",
		"how long to send: a duration, or a plain number of seconds", "-d 60")
	c.Bool(&o.flood, "f,flood", "ignore the rate: send as fast as the flow takes SDUs", "-f")
	c.Var(&o.qos, "q,qos", "QOS", tool.QoSUsage, "-q video")
	c.Example("ocbr -l", "sink; then: irm bind process PID name ocbr (or irm bind program ocbr name ocbr)")
	c.Example("ocbr -n ocbr -r 10M -s 1250 -d 30", "30 seconds at 10 Mbit/s: 1000 SDUs of 1250 bytes a second")
	c.Example("ocbr -n ocbr -f -d 5", "5 seconds as fast as possible")
	if err := c.Parse(args, stdout); err != nil {
		return o, err
	}
	return o, o.validate(c)
}

func (o *options) validate(c *tool.Command) error {
	refused := []string{"i", "t"} // the sink's options
	if o.listen {
		refused = []string{"n", "r", "s", "d", "f", "q"}
	}
	for _, opt := range refused {
		if c.Set(opt) {
			return tool.Usagef("-%s does not apply here: -i and -t are for the sink (-l), -n, -r, -s, -d, -f and -q for the client", opt)
		}
	}
	if o.listen {
		switch {
		case o.interval <= 0:
			return tool.Usagef("-i must be positive")
		case o.timeout <= 0:
			return tool.Usagef("-t must be positive")
		}
		return nil
	}
	switch {
	case o.name == "":
		return tool.Usagef("give -n NAME to send a stream, or -l to run the sink")
	case o.size < 1:
		return tool.Usagef("-s %d: an SDU carries at least one byte", o.size)
	case o.duration <= 0:
		return tool.Usagef("-d must be positive")
	case o.flood && c.Set("r"):
		return tool.Usagef("-f and -r exclude each other: flood ignores the rate")
	}
	return nil
}
