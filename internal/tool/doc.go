// Package tool holds what the Ouroboros command-line tools (oping, operf,
// ocbr, oecho, ocat) share: option parsing with aliases and a uniform --help,
// values for durations, rates and QoS specs, exit codes, signal handling, and
// attaching to irmd and allocating flows with errors that say what to do.
//
// Every tool follows the same shape:
//
//	func main() {
//		ctx, stop := tool.SignalContext()
//		defer stop()
//		os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
//	}
//
// where run parses the options with a Command, does the work and returns
// tool.Exit(name, err, stderr).
package tool
