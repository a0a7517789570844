package e2e

// Walkthroughs: the guide's step-by-step examples, run verbatim on hosts
// made of network namespaces. A walkthrough's code blocks hold commands
// behind a host prompt ("A$ cmd" or "a# cmd"; a trailing backslash
// continues a command on the next line), each run in a shell of its own
// host, so that "oping -l & irm bind process $! name X" works as a user
// types it. Lines under a command without a prompt are its sample output:
// a table (a header of capitals) must match what the program prints, but
// for the columns whose values differ from run to run. A command that ends
// in "# fails: TEXT" must fail, saying TEXT; every other one must succeed.

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"o7s.dev/ouroboros/internal/netlab"
)

// step is one command of a walkthrough.
type step struct {
	host  string   // the prompt's host, lower case
	cmd   string   // as written, continuation lines included
	want  []string // the sample output shown under it
	fails string   // from "# fails: TEXT": the command must fail with TEXT
}

var (
	promptRE  = regexp.MustCompile(`^([A-Za-z])[$#] (.*)$`)
	heredocRE = regexp.MustCompile(`<<-?\s*'?"?([A-Za-z_]+)`)
)

// parseSteps reads the commands of one code block. Lines before the first
// prompt are not commands (a file's content, say) and are ignored.
func parseSteps(block string) []step {
	var steps []step
	var cont bool
	var heredoc string // the word that ends a here-document being read
	for _, line := range strings.Split(block, "\n") {
		trimmed := strings.TrimSpace(line)
		switch m := promptRE.FindStringSubmatch(trimmed); {
		case heredoc != "":
			s := &steps[len(steps)-1]
			s.cmd += "\n" + line
			if trimmed == heredoc {
				heredoc = ""
			}
		case cont:
			s := &steps[len(steps)-1]
			s.cmd += "\n" + line
			cont = strings.HasSuffix(trimmed, `\`)
		case m != nil:
			s := step{host: strings.ToLower(m[1]), cmd: m[2]}
			if i := strings.Index(s.cmd, "# fails: "); i >= 0 {
				s.fails = strings.TrimSpace(s.cmd[i+len("# fails: "):])
			}
			if h := heredocRE.FindStringSubmatch(s.cmd); h != nil {
				heredoc = h[1]
			}
			steps = append(steps, s)
			cont = strings.HasSuffix(trimmed, `\`)
		case len(steps) > 0 && trimmed != "":
			s := &steps[len(steps)-1]
			s.want = append(s.want, line)
		}
	}
	return steps
}

// codeBlock is a fenced or indented code block of a Markdown file.
type codeBlock struct {
	lang string // the fence's info string; "" for indented blocks
	text string
}

// section returns the text of the section under heading (a whole line,
// such as "### Step by step with irm") up to the next heading of the same
// or a higher level outside code blocks.
func section(t *testing.T, md, heading string) string {
	t.Helper()
	i := strings.Index(md, "\n"+heading+"\n")
	if i < 0 {
		t.Fatalf("no section %q", heading)
	}
	level := strings.Index(heading, " ")
	lines := strings.Split(md[i+1+len(heading)+1:], "\n")
	fenced := false
	for j, l := range lines {
		if strings.HasPrefix(strings.TrimSpace(l), "```") {
			fenced = !fenced
		}
		if h := strings.IndexByte(l, ' '); !fenced && h > 0 && h <= level && strings.Trim(l[:h], "#") == "" {
			lines = lines[:j]
			break
		}
	}
	return strings.Join(lines, "\n")
}

// blocks returns the code blocks of md in order: fenced ones, and runs of
// lines indented by four or more spaces after a blank line.
func blocks(md string) []codeBlock {
	var out []codeBlock
	lines := strings.Split(md, "\n")
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		if fence, ok := strings.CutPrefix(strings.TrimSpace(line), "```"); ok {
			indent := line[:strings.Index(line, "```")]
			var b strings.Builder
			for i++; i < len(lines) && strings.TrimSpace(lines[i]) != "```"; i++ {
				b.WriteString(strings.TrimPrefix(lines[i], indent) + "\n")
			}
			out = append(out, codeBlock{lang: fence, text: b.String()})
			continue
		}
		if strings.HasPrefix(line, "    ") && i > 0 && strings.TrimSpace(lines[i-1]) == "" {
			var b strings.Builder
			for ; i < len(lines) && (strings.HasPrefix(lines[i], "    ") || strings.TrimSpace(lines[i]) == ""); i++ {
				b.WriteString(strings.TrimPrefix(lines[i], "    ") + "\n")
			}
			out = append(out, codeBlock{text: b.String()})
		}
	}
	return out
}

