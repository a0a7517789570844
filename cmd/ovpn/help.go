package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"o7s.dev/ouroboros/overlay/config"
)

// command is one ovpn subcommand: its grammar, help, and what runs it.
type command struct {
	name     string
	usage    []string    // grammar lines, each a full command line
	summary  string      // one sentence, for "ovpn help"
	text     string      // what it does and its options
	examples []string    // command lines that work as shown
	flags    [][2]string // boolean options: short ("" if none), long
	minArgs  int
	maxArgs  int
	run      func(ctx context.Context, inv *invocation) int
	local    func(inv *invocation, w io.Writer) int // help and version: no run directory
}

// commands returns ovpn's commands. It is built on each call so that
// nothing in the package is mutable state.
func commands() []*command {
	return []*command{
		{
			name:    "up",
			usage:   []string{"ovpn up CONFIG [--foreground]"},
			summary: "Bring a link up and keep it up in the background.",
			text: `CONFIG is a file, or a bare NAME meaning /etc/ouroboros/ovpn/NAME.toml; the
link is called by the file's base name. ovpn up makes the interface, gives
it its addresses and routes, registers the config's name (and each
[[publish]] name, answered for a host behind it) in its layer, dials every [[peer]] and accepts the peers [accept] allows. It returns once
the interface is up; the link runs on in the background, logging to
$OUROBOROS_RUNDIR/ovpn/LINK.log (default /run/ouroboros/ovpn), re-dialling
peers whose flows break and re-attaching when irmd restarts. With a [dns]
section it runs the DNS bridge (NAME.ouro answered from Ouroboros names) on
the first tunnel address, port 53, and where systemd-resolved runs it sends
the domain's queries there (resolvectl dns/domain on the interface).

It fails with a message saying what to fix when the config is bad (exit
status 2), or when irmd is not running, the name cannot be registered in
the layer, the device is busy, the link is up already, the DNS bridge
cannot listen on its address ([dns] listen) or the process lacks
CAP_NET_ADMIN (exit status 1).

Options:
  -f, --foreground  stay in the foreground (for service managers); with
                    NOTIFY_SOCKET set, tell systemd READY=1 once up,
                    RELOADING=1 on SIGHUP and STOPPING=1 when going down.
                    SIGHUP reloads the config; SIGTERM and SIGINT take the
                    link down.`,
			examples: []string{"ovpn up site-a", "ovpn up ./lab.toml --foreground"},
			flags:    [][2]string{{"f", "foreground"}},
			minArgs:  1, maxArgs: 1,
			run: cmdUp,
		},
		{
			name:    "down",
			usage:   []string{"ovpn down NAME", "ovpn down --all"},
			summary: "Take a link down, or every link.",
			text: `Removes the link's routes, addresses and interface, deallocates its flows
withdraws its name and its [[publish]] names from the layer and stops the DNS bridge (resolvectl
revert), and returns once all of that is done. --all takes down every link that is up on this host.`,
			examples: []string{"ovpn down site-a", "ovpn down --all"},
			flags:    [][2]string{{"a", "all"}},
			maxArgs:  1,
			run:      cmdDown,
		},
		{
			name:    "status",
			usage:   []string{"ovpn status [NAME] [--json]"},
			summary: "Show links and their peers.",
			text: `For each link (or the one named): its interface, addresses and MTU, and
for each peer its state (up, or connecting with the last error), whether
its name is proven by a certificate, its tunnel addresses and routes, bytes
and packets each way, packets dropped by reason, when the last packet came
and the round-trip time. With [dns], the DNS bridge: the addresses it
listens on (point resolvers there), its domain, upstream resolvers and
clients allowed, whether systemd-resolved sends it the domain, its
counters, the names it answered through flows set up on demand and the
latest names that refused this end. --json prints a JSON array of the
links instead.`,
			examples: []string{"ovpn status", "ovpn status site-a --json"},
			flags:    [][2]string{{"j", "json"}},
			maxArgs:  1,
			run:      cmdStatus,
		},
		{
			name:    "check",
			usage:   []string{"ovpn check CONFIG"},
			summary: "Validate a config and print what up would do.",
			text: `Reads CONFIG as ovpn up does and prints each action up would take, then
any warnings. The exit status is 0 only for a config that up accepts; for
a bad one the message names the file and the key. It needs no irmd and no
privileges.`,
			examples: []string{"ovpn check site-a", "ovpn check ./lab.toml"},
			minArgs:  1, maxArgs: 1,
			run: cmdCheck,
		},
		{
			name:    "reload",
			usage:   []string{"ovpn reload NAME"},
			summary: "Apply a changed config to a running link.",
			text: `Reads the link's config file again and applies the changes to peers, their
routes, [accept] rules and pinned fingerprints, without touching the flows
of peers that did not change. Peers no longer configured or admitted are
disconnected; new peers are dialled. A config that fails to load, or that
changes name, layer or an [interface] key, changes nothing: the error says
so. A changed [dns] section restarts the DNS bridge (one whose new address
cannot be bound keeps the old bridge and changes nothing); [dns] added or
removed starts or stops it. [[publish]] entries added are registered in the
layer and removed ones withdrawn. Sending SIGHUP to the link's process does the same.`,
			examples: []string{"ovpn reload site-a"},
			minArgs:  1, maxArgs: 1,
			run: cmdReload,
		},
	}
}

