// Package attack holds, one sub-package each, the small hostile programs
// the end-to-end tests run against the real daemons: request floods,
// spoofed teardown, local hijack attempts, resource exhaustion. Each one
// prints what it did (counts, rates) on stdout so that a test can check
// that the attack really ran. They are test tools, never installed;
// hostlab.BuildAttacker builds them.
package attack
