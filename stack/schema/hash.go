package schema

// Hashes are the hash algorithms a layer's directory can hash names with.
var hashes = []string{"SHA3_224", "SHA3_256", "SHA3_384", "SHA3_512"}

// DefaultHash is the hash of a layer bootstrapped without one.
const DefaultHash = "SHA3_256"

// Hashes returns the hash algorithms a layer can use.
func Hashes() []string { return append([]string(nil), hashes...) }

// hashOption is the directory hash of the types that have one.
func hashOption() Option {
	return Option{Key: "hash", Kind: Word, Words: hashes, Fold: true, Default: DefaultHash,
		Arg: "H", Help: "how names are hashed in the layer's directory"}
}
