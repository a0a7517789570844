// Command benchcmp compares two runs of the side-by-side benchmark
// (bench/results.json from make bench): for every metric and path, the old
// and the new median and the change, marked better or worse.
//
//	cp bench/results.json /tmp/old.json   # before a change
//	make bench                            # after it
//	go run ./internal/benchcmp /tmp/old.json bench/results.json
package main

import (
	"fmt"
	"os"

	"o7s.dev/ouroboros/internal/benchres"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: benchcmp OLD.json NEW.json (bench/results.json of two runs of make bench)")
		os.Exit(2)
	}
	old, err := benchres.Read(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchcmp:", err)
		os.Exit(1)
	}
	cur, err := benchres.Read(os.Args[2])
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchcmp:", err)
		os.Exit(1)
	}
	benchres.Compare(os.Stdout, old, cur)
}
