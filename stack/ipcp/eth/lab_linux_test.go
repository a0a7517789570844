package eth

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// lab is two network namespaces joined by a veth pair, both ends called
// veth0 and up, with no IP address.
type lab struct {
	ns [2]string
}

const labDev = "veth0"

// newLab builds a lab, removed when the test ends (even if it fails). It
// skips the test unless run as root.
func newLab(t *testing.T) *lab {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: creates network namespaces")
	}
	id := fmt.Sprintf("o7eth-%d-%06x", os.Getpid(), rand.Uint32()>>8)
	l := &lab{ns: [2]string{id + "-a", id + "-b"}}
	for _, ns := range l.ns {
		t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
		l.ip(t, "netns", "add", ns)
	}
	l.link(t)
	return l
}

// link creates the veth pair and brings it up.
func (l *lab) link(t *testing.T) {
	t.Helper()
	l.ip(t, "link", "add", labDev, "netns", l.ns[0], "type", "veth", "peer", "name", labDev, "netns", l.ns[1])
	l.ip(t, "-n", l.ns[0], "link", "set", labDev, "up")
	l.ip(t, "-n", l.ns[1], "link", "set", labDev, "up")
}

func (l *lab) ip(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// mac returns the address of veth0 in namespace i.
func (l *lab) mac(t *testing.T, i int) MAC {
	t.Helper()
	var st linkState
	err := inNetns(l.ns[i], func() error {
		fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		st, err = readLink(fd, labDev)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return st.mac
}

// inNetns runs fn on a thread of its own in network namespace ns. Sockets
// belong to the namespace of the thread that creates them and stay there,
// so an IPCP bootstrapped in fn works in ns whichever threads serve it
// later. The thread goes back to the original namespace afterwards, or
// dies with its goroutine if it cannot.
func inNetns(ns string, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			errc <- err
			return
		}
		defer unix.Close(orig)
		target, err := unix.Open("/run/netns/"+ns, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			errc <- err
			return
		}
		err = unix.Setns(target, unix.CLONE_NEWNET)
		unix.Close(target)
		if err != nil {
			errc <- err
			return
		}
		errc <- fn()
		if unix.Setns(orig, unix.CLONE_NEWNET) == nil {
			runtime.UnlockOSThread()
		}
	}()
	return <-errc
}
