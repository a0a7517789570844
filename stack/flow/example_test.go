package flow_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"time"

	"o7s.dev/ouroboros/stack/ctrl"
	"o7s.dev/ouroboros/stack/flow"
	"o7s.dev/ouroboros/stack/irm"
	"o7s.dev/ouroboros/stack/qos"
)

// startIRM runs an IRM in this process on a fresh run directory, with a
// local layer in which name is registered and this process bound to it. A
// real program talks to the host's irmd instead.
func startIRM(name string) (runDir string, stop func()) {
	runDir, err := os.MkdirTemp("", "flow-example-")
	if err != nil {
		log.Fatal(err)
	}
	l, err := irm.Listen(runDir)
	if err != nil {
		log.Fatal(err)
	}
	m := irm.New(irm.Config{RunDir: runDir})
	go m.Serve(l.UnixListener)
	ctx := context.Background()
	must(m.Bootstrap(ctx, ctrl.IPCPBootstrap{Name: "lo", Layer: "local", Type: "local"}))
	must(m.RegisterName(ctrl.NameRegister{Name: name, Layers: []string{"local"}}))
	must(m.BindProcess(ctrl.BindProcess{PID: os.Getpid(), Name: name}))
	return runDir, func() { l.Close(); m.Close(); os.RemoveAll(runDir) }
}

func must(err error) {
	if err != nil {
		log.Fatal(err)
	}
}

// A server accepts a flow and echoes one SDU; a client allocates a flow to
// the server's name, sends, reads the echo and closes; the server's next
// read reports that its peer is gone.
func Example() {
	runDir, stop := startIRM("echo")
	defer stop()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	server, err := flow.Attach(ctx, flow.Config{RunDir: runDir})
	must(err)
	defer server.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f, err := server.Accept(ctx)
		must(err)
		buf := make([]byte, f.MaxSDU())
		n, err := f.Read(buf)
		must(err)
		_, err = f.Write(buf[:n])
		must(err)
		_, err = f.Read(buf)
		fmt.Println("server:", errors.Is(err, flow.ErrPeerGone))
	}()

	client, err := flow.Attach(ctx, flow.Config{RunDir: runDir})
	must(err)
	defer client.Close()
	f, err := client.Alloc(ctx, "echo", qos.Data)
	must(err)
	_, err = f.Write([]byte("hello, flow"))
	must(err)
	buf := make([]byte, 64)
	n, err := f.Read(buf)
	must(err)
	fmt.Printf("client: %s over %s\n", buf[:n], f.Layer())
	f.Close()
	<-done
	// Output:
	// client: hello, flow over local
	// server: true
}
