// Command holdflows allocates flows to a name through its host's irmd, as
// an application would, and holds them open without using them: the
// attack of a source that opens flows to a server to exhaust it. It
// prints how many it got and the first refusal, then holds them until it
// is killed (or -hold passes). With -stop it ends its attempts at the
// first refusal: a local user running into its limit.
//
//	holdflows -name echo -n 2000
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
	name := flag.String("name", "", "the name to allocate flows to")
	n := flag.Int("n", 100, "flows to allocate")
	hold := flag.Duration("hold", time.Hour, "how long to hold them")
	stop := flag.Bool("stop", false, "stop at the first refusal (a local user reaching its limit)")
	flag.Parse()
	if *name == "" {
		fmt.Fprintln(os.Stderr, "usage: holdflows -name NAME [-n N] [-hold D]")
		os.Exit(2)
	}
	ctx := context.Background()
	p, err := flow.Attach(ctx, flow.Config{})
	if err != nil {
		fmt.Fprintln(os.Stderr, "holdflows:", err)
		os.Exit(1)
	}
	defer p.Close()
	var held []*flow.Flow
	var refused int
	var first error
	start := time.Now()
	for range *n {
		actx, cancel := context.WithTimeout(ctx, 10*time.Second)
		f, err := p.Alloc(actx, *name, qos.Raw)
		cancel()
		if err != nil {
			refused++
			if first == nil {
				first = err
			}
			if *stop {
				break
			}
			continue
		}
		held = append(held, f)
	}
	fmt.Printf("allocated %d of %d flows in %v, %d refused\n", len(held), *n, time.Since(start).Round(time.Millisecond), refused)
	if first != nil {
		fmt.Printf("first refusal: %v\n", first)
	}
	fmt.Println("holding")
	time.Sleep(*hold)
	fmt.Println(len(held), "flows released")
}
