package irm

import (
	"context"
	"os"
	"slices"
	"testing"
	"time"

	"o7s.dev/ouroboros/stack/ctrl"
)

// FuzzHandlers sends arbitrary request bodies to every request handler: bad
// input gets an error reply, never a panic. Program bindings are left out
// so that the fuzzer cannot make irmd start programs.
func FuzzHandlers(f *testing.F) {
	seeds := []string{
		`{"name":"lo","layer":"local","type":"local"}`,
		`{"name":"x","layers":["local"]}`,
		`{"name":"x","ipcps":["l*"]}`,
		`{"pid":1,"name":"x"}`,
		`{"name":"x","qos":{"delay":1},"timeout_ms":1}`,
		`{"timeout_ms":1}`,
		`{"name":"x","options":{"hash":"SHA3_224"}}`,
		`{"name":"u","layer":"net","dst":"net","type":"unicast","autobind":true}`,
		`{"name":"lo","dst":"v","component":"dt","qos":"voice"}`,
		`{"ipcp":"lo","name":"net"}`,
		`{"flows":[{"id":1,"rejected":3,"rejected_bytes":90}]}`,
		`{"prefix":""}`, `null`, `[]`, `{"name":""}`, ``,
	}
	for i := range seeds {
		f.Add(uint8(i), []byte(seeds[i]))
	}
	var ops []ctrl.Op
	for op := range New(Config{}).handlers() {
		if op != ctrl.OpBindProgram {
			ops = append(ops, op)
		}
	}
	slices.Sort(ops)
	f.Fuzz(func(t *testing.T, which uint8, body []byte) {
		// A fresh IRM per input, so that a failure reproduces from its input alone.
		m := New(Config{BindGrace: time.Millisecond})
		defer m.Close()
		if err := m.Bootstrap(context.Background(), ctrl.IPCPBootstrap{Name: "lo", Layer: "local", Type: "local"}); err != nil {
			t.Fatal(err)
		}
		pr := &proc{pid: os.Getpid(), uid: selfUID(), role: ctrl.RoleApp}
		m.addProc(pr)
		op := ops[int(which)%len(ops)]
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Millisecond)
		defer cancel()
		_, fd, _ := m.handlers()[op](ctx, pr, body)
		closeFD(fd)
	})
}
