// Command oapflood floods a host's UDP shim with flow requests for a name
// that carry well-formed OAP key exchanges: one ephemeral key, reused (a
// fixed key costs the attacker nothing per request), with a fresh id and
// the current time in each, so that every request passes the timestamp
// and replay checks and asks the server for an X25519 exchange and a place
// in its replay cache. With -dealloc it ends each flow it is granted at
// once (a valid DEALLOC: it reveals the flow's secret), so that the
// server's flows do not pile up and only the exchanges are attacked.
//
// It is a host that does not spoof its address: it sends shim management
// version 2 FLOW_REQs from one UDP socket (one source), and when the shim
// answers a COOKIE (under load) it repeats the request with the cookie, as
// a real requester does. It reads the FLOW_REPLYs and prints what it sent
// and how it was answered: cookies, accepted requests, refusals by reason.
//
//	oapflood -to 10.1.0.2:3435 -name pinger -for 8s -dealloc
package main

import (
	"flag"
	"fmt"
	"net"
	"os"
	"time"
)

func main() {
	to := flag.String("to", "", "the target's UDP shim, IP:port")
	name := flag.String("name", "", "the name to request flows for")
	dur := flag.Duration("for", 5*time.Second, "how long to flood")
	rate := flag.Int("rate", 0, "requests a second; 0: as fast as one core sends")
	dealloc := flag.Bool("dealloc", false, "end each granted flow at once")
	flag.Parse()
	if *to == "" || *name == "" {
		fmt.Fprintln(os.Stderr, "usage: oapflood -to IP:PORT -name NAME [-for D] [-rate N] [-dealloc]")
		os.Exit(2)
	}
	if err := flood(*to, *name, *dur, *rate, *dealloc); err != nil {
		fmt.Fprintln(os.Stderr, "oapflood:", err)
		os.Exit(1)
	}
}

func flood(to, name string, dur time.Duration, rate int, dealloc bool) error {
	c, err := net.Dial("udp4", to)
	if err != nil {
		return err
	}
	defer c.Close()
	w, err := newWriter(name)
	if err != nil {
		return err
	}
	r := &replies{reasons: map[string]int{}}
	go r.read(c, w.clone(), dealloc)

	start := time.Now()
	var sent int
	for time.Since(start) < dur {
		if rate > 0 && float64(sent) > time.Since(start).Seconds()*float64(rate) {
			time.Sleep(time.Millisecond)
			continue
		}
		if _, err := c.Write(w.request(uint32(sent+1), nil)); err != nil {
			r.countSendError(err)
		}
		sent++
	}
	elapsed := time.Since(start)
	time.Sleep(time.Second) // the last replies
	fmt.Printf("sent %d requests in %v (%.0f/s)\n", sent, elapsed.Round(time.Millisecond), float64(sent)/elapsed.Seconds())
	r.print()
	return nil
}
