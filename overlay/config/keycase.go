package config

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/pelletier/go-toml/v2"
)

// upperKeys reports the keys of the file that hold capitals. Viper folds
// keys to lower case, so "MTU" would be read as mtu, and "Name" beside
// "name" would make one of the two win at random; the keys are lowercase
// words, so a capital is a mistake to name rather than to guess at.
func (ld *loader) upperKeys(data []byte) {
	var m map[string]any
	if toml.Unmarshal(data, &m) != nil {
		return // viper reports it, with its line
	}
	ld.walkKeys(m, "")
}

// walkKeys checks the keys of table m, whose Ref prefix is ref.
func (ld *loader) walkKeys(m map[string]any, ref string) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		name := strings.TrimSpace(ref + " " + quoteKey(k))
		table, isTable := m[k].(map[string]any)
		if isTable && ref == "" {
			name = "[" + quoteKey(k) + "]"
		}
		if strings.ContainsFunc(k, unicode.IsUpper) {
			ld.fail(name, "", fmt.Errorf("keys are lowercase: write %s", quoteKey(strings.ToLower(k))))
		}
		if isTable {
			ld.walkKeys(table, name)
		}
		if list, ok := m[k].([]any); ok {
			for i, item := range list {
				if t, ok := item.(map[string]any); ok {
					ld.walkKeys(t, strings.TrimSpace(ref+" [["+quoteKey(k)+"]] "+strconv.Itoa(i+1)))
				}
			}
		}
	}
}
