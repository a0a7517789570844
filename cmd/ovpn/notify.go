package main

import (
	"fmt"
	"net"
	"os"

	"golang.org/x/sys/unix"
)

// notifier tells systemd about the daemon's state (sd_notify(3)) when it
// runs under a unit of Type=notify or notify-reload: a datagram to the
// socket NOTIFY_SOCKET names. Without NOTIFY_SOCKET it does nothing.
type notifier struct {
	addr string // "" when not under systemd; "@..." is an abstract socket
}

// newNotifier reads NOTIFY_SOCKET; the variable is unset so that programs
// the daemon starts do not notify in its name.
func newNotifier() notifier {
	addr := os.Getenv("NOTIFY_SOCKET")
	os.Unsetenv("NOTIFY_SOCKET")
	return notifier{addr: addr}
}

// send sends state ("READY=1", "STOPPING=1", reloadingState()).
func (n notifier) send(state string) error {
	if n.addr == "" {
		return nil
	}
	name := n.addr
	if name[0] == '@' {
		name = "\x00" + name[1:]
	}
	conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: name, Net: "unixgram"})
	if err != nil {
		return fmt.Errorf("NOTIFY_SOCKET %s: %w", n.addr, err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte(state)); err != nil {
		return fmt.Errorf("NOTIFY_SOCKET %s: %w", n.addr, err)
	}
	return nil
}

// reloadingState is the notification that a reload has begun: systemd's
// notify-reload wants the monotonic clock with it.
func reloadingState() string {
	var ts unix.Timespec
	unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	return fmt.Sprintf("RELOADING=1\nMONOTONIC_USEC=%d", ts.Nano()/1000)
}