// long returns the long name of the option called name (short or long).
func (c *command) long(name string) string {
	for _, f := range c.flags {
		if name == f[0] && f[0] != "" {
			return f[1]
		}
	}
	if name == "h" {
		return "help"
	}
	return name
}

// hasFlag says whether c has the boolean option long.
func (c *command) hasFlag(long string) bool {
	for _, f := range c.flags {
		if f[1] == long {
			return true
		}
	}
	return false
}

// argError says what is wrong with the number of arguments.
func (c *command) argError(inv *invocation) error {
	if len(inv.args) > c.maxArgs {
		return fmt.Errorf("%s: unexpected argument %q", c.name, inv.args[c.maxArgs])
	}
	return fmt.Errorf("%s: missing %s", c.name, strings.Fields(c.usage[0])[2])
}

// usageText is c's grammar, as the first lines of its help.
func (c *command) usageText() string {
	var b strings.Builder
	for i, u := range c.usage {
		if i == 0 {
			b.WriteString("usage: ")
		} else {
			b.WriteString("       ")
		}
		b.WriteString(u + "\n")
	}
	return b.String()
}

// helpText is c's full help.
func (c *command) helpText() string {
	var b strings.Builder
	b.WriteString(c.usageText())
	b.WriteString("\n" + c.summary + "\n\n" + c.text + "\n")
	if len(c.examples) > 0 {
		b.WriteString("\nExamples:\n")
		for _, e := range c.examples {
			b.WriteString("  " + e + "\n")
		}
	}
	return b.String()
}

// overview is ovpn's own help: what it is, and its commands.
func overview(cmds []*command) string {
	var b strings.Builder
	b.WriteString(`usage: ovpn COMMAND [ARGS]...

ovpn maps a tun (IP) or tap (Ethernet) interface onto encrypted Ouroboros
flows between named endpoints: site-to-site links, laptop clients that get
an address from an office's pool, and Ethernet segments bridged between
sites. Each link is one TOML file in /etc/ouroboros/ovpn ('ovpn help
config' lists its keys; docs/ovpn.md has guides and the reference); peers
are authenticated by the names their certificates prove. ovpn talks to this host's irmd ($OUROBOROS_RUNDIR, default
/run/ouroboros) and needs root or CAP_NET_ADMIN to bring links up.

Commands:
`)
	for _, c := range cmds {
		for _, u := range c.usage {
			b.WriteString("  " + u + "\n")
		}
		b.WriteString("      " + c.summary + "\n")
	}
	b.WriteString(`  ovpn help [COMMAND]
      Show help for a command ("ovpn COMMAND --help" does too).
  ovpn help config
      List the keys of a link's file.
  ovpn --version

Example:
  ovpn check site-a && ovpn up site-a && ovpn status site-a
`)
	return b.String()
}

// configHelp lists a link file's keys, from the option table the loader
// and docs/ovpn.md's reference use too.
func configHelp() string {
	var b strings.Builder
	b.WriteString(`usage: ovpn help config

The keys of a link's file (/etc/ouroboros/ovpn/NAME.toml), with the values
they take and their defaults; OVPN_SECTION_KEY in the environment
overrides a key (not those of [[peer]] and [[publish]] entries; those of
[dns] only when the file has a [dns] table). docs/ovpn.md has the full
reference with examples; 'ovpn check FILE' validates a file.
`)
	section := "-"
	for _, o := range config.Options() {
		if o.Section != section {
			section = o.Section
			switch section {
			case config.SectionTop:
				b.WriteString("\nTop level:\n")
			case config.SectionPeer:
				b.WriteString("\n[[peer]] (one per peer this end dials):\n")
			case config.SectionDNS:
				b.WriteString("\n[dns] (tun only; the DNS bridge runs when the file has this table, even empty):\n")
			case config.SectionPublish:
				b.WriteString("\n[[publish]] (tun only; one per host behind this end, named in the layer):\n")
			default:
				b.WriteString("\n[" + section + "]:\n")
			}
		}
		fmt.Fprintf(&b, "  %s = %s (default: %s)\n", o.Key, strings.ReplaceAll(o.Values(), "`", ""),
			strings.ReplaceAll(o.DefaultText(), "`", ""))
		b.WriteString(wrapText(o.Help, "      ", 78))
	}
	return b.String()
}

// wrapText fills text into lines of at most width columns, each indented.
func wrapText(text, indent string, width int) string {
	var b strings.Builder
	line := indent
	for _, word := range strings.Fields(strings.ReplaceAll(text, "`", "")) {
		if len(line) > len(indent) && len(line)+1+len(word) > width {
			b.WriteString(line + "\n")
			line = indent
		}
		if len(line) > len(indent) {
			line += " "
		}
		line += word
	}
	return b.String() + line + "\n"
}

// helpCommand prints the help of the command args names, or the overview.
func helpCommand(cmds []*command, args []string) *command {
	return &command{name: "help", local: func(_ *invocation, w io.Writer) int {
		if len(args) == 0 {
			io.WriteString(w, overview(cmds))
			return exitOK
		}
		if len(args) == 1 && args[0] == "config" {
			io.WriteString(w, configHelp())
			return exitOK
		}
		c := findCommand(cmds, args[0])
		if c == nil || len(args) > 1 {
			fmt.Fprintf(w, "ovpn: no command %q\n\n%s", strings.Join(args, " "), overview(cmds))
			return exitUsage
		}
		io.WriteString(w, c.helpText())
		return exitOK
	}}
}
