module o7s.dev/ouroboros

go 1.26.8

require (
	github.com/pelletier/go-toml/v2 v2.4.3
	golang.org/x/sys v0.50.0
)

require golang.org/x/crypto v0.59.0
