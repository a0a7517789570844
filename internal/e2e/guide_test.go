package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The guide's walkthroughs (docs/guide.md), run as written: see
// walkthrough_test.go for how.

// guideSites are the addresses of the multi-site walkthroughs' hosts.
var guideSites = map[string]string{"a": "203.0.113.1", "b": "198.51.100.2", "c": "192.0.2.3"}

// hostsBlock returns the first code block of a section that holds no
// commands: the hosts file the walkthrough gives every host.
func hostsBlock(t *testing.T, sec string) string {
	t.Helper()
	for _, b := range blocks(sec) {
		if b.lang == "" && len(parseSteps(b.text)) == 0 && strings.TrimSpace(b.text) != "" {
			return b.text
		}
	}
	t.Fatal("the walkthrough shows no hosts file")
	return ""
}

// sectionSteps returns the commands of a section's code blocks, in order.
func sectionSteps(sec string) []step {
	var steps []step
	for _, b := range blocks(sec) {
		steps = append(steps, parseSteps(b.text)...)
	}
	return steps
}

// walkGuide runs the walkthrough of a section of the guide on hosts with
// the addresses given, each running irmd from the start.
func walkGuide(t *testing.T, heading string, addrs map[string]string) {
	t.Helper()
	sec := section(t, readDoc(t, "guide.md"), heading)
	hosts := docLab(t, addrs, hostsBlock(t, sec))
	for _, name := range sortedKeys(hosts) {
		hosts[name].startIRMd(t)
	}
	runSteps(t, hosts, sectionSteps(sec))
}

// TestE2EGuideMultiSiteIRM runs "Step by step with irm": three sites, a
// udp4 layer and a unicast layer over it, set up with irm alone.
func TestE2EGuideMultiSiteIRM(t *testing.T) {
	walkGuide(t, "### Step by step with irm", guideSites)
}

// TestE2EGuideMultiSiteConfig runs "The same with irmd.conf": each site's
// file as /etc/ouroboros/irmd.conf, checked first as the guide says, and
// the sites started in the order least favourable to them: A, which the
// others enrol through, only once C's first enrolment has failed, so that
// the background retries must do their work. The one change to the files: oping's path,
// /usr/bin/oping where the packages put it, is the binary under test.
func TestE2EGuideMultiSiteConfig(t *testing.T) {
	sec := section(t, readDoc(t, "guide.md"), "### The same with irmd.conf")
	hosts := docLab(t, guideSites, "") // the files' peers replace the hosts file
	files := 0
	for _, b := range blocks(sec) {
		if b.lang != "toml" {
			continue
		}
		first, _, _ := strings.Cut(b.text, "\n")
		site, ok := strings.CutPrefix(first, "# site ")
		if !ok || len(site) == 0 {
			t.Fatalf("a configuration without its site: %q", first)
		}
		h := hosts[strings.ToLower(site[:1])]
		text := strings.ReplaceAll(b.text, "/usr/bin/", bin+"/")
		if err := os.WriteFile(filepath.Join(h.etc, "irmd.conf"), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		h.sh.mustRun(t, "irmd --config /etc/ouroboros/irmd.conf --check")
		files++
	}
	if files != 3 {
		t.Fatalf("the walkthrough has %d configurations, want one per site", files)
	}
	for _, name := range []string{"c", "b"} {
		hosts[name].startIRMd(t)
	}
	c := hosts["c"]
	waitFor(t, 20*time.Second, "C's first enrolment to fail", func() bool {
		return strings.Contains(c.sh.mustRun(t, "irm ipcp show name ucC"), "enrolment   through ucA: retrying")
	})
	hosts["a"].startIRMd(t)
	a := hosts["a"]
	start := time.Now()
	waitFor(t, 90*time.Second, "oping from A to pinger on C", func() bool {
		out, status := a.sh.run(t, "oping -n pinger -c 1 -w 2s")
		return status == 0 && strings.Contains(out, "1 received")
	})
	t.Logf("A reached pinger on C %v after A's irmd started", time.Since(start).Round(time.Millisecond))
	for _, h := range hosts {
		h := h
		waitFor(t, 30*time.Second, h.name+"'s two adjacencies", func() bool {
			out := h.sh.mustRun(t, "irm ipcp list type unicast")
			return strings.Count(out, "(dt, mgmt)") == 2
		})
	}
}

// lanHosts are the addresses of the walkthroughs on one LAN.
var lanHosts = map[string]string{"a": "10.9.0.1", "b": "10.9.0.2", "c": "10.9.0.3"}

// TestE2EGuideAuthenticatedLayer runs "Authenticated layers": a CA and
// certificates made with irm cert, a layer that admits only their holders,
// an outsider refused, and a member revoked with a reload.
func TestE2EGuideAuthenticatedLayer(t *testing.T) {
	walkGuide(t, "### Authenticated layers", lanHosts)
}

// TestE2EGuideNameCertificates runs "Certificates for names": a server
// name with its certificate that requires one of its clients, a client
// with a host certificate answered, one without refused.
func TestE2EGuideNameCertificates(t *testing.T) {
	walkGuide(t, "### Certificates for names", lanHosts)
}
