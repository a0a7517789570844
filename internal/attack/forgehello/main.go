// Command forgehello attaches to irmd with a hello that names another
// program (-prog), as a local user hoping to be bound to that program's
// names, and waits in accept for their flows. It prints how many flows it
// got and why the last accept ended:
//
//	forgehello: claimed /usr/bin/srv: 0 flows; last accept: no flow arrived in time
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"time"

	"o7s.dev/ouroboros/stack/ctrl"
)

func main() {
	prog := flag.String("prog", "", "the `program` the hello claims to be")
	accepts := flag.Int("accepts", 5, "accept calls to make")
	wait := flag.Duration("wait", 2*time.Second, "how long each accept waits")
	flag.Parse()
	flows, last, err := run(*prog, *accepts, *wait)
	if err != nil {
		fmt.Fprintln(os.Stderr, "forgehello:", err)
		os.Exit(1)
	}
	fmt.Printf("forgehello: claimed %s: %d flows; last accept: %s\n", *prog, flows, last)
}

// run says hello as prog and calls accept n times, one after the other.
func run(prog string, n int, wait time.Duration) (flows int, last string, err error) {
	c, err := ctrl.Dial("")
	if err != nil {
		return 0, "", err
	}
	defer c.Close()
	if _, err := call(c, 1, ctrl.OpHello, ctrl.Hello{Role: ctrl.RoleApp, Prog: prog, Name: "srv"}); err != nil {
		return 0, "", fmt.Errorf("hello: %w", err)
	}
	fmt.Println("forgehello: attached")
	for i := range n {
		fd, err := call(c, uint64(2+i), ctrl.OpFlowAccept, ctrl.FlowAccept{TimeoutMS: wait.Milliseconds()})
		if err != nil {
			last = err.Error()
			continue
		}
		if fd >= 0 {
			flows++
			last = "a flow"
			// Kept open: a thief keeps what it takes.
		}
	}
	return flows, last, nil
}

// call sends a request and waits for its reply, skipping notifications.
func call(c *ctrl.Conn, id uint64, op ctrl.Op, req any) (int, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return -1, err
	}
	if err := c.Send(&ctrl.Msg{ID: id, Op: op, Body: body}, -1); err != nil {
		return -1, err
	}
	for {
		m, fd, err := c.Recv()
		if err != nil {
			return -1, err
		}
		if m.ID != id {
			continue
		}
		if m.Code != "" {
			return -1, fmt.Errorf("%s: %s", m.Code, m.Err)
		}
		return fd, nil
	}
}
