// Command ocat is netcat for flows: it copies standard input to a flow and
// the flow to standard output.
//
// The client (-n NAME) sends its standard input and writes what comes back
// to standard output; at the end of its input it closes the flow, which
// ends the flow for both sides. The server (-l) writes what it receives to
// standard output and exits when the client closes the flow; it sends its
// own standard input only with -s. Flows have no half-close, so exactly one
// side's end of input ends the transfer: the client's by default, the
// server's with -s, whichever comes first if both send.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"o7s.dev/ouroboros/internal/tool"
	"o7s.dev/ouroboros/stack/flow"
)

const name = "ocat"

const about = `ocat copies standard input to a flow and the flow to standard output, ` +
	`byte for byte: it is netcat for Ouroboros names.

The client (-n NAME) sends its standard input, in SDUs of up to 64 KiB, and ` +
	`writes whatever the server sends to standard output. At the end of its input ` +
	`it closes the flow and exits 0; -w keeps it reading replies for a while ` +
	`first. With -R it sends nothing and prints what arrives until the server ` +
	`closes the flow.

The server (-l) accepts one flow, writes what arrives to standard output and ` +
	`exits 0 when the client closes the flow; -k accepts the next one instead. ` +
	`With -s the server also sends its standard input, and closes the flow at its end.

Flows have no half-close: the first side to reach the end of its input ends ` +
	`the transfer for both. A side whose data could not all be sent because the ` +
	`other closed first exits 1. So does a side whose flow ended without the other ` +
	`closing it (the flow torn down beneath it, the peer crashed, or silent for the ` +
	`QoS timeout, 15 s unless -q NAME,timeout=DURATION says otherwise): the ` +
	`transfer is incomplete (every QoS but raw tells these ends apart).`

type options struct {
	listen   bool
	keep     bool
	send     bool
	name     string
	qos      tool.QoS
	recvOnly bool
	linger   time.Duration
}

func defaultOptions() options {
	return options{qos: tool.MustQoS("data")}
}

func main() {
	ctx, stop := tool.SignalContext()
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	o, err := parseOptions(args, stdout)
	if err != nil {
		return tool.Exit(name, err, stderr)
	}
	return tool.WithProcess(ctx, name, stderr, func(p *flow.Process) error {
		if o.listen {
			return listen(ctx, p, o, stdin, stdout, stderr)
		}
		return connect(ctx, p, o, stdin, stdout)
	})
}

func parseOptions(args []string, stdout io.Writer) (options, error) {
	o := defaultOptions()
	c := tool.NewCommand(name, about, "-l [-k | -s]", "-n NAME [-q QOS] [-R | -w WAIT]")
	c.Bool(&o.listen, "l,listen", "run as the server: accept a flow and write what arrives to standard output", "ocat -l > file")
	c.Bool(&o.keep, "k,keep", "server: after a flow ends, accept the next one (output follows on standard output)", "ocat -l -k >> log")
	c.Bool(&o.send, "s,send", "server: also send standard input to the client, and close the flow at its end", "ocat -l -s < file")
	c.String(&o.name, "n,name", "NAME", "the name to connect to", "-n ocat")
	c.Var(&o.qos, "q,qos", "QOS", tool.QoSUsage, "-q raw")
	c.Bool(&o.recvOnly, "R,recv-only", "client: send nothing; print what arrives until the server closes the flow", "ocat -n ocat -R > file")
	c.Var(tool.DurationValue(&o.linger, time.Millisecond), "w,wait", "WAIT",
		"client: after the end of input, keep printing what arrives for up to WAIT (or until the server closes the flow) before closing: a duration, or a plain number of milliseconds", "-w 2s")
	c.Example("ocat -l > copy", "receive one transfer into copy")
	c.Example("ocat -n ocat < file", "send file; with the line above, cmp file copy finds no difference")
	c.Example("ocat -l -s < file", "serve file to the next client...")
	c.Example("ocat -n ocat -R > copy", "...which receives it")
	c.Example("echo hello | ocat -n oecho -w 1s", "send a line to an echo server and print what comes back")
	if err := c.Parse(args, stdout); err != nil {
		return o, err
	}
	return o, o.validate(c)
}

func (o *options) validate(c *tool.Command) error {
	if o.listen {
		for _, opt := range []string{"n", "q", "R", "w"} {
			if c.Set(opt) {
				return tool.Usagef("-%s is a client option; the server (-l) takes -k or -s", opt)
			}
		}
		if o.keep && o.send {
			return tool.Usagef("-k and -s exclude each other: standard input can be sent only once")
		}
		return nil
	}
	for _, opt := range []string{"k", "s"} {
		if c.Set(opt) {
			return tool.Usagef("-%s is a server option; use it with -l", opt)
		}
	}
	switch {
	case o.name == "":
		return tool.Usagef("give -n NAME to connect, or -l to accept")
	case o.recvOnly && c.Set("w"):
		return tool.Usagef("-R and -w exclude each other: -R already waits for the server to close")
	}
	return nil
}

// connect runs the client.
func connect(ctx context.Context, p *flow.Process, o options, stdin io.Reader, stdout io.Writer) error {
	f, err := tool.Alloc(ctx, p, o.name, o.qos.Spec)
	if err != nil {
		return err
	}
	defer f.Close()
	s := &session{f: f, out: stdout, in: stdin, linger: o.linger, interactive: isTerminal(stdin)}
	if o.recvOnly {
		s.in = nil
	}
	return s.run(ctx)
}

// listen runs the server: one flow, or one after another with -k.
func listen(ctx context.Context, p *flow.Process, o options, stdin io.Reader, stdout, stderr io.Writer) error {
	tool.Banner(ctx, stderr, p, name)
	for {
		f, err := p.Accept(ctx)
		if ctx.Err() != nil {
			return nil // stopped while waiting: nothing was cut short
		}
		if err != nil {
			return err
		}
		s := &session{f: f, out: stdout}
		if o.send {
			s.in, s.interactive = stdin, isTerminal(stdin)
		}
		err = s.run(ctx)
		f.Close()
		if !o.keep || ctx.Err() != nil {
			return err
		}
		// With -k, standard error logs each transfer, as standard output
		// carries only their data.
		if err != nil {
			fmt.Fprintf(stderr, "%s: flow %d: %v\n", name, f.ID(), err)
		}
		fmt.Fprintf(stderr, "%s: flow %d ended: %d bytes received\n", name, f.ID(), s.rxBytes.Load())
	}
}

// isTerminal reports whether r is a terminal, where input waits on a
// person rather than being cut short.
func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	return ok && tool.IsTerminal(f)
}
