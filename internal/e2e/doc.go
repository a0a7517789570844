// Package e2e holds the end-to-end tests: real irmd processes, the real
// tools, real sockets. Test names start with TestE2E so that `make e2e` can
// select them. They build the binaries themselves unless OUROBOROS_BIN names
// a directory that holds them.
package e2e
