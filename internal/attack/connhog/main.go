// Command connhog opens control connections to irmd, each with a proper
// hello, until irmd refuses one or -max are open, and holds them for -hold;
// with -silent N it first opens N connections that never say hello. It
// prints what it got:
//
//	connhog: 0 of 5 silent connections still open after 4s
//	connhog: held 256 connections; refused: uid 65534 holds 256 control connections ...
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"o7s.dev/ouroboros/stack/ctrl"
)

func main() {
	maxConns := flag.Int("max", 100000, "connections to open at most")
	silent := flag.Int("silent", 0, "connections to open first that never say hello")
	wait := flag.Duration("wait", 5*time.Second, "with -silent: how long to watch them")
	hold := flag.Duration("hold", 10*time.Second, "how long to hold the connections")
	flag.Parse()
	if *silent > 0 {
		open, err := silentConns(*silent, *wait)
		if err != nil {
			fmt.Fprintln(os.Stderr, "connhog:", err)
			os.Exit(1)
		}
		fmt.Printf("connhog: %d of %d silent connections still open after %v\n", open, *silent, *wait)
	}
	var held []*ctrl.Client
	var refused error
	for len(held) < *maxConns {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		c, err := ctrl.Connect(ctx, "", ctrl.RoleApp, nil)
		cancel()
		if err != nil {
			refused = err
			break
		}
		held = append(held, c)
	}
	fmt.Printf("connhog: held %d connections; refused: %v\n", len(held), refused)
	time.Sleep(*hold)
}

// silentConns opens n connections that say nothing, and returns how many
// irmd has not closed after wait.
func silentConns(n int, wait time.Duration) (int, error) {
	conns := make([]*ctrl.Conn, 0, n)
	for range n {
		c, err := ctrl.Dial("")
		if err != nil {
			return 0, err
		}
		defer c.Close()
		conns = append(conns, c)
	}
	closed := make(chan struct{}, n)
	for _, c := range conns {
		go func() {
			_ = c.SetReadDeadline(time.Now().Add(wait))
			if _, _, err := c.Recv(); err != nil && !os.IsTimeout(err) {
				closed <- struct{}{}
			}
		}()
	}
	time.Sleep(wait + 100*time.Millisecond)
	return n - len(closed), nil
}
