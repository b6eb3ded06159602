package introspect

import (
	"fmt"
	"hash/fnv"
)

// ShortName is name when it fits PostgreSQL's 63-byte identifiers with
// room for a suffix of reserve bytes; a longer one is cut and given a hash
// of the whole, so that two long names never meet where the database
// would cut them to the same. Every name the framework makes up for the
// database (indexes, triggers, functions) goes through it.
func ShortName(name string, reserve int) string {
	limit := 63 - reserve
	if len(name) <= limit {
		return name
	}
	h := fnv.New32a()
	h.Write([]byte(name))
	return fmt.Sprintf("%s_%08x", name[:limit-9], h.Sum32())
}