// readDoc returns a file of docs/.
func readDoc(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "docs", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// docHost is one host of a walkthrough: a node with its own /etc/hosts
// and /etc/ouroboros, an irmd, and a shell.
type docHost struct {
	name string
	node *netlab.Node
	etc  string // the node's /etc/ouroboros, as the test sees it
	sh   *hostShell
}

// docLab makes the hosts of a walkthrough on one Ethernet segment, each
// with its address (on-link, whatever the prefix: the guide's sites are on
// the Internet) and the hosts file given. Their shells share a working
// directory, so that files made on one host are there on the others, as if
// copied.
func docLab(t *testing.T, addrs map[string]string, hosts string) map[string]*docHost {
	t.Helper()
	ensureEtcOuroboros(t)
	lab := netlab.New(t, bin)
	work := t.TempDir()
	out := make(map[string]*docHost)
	var nodes []*netlab.Node
	for _, name := range sortedKeys(addrs) {
		n := lab.Node(strings.ToUpper(name))
		nodes = append(nodes, n)
		out[name] = &docHost{name: name, node: n}
	}
	sw := lab.Switch("sw", nodes...)
	for i, name := range sortedKeys(addrs) {
		h, e := out[name], sw.Ends[i]
		e.AddAddr(addrs[name] + "/32")
		h.node.MustRun("ip", "route", "add", "default", "dev", e.Name)
		h.node.Etc("hosts", "127.0.0.1\tlocalhost\n"+hosts)
		quietResolver(h.node)
		h.etc = filepath.Join("/etc/netns", h.node.NS, "ouroboros")
		if err := os.MkdirAll(h.etc, 0o755); err != nil {
			t.Fatal(err)
		}
		h.sh = startShell(t, h.node, work)
	}
	return out
}

// ensureEtcOuroboros makes /etc/ouroboros if it is missing, so that `ip
// netns exec` can mount a node's own over it (it mounts only over what
// exists), and removes it afterwards if it made it and it is still empty.
func ensureEtcOuroboros(t *testing.T) {
	t.Helper()
	if _, err := os.Stat("/etc/ouroboros"); err == nil {
		return
	}
	if err := os.Mkdir("/etc/ouroboros", 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove("/etc/ouroboros") })
}

