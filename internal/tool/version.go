package tool

import (
	"fmt"
	"runtime/debug"
)

// Version describes the build of the tool called name: the module version,
// the VCS revision the go command recorded, and the Go release.
func Version(name string) string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return name + " (no build information)"
	}
	v := fmt.Sprintf("%s %s %s", name, bi.Main.Path, bi.Main.Version)
	var rev, modified string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			modified = s.Value
		}
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if rev != "" {
		v += " rev " + rev
		if modified == "true" {
			v += "+dirty"
		}
	}
	return v + " " + bi.GoVersion
}
