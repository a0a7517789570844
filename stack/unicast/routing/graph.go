package routing

import (
	"slices"

	"o7s.dev/ouroboros/stack/unicast/addr"
)

// graph is a snapshot of the DB as a symmetric weighted graph in compressed
// sparse row form. Nodes are indices into addrs, which is sorted, so
// comparing indices compares addresses and ties break the same way on
// every member.
type graph struct {
	addrs []addr.Addr
	// The edges of node v are to[off[v]:off[v+1]] with metrics
	// metric[off[v]:off[v+1]], in ascending order of neighbour.
	off    []int32
	to     []int32
	metric []uint16
}

// graph builds the routing graph from the stored LSUs. An edge exists only
// where both ends' LSUs list each other; its metric is the larger of the
// two, so the graph is symmetric. It holds d.mu only while reading.
func (d *DB) graph() *graph {
	d.mu.RLock()
	defer d.mu.RUnlock()
	g := &graph{addrs: d.originsLocked()}
	lsus := make([]*LSU, len(g.addrs))
	edges := 0
	for i, a := range g.addrs {
		lsus[i] = &d.lsus[a].lsu
		edges += len(lsus[i].Links)
	}
	g.off = make([]int32, 1, len(g.addrs)+1)
	g.to = make([]int32, 0, edges)
	g.metric = make([]uint16, 0, edges)
	for _, u := range lsus {
		for _, l := range u.Links {
			if j, ok := g.index(l.Neighbour); ok {
				if back, ok := lsus[j].metricTo(u.Origin); ok {
					g.to = append(g.to, j)
					g.metric = append(g.metric, max(l.Metric, back))
				}
			}
		}
		g.off = append(g.off, int32(len(g.to)))
	}
	return g
}

// index returns the node of address a, if a has an LSU.
func (g *graph) index(a addr.Addr) (int32, bool) {
	i, ok := slices.BinarySearch(g.addrs, a)
	return int32(i), ok
}

// edges returns the neighbours of v and the metrics of the links to them.
func (g *graph) edges(v int32) ([]int32, []uint16) {
	lo, hi := g.off[v], g.off[v+1]
	return g.to[lo:hi], g.metric[lo:hi]
}