// startIRMd starts the host's irmd as its system unit would (see
// systemctlStandIn), with /etc/ouroboros/irmd.conf, made empty if the
// walkthrough wrote none.
func (h *docHost) startIRMd(t *testing.T) {
	t.Helper()
	conf := filepath.Join(h.etc, "irmd.conf")
	if _, err := os.Stat(conf); err != nil {
		if err := os.WriteFile(conf, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if out, status := h.sh.run(t, "systemctl start irmd"); status != 0 {
		t.Fatalf("%s: irmd did not start:\n%s\n%s", h.name, out, h.irmdLog())
	}
}

// irmdLog returns what the host's irmds logged.
func (h *docHost) irmdLog() string {
	b, _ := os.ReadFile(filepath.Join(h.node.RunDir, "irmd.log"))
	return string(b)
}

// run runs the steps of a walkthrough in order, each on its host.
func runSteps(t *testing.T, hosts map[string]*docHost, steps []step) {
	t.Helper()
	if len(steps) == 0 {
		t.Fatal("walkthrough without steps")
	}
	for _, s := range steps {
		h, ok := hosts[s.host]
		if !ok {
			t.Fatalf("step on unknown host %q: %s", s.host, s.cmd)
		}
		out, status := h.sh.run(t, s.cmd)
		switch {
		case s.fails != "" && status == 0:
			t.Fatalf("%s$ %s\nsucceeded, but the guide says it fails:\n%s", s.host, s.cmd, out)
		case s.fails != "" && !strings.Contains(out, s.fails):
			t.Fatalf("%s$ %s\nfailed without saying %q:\n%s", s.host, s.cmd, s.fails, out)
		case s.fails == "" && status != 0:
			t.Fatalf("%s$ %s\nexited %d:\n%s\n%s's irmd:\n%s", s.host, s.cmd, status, out, s.host, h.irmdLog())
		}
		checkSample(t, s, out)
		t.Logf("%s$ %s\n%s", s.host, s.cmd, out)
	}
}

// checkSample compares a command's output with the table the guide shows
// under it: the same header, and each row shown present with the same
// values but for volatile columns.
func checkSample(t *testing.T, s step, out string) {
	t.Helper()
	if len(s.want) < 2 || !isHeader(s.want[0]) {
		return // only tables are compared
	}
	got := strings.Split(strings.TrimRight(out, "\n"), "\n")
	start := -1
	for i, l := range got {
		if isHeader(l) {
			start = i
			break
		}
	}
	if start < 0 || strings.Join(strings.Fields(got[start]), " ") != strings.Join(strings.Fields(s.want[0]), " ") {
		t.Fatalf("%s$ %s\nthe guide shows the header\n%s\nthe program printed\n%s", s.host, s.cmd, s.want[0], out)
	}
	wantRows := tableRows(s.want)
	gotRows := tableRows(got[start:])
	for key, w := range wantRows {
		g, ok := gotRows[key]
		if !ok {
			t.Fatalf("%s$ %s\nno row %q in\n%s", s.host, s.cmd, key, out)
		}
		for col, v := range w {
			if volatileColumn(col, v) {
				continue
			}
			if g[col] != v {
				t.Fatalf("%s$ %s\nrow %q: %s is %q, the guide shows %q:\n%s", s.host, s.cmd, key, col, g[col], v, out)
			}
		}
	}
}

// isHeader reports whether a line is a table header: words in capitals.
func isHeader(l string) bool {
	f := strings.Fields(l)
	if len(f) < 2 {
		return false
	}
	for _, w := range f {
		if strings.ToUpper(w) != w || strings.ToLower(w) == w {
			return false
		}
	}
	return true
}

// tableRows cuts the rows of a table at its header's column starts and
// returns them by their first column.
func tableRows(lines []string) map[string]map[string]string {
	header := lines[0]
	type col struct {
		name  string
		start int
	}
	var cols []col
	for i := 0; i < len(header); i++ {
		if header[i] != ' ' && (i == 0 || header[i-1] == ' ') {
			end := strings.IndexByte(header[i:], ' ')
			if end < 0 {
				end = len(header) - i
			}
			cols = append(cols, col{header[i : i+end], i})
		}
	}
	rows := make(map[string]map[string]string)
	for _, l := range lines[1:] {
		r := make(map[string]string)
		for j, c := range cols {
			end := len(l)
			if j+1 < len(cols) {
				end = min(cols[j+1].start, len(l))
			}
			if c.start < end {
				r[c.name] = strings.TrimSpace(l[c.start:end])
			}
		}
		rows[r[cols[0].name]] = r
	}
	return rows
}

// volatileColumn reports whether a sample value may differ from run to
// run: addresses given at enrolment, counts of packets and flows.
func volatileColumn(col, v string) bool {
	switch col {
	case "DROPPED", "FLOWS":
		return true
	case "ADDRESS":
		return strings.HasPrefix(v, "0x")
	}
	return false
}

// hostShell is a bash in a node, fed one command at a time.
type hostShell struct {
	in  io.WriteCloser
	mu  sync.Mutex
	buf strings.Builder
	got chan struct{} // signalled when buf grows
	seq int
}

// startShell starts bash in n, in dir, with the binaries under test first
// in PATH and systemctl standing in for the host's service manager.
func startShell(t *testing.T, n *netlab.Node, dir string) *hostShell {
	t.Helper()
	s := &hostShell{got: make(chan struct{}, 1)}
	cmd := n.Command("bash", "--noprofile", "--norc")
	cmd.Dir = dir
	cmd.Env = append(cmd.Env, "PATH="+bin+":"+os.Getenv("PATH"), "IRMD_LOG="+filepath.Join(n.RunDir, "irmd.log"))
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	s.in = in
	go s.read(pr)
	n.StartCmd(cmd)
	s.mustRun(t, systemctlStandIn)
	return s
}

// systemctlStandIn is systemctl for the irmd unit, as the packages
// install it: irmd runs with /etc/ouroboros/irmd.conf, start returns once
// it answers, and reload sends it SIGHUP (the unit's ExecReload) and gives
// it a moment to apply the file.
const systemctlStandIn = `systemctl() {
	case "$*" in
	"start irmd")
		irmd --config /etc/ouroboros/irmd.conf --stdout >>"$IRMD_LOG" 2>&1 &
		IRMD_PID=$!
		for i in $(seq 100); do
			irm ipcp list >/dev/null 2>&1 && return 0
			kill -0 "$IRMD_PID" 2>/dev/null || { wait "$IRMD_PID"; return 1; }
			sleep 0.1
		done
		return 1 ;;
	"stop irmd") kill -TERM "$IRMD_PID" && wait "$IRMD_PID" ;;
	"restart irmd") systemctl stop irmd && systemctl start irmd ;;
	"reload irmd") kill -HUP "$IRMD_PID" && sleep 1 ;;
	*) echo "systemctl $*: not available in this walkthrough" >&2; return 1 ;;
	esac
}`

func (s *hostShell) read(r io.Reader) {
	br := bufio.NewReader(r)
	for {
		line, err := br.ReadString('\n')
		s.mu.Lock()
		s.buf.WriteString(line)
		s.mu.Unlock()
		select {
		case s.got <- struct{}{}:
		default:
		}
		if err != nil {
			return
		}
	}
}

// stepTimeout bounds one command of a walkthrough.
const stepTimeout = time.Minute

// run runs cmd and returns what it printed and its exit status.
func (s *hostShell) run(t *testing.T, cmd string) (string, int) {
	t.Helper()
	s.seq++
	marker := fmt.Sprintf("@@walkthrough-%d@@", s.seq)
	s.mu.Lock()
	from := s.buf.Len()
	s.mu.Unlock()
	if _, err := fmt.Fprintf(s.in, "%s\nprintf '\\n%s %%d\\n' $?\n", cmd, marker); err != nil {
		t.Fatalf("shell: %v", err)
	}
	deadline := time.After(stepTimeout)
	for {
		s.mu.Lock()
		all := s.buf.String()[from:]
		s.mu.Unlock()
		if i := strings.Index(all, marker+" "); i >= 0 {
			var status int
			fmt.Sscanf(all[i+len(marker)+1:], "%d", &status)
			return strings.TrimSuffix(all[:i], "\n"), status
		}
		select {
		case <-s.got:
		case <-deadline:
			t.Fatalf("%s: no end after %v:\n%s", cmd, stepTimeout, all)
		}
	}
}

// mustRun runs cmd and fails the test if it fails.
func (s *hostShell) mustRun(t *testing.T, cmd string) string {
	t.Helper()
	out, status := s.run(t, cmd)
	if status != 0 {
		t.Fatalf("%s: exited %d:\n%s", cmd, status, out)
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
