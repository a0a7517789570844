// Command irm manages the Ouroboros IPC resource manager daemon (irmd) on
// this host: IPC processes and layers, names, and the bindings that say which
// programs answer for a name. Run "irm help" for the commands.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"o7s.dev/ouroboros/stack/ctrl"
)

// Exit statuses.
const (
	exitOK    = 0
	exitError = 1 // irmd refused, or could not be reached
	exitUsage = 2 // the command line is wrong
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes one irm command line and returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c, err := parse(args)
	if err != nil {
		reportUsage(stderr, err)
		return exitUsage
	}
	if c.text != "" {
		io.WriteString(stdout, c.text)
		return exitOK
	}
	exec := func() error { return execute(ctx, c, stdout) }
	if c.local != nil {
		exec = func() error { return c.local(stdout) }
	}
	if err := exec(); err != nil {
		fmt.Fprintf(stderr, "irm: %v\n", err)
		return exitError
	}
	return exitOK
}

// reportUsage explains a command-line mistake: what is wrong, the grammar,
// and where to read more.
func reportUsage(w io.Writer, err error) {
	var ue *usageError
	if !errors.As(err, &ue) {
		fmt.Fprintf(w, "irm: %v\n", err)
		return
	}
	if ue.msg == "" {
		// A bare "irm" or "irm ipcp": the help is the answer.
		io.WriteString(w, ue.usage)
		return
	}
	fmt.Fprintf(w, "irm: %s\n%s", ue.msg, ue.usage)
	if ue.path != "" {
		fmt.Fprintf(w, "Run \"irm help %s\" for details.\n", ue.path)
	} else {
		fmt.Fprintln(w, `Run "irm help" for the commands.`)
	}
}

// execute sends c to irmd and prints the reply.
func execute(ctx context.Context, c *command, stdout io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	cl, err := ctrl.Connect(ctx, "", ctrl.RoleMgmt, nil)
	if err != nil {
		return callError(c, err)
	}
	defer cl.Close()
	var resp any
	if c.reply != nil {
		resp = c.reply
	}
	fd, err := cl.Call(ctx, c.op, c.req, resp)
	if fd >= 0 {
		syscall.Close(fd) // no management reply carries a flow
	}
	if err != nil {
		return callError(c, err)
	}
	if c.reply != nil {
		return c.reply.print(stdout)
	}
	return nil
}

// callError says which command failed and why, in terms the user can act on.
func callError(c *command, err error) error {
	what := strings.Join(append([]string{c.path}, c.args...), " ")
	var ce *ctrl.Error
	var de *ctrl.DialError
	switch {
	case errors.As(err, &de):
		return err // says where it looked and how to start irmd
	case errors.As(err, &ce):
		msg := ce.Msg
		if msg == "" {
			msg = string(ce.Code)
		}
		return fmt.Errorf("%s: %s", what, msg)
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%s: irmd did not answer within %v; it may still finish: check with \"irm %s list\"",
			what, c.timeout, strings.Fields(c.path)[0])
	case errors.Is(err, context.Canceled):
		return fmt.Errorf("%s: interrupted", what)
	}
	return fmt.Errorf("%s: %v", what, err)
}
