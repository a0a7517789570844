// Command flowhog allocates flows to a name from one process, closing
// none, until irmd refuses one or -max are open, then holds them for
// -hold. It prints what it got:
//
//	flowhog: allocated 512 flows in 1.2s; refused: process 4242 holds 512 flows, the limit ...
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
	name := flag.String("n", "", "the `name` to allocate flows to")
	maxFlows := flag.Int("max", 100000, "flows to allocate at most")
	hold := flag.Duration("hold", 10*time.Second, "how long to hold the flows")
	flag.Parse()
	ctx := context.Background()
	p, err := flow.Attach(ctx, flow.Config{})
	if err != nil {
		fmt.Fprintln(os.Stderr, "flowhog:", err)
		os.Exit(1)
	}
	start := time.Now()
	var held []*flow.Flow
	var refused error
	for len(held) < *maxFlows {
		actx, cancel := context.WithTimeout(ctx, 5*time.Second)
		f, err := p.Alloc(actx, *name, qos.Raw)
		cancel()
		if err != nil {
			refused = err
			break
		}
		held = append(held, f)
	}
	fmt.Printf("flowhog: allocated %d flows in %v; refused: %v\n", len(held), time.Since(start).Round(time.Millisecond), refused)
	time.Sleep(*hold)
}
