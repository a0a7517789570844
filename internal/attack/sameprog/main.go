// Command sameprog is a server and its client in one program, so that a
// test can bind it to a name as root's server and run the very same
// executable as another user, who hopes to take the name's flows.
//
// With -serve it accepts flows until -for passes, echoes one SDU on each,
// and prints one line per flow and a total:
//
//	sameprog: uid 65534 accepted 0 flows; last accept: ...
//
// With -alloc NAME it allocates -count flows to NAME one by one, sends an
// SDU on each and waits for the echo, and prints how many were answered.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"o7s.dev/ouroboros/stack/flow"
	"o7s.dev/ouroboros/stack/qos"
)

func main() {
	serve := flag.Bool("serve", false, "accept and echo flows")
	dur := flag.Duration("for", 10*time.Second, "with -serve: how long to serve")
	alloc := flag.String("alloc", "", "allocate flows to `NAME`")
	count := flag.Int("count", 10, "with -alloc: flows to allocate")
	flag.Parse()
	ctx := context.Background()
	p, err := flow.Attach(ctx, flow.Config{})
	if err != nil {
		fmt.Fprintln(os.Stderr, "sameprog:", err)
		os.Exit(1)
	}
	defer p.Close()
	switch {
	case *serve:
		fmt.Printf("sameprog: pid %d serving\n", os.Getpid())
		n, last := acceptFor(ctx, p, *dur)
		fmt.Printf("sameprog: uid %d accepted %d flows; last accept: %v\n", os.Getuid(), n, last)
	case *alloc != "":
		ok, last := allocate(ctx, p, *alloc, *count)
		fmt.Printf("sameprog: %d of %d flows to %s answered; last error: %v\n", ok, *count, *alloc, last)
	default:
		fmt.Fprintln(os.Stderr, "sameprog: give -serve or -alloc NAME")
		os.Exit(2)
	}
}

func acceptFor(ctx context.Context, p *flow.Process, d time.Duration) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	n := 0
	var last error
	for ctx.Err() == nil {
		f, err := p.Accept(ctx)
		if err != nil {
			last = err
			if ctx.Err() == nil {
				time.Sleep(50 * time.Millisecond) // refused: try again, as a thief would
			}
			continue
		}
		n++
		fmt.Printf("sameprog: flow %d accepted\n", n)
		buf := make([]byte, 2048)
		if k, err := f.Read(buf); err == nil {
			_, _ = f.Write(buf[:k])
		}
	}
	return n, last
}

func allocate(ctx context.Context, p *flow.Process, name string, count int) (int, error) {
	ok := 0
	var last error
	for range count {
		if err := echo(ctx, p, name); err != nil {
			last = err
			continue
		}
		ok++
	}
	return ok, last
}

func echo(ctx context.Context, p *flow.Process, name string) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	f, err := p.Alloc(ctx, name, qos.Raw)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := f.Write([]byte("ping")); err != nil {
		return err
	}
	_ = f.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 64)
	_, err = f.Read(buf)
	return err
}
