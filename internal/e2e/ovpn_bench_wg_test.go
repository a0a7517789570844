package e2e

import (
	"crypto/ecdh"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"o7s.dev/ouroboros/internal/benchres"
	"o7s.dev/ouroboros/internal/netlab"
)

// wireguardGo finds wireguard-go's binary: $WIREGUARD_GO, `wireguard` in
// $PATH, or in $(go env GOPATH)/bin, where make bench installs it.
func wireguardGo(b *testing.B) string {
	b.Helper()
	if p := os.Getenv("WIREGUARD_GO"); p != "" {
		return p
	}
	if p, err := exec.LookPath("wireguard"); err == nil {
		return p
	}
	if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
		for _, dir := range filepath.SplitList(strings.TrimSpace(string(out))) {
			if p := filepath.Join(dir, "bin", "wireguard"); isExecutable(p) {
				return p
			}
		}
	}
	b.Fatalf("no wireguard-go: make bench installs it, or go install golang.zx2c4.com/wireguard@v0.0.0-20260522210424-ecfc5a8d5446 and set $WIREGUARD_GO")
	return ""
}

func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

// wgBenchPort is wireguard-go's UDP port on both nodes.
const wgBenchPort = 51820

// upWireguard runs wireguard-go in the foreground on both nodes (stopped
// with the lab), peers them over the veth with keys made for this run,
// addresses 10.78.0.1 (a) and 10.78.0.2 (b) on their interfaces, waits
// until pings cross and returns the path. The interfaces' names carry the
// lab's id: wireguard-go's control sockets (/var/run/wireguard/DEV.sock)
// are shared by every namespace on the machine.
func (l *ovpnBenchLab) upWireguard(b *testing.B, wg string) benchPath {
	b.Helper()
	id := l.lab.ID()
	nodes := []*netlab.Node{l.a, l.b}
	ends := []*netlab.End{l.veth.A, l.veth.B}
	var devs [2]string
	var priv [2]*ecdh.PrivateKey
	for i := range nodes {
		devs[i] = "wg" + id[len(id)-6:] + nodes[i].Name
		k, err := ecdh.X25519().GenerateKey(rand.Reader)
		if err != nil {
			b.Fatal(err)
		}
		priv[i] = k
	}
	p := benchPath{name: benchres.Wireguard, dst: "10.78.0.2", dev: devs[0]}
	dir := b.TempDir()
	for i, n := range nodes {
		cmd := n.Command(wg, "-f", devs[i])
		cmd.Env = append(cmd.Env, "WG_PROCESS_FOREGROUND=1")
		proc := n.StartCmd(cmd)
		p.daemons = append(p.daemons, proc)
		sock := filepath.Join("/var/run/wireguard", devs[i]+".sock")
		waitFor(b, 10*time.Second, "wireguard-go's control socket "+sock, func() bool {
			if proc.Exited() {
				b.Fatalf("%s: wireguard-go exited: %v\n%s", n.Name, proc.Wait(0), proc.Output())
			}
			_, err := os.Stat(sock)
			return err == nil
		})
		key := filepath.Join(dir, n.Name+".key")
		if err := os.WriteFile(key, []byte(base64.StdEncoding.EncodeToString(priv[i].Bytes())+"\n"), 0o600); err != nil {
			b.Fatal(err)
		}
		peer := priv[1-i].PublicKey().Bytes()
		n.MustRun("wg", "set", devs[i], "private-key", key, "listen-port", itoa(wgBenchPort),
			"peer", base64.StdEncoding.EncodeToString(peer), "allowed-ips", "10.78.0.0/24",
			"endpoint", fmt.Sprintf("%s:%d", ends[1-i].IP4(), wgBenchPort))
		n.MustRun("ip", "addr", "add", fmt.Sprintf("10.78.0.%d/24", i+1), "dev", devs[i])
		n.MustRun("ip", "link", "set", "dev", devs[i], "up")
	}
	start := time.Now()
	waitFor(b, 30*time.Second, "a ping through wireguard-go", func() bool {
		_, err := l.a.Run("ping", "-c", "1", "-W", "1", p.dst)
		return err == nil
	})
	b.Logf("wireguard-go up: first ping through it after %v", time.Since(start).Round(time.Millisecond))
	return p
}
