// Command oecho sends a message over a flow and prints the reply. With -l it
// is the server: it echoes every SDU it receives, on any number of flows.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"o7s.dev/ouroboros/internal/tool"
	"o7s.dev/ouroboros/stack/flow"
)

const name = "oecho"

const about = `oecho allocates a flow to NAME, sends MESSAGE as one SDU and prints ` +
	`the reply on standard output. It is the smallest check that a name is ` +
	`reachable and served.

With -l, oecho is the server: bind its pid (printed on start) or the oecho ` +
	`program to a name, and it sends every SDU back on the flow it came from.`

type options struct {
	listen  bool
	name    string
	message string
	wait    time.Duration
	qos     tool.QoS
}

func defaultOptions() options {
	return options{name: "oecho", message: "Hello, Ouroboros!", wait: 2 * time.Second, qos: tool.MustQoS("best")}
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
			return tool.Serve(ctx, p, stderr, func(f *flow.Flow) { echo(f, stderr) })
		}
		return call(ctx, p, o, stdout)
	})
}

func parseOptions(args []string, stdout io.Writer) (options, error) {
	o := defaultOptions()
	c := tool.NewCommand(name, about, "-l", "[-n NAME] [-m MESSAGE] [-w WAIT] [-q QOS]")
	c.Bool(&o.listen, "l,listen", "run as a server: echo every SDU back", "oecho -l")
	c.String(&o.name, "n,name", "NAME", "the name to send the message to", "-n echo.lab")
	c.String(&o.message, "m,message", "MESSAGE", "the message to send", `-m "are you there?"`)
	c.Var(tool.DurationValue(&o.wait, time.Millisecond), "w,wait", "WAIT",
		"how long to wait for the reply: a duration, or a plain number of milliseconds", "-w 5s")
	c.Var(&o.qos, "q,qos", "QOS", tool.QoSUsage, "-q raw")
	c.Example("oecho -l", "serve; then: irm bind process PID name oecho (or irm bind program oecho name oecho)")
	c.Example("oecho", `send "Hello, Ouroboros!" to oecho and print the reply`)
	c.Example(`oecho -n echo.lab -m ping`, "send ping to the name echo.lab")
	if err := c.Parse(args, stdout); err != nil {
		return o, err
	}
	return o, o.validate(c)
}

func (o *options) validate(c *tool.Command) error {
	if o.listen {
		for _, opt := range []string{"n", "m", "w", "q"} {
			if c.Set(opt) {
				return tool.Usagef("-%s is a client option; the server (-l) takes none", opt)
			}
		}
		return nil
	}
	switch {
	case o.name == "":
		return tool.Usagef("-n: the name cannot be empty")
	case o.message == "":
		return tool.Usagef("-m: the message cannot be empty (an SDU carries at least one byte)")
	case o.wait <= 0:
		return tool.Usagef("-w must be positive")
	}
	return nil
}

// call sends the message and prints the reply.
func call(ctx context.Context, p *flow.Process, o options, stdout io.Writer) error {
	f, err := tool.Alloc(ctx, p, o.name, o.qos.Spec)
	if err != nil {
		return err
	}
	defer f.Close()
	stop := context.AfterFunc(ctx, func() { f.Close() }) // Ctrl-C ends the wait
	defer stop()
	if _, err := f.Write([]byte(o.message)); err != nil {
		return err
	}
	if err := f.SetReadDeadline(time.Now().Add(o.wait)); err != nil {
		return err
	}
	buf := make([]byte, tool.SDUBuf(f.MaxSDU()))
	n, err := f.Read(buf)
	switch {
	case ctx.Err() != nil:
		return ctx.Err()
	case errors.Is(err, flow.ErrTimeout):
		return fmt.Errorf("no reply from %s within %s: is an oecho server bound to it?", o.name, o.wait)
	case err != nil:
		return err
	}
	fmt.Fprintf(stdout, "%s\n", buf[:n])
	return nil
}

// echo sends every SDU of f back until the flow ends.
func echo(f *flow.Flow, log io.Writer) {
	buf := make([]byte, tool.SDUBuf(f.MaxSDU()))
	for {
		n, err := f.Read(buf)
		if err == nil {
			_, err = f.Write(buf[:n])
		}
		if err != nil {
			if !tool.Ended(err) {
				fmt.Fprintf(log, "flow %d: %v\n", f.ID(), err)
			}
			return
		}
	}
}
