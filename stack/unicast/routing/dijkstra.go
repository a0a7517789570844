package routing

// unreachable is the distance of a node with no path from the source.
const unreachable = ^uint64(0)

// shortest runs Dijkstra from src, filling dist with every node's distance
// (unreachable if none) and, if first is not nil, first with the first hop
// from src: among equal-cost paths, the lowest-addressed neighbour of src.
// h is scratch space, returned for reuse.
//
// Metrics are at least 1, so every node on a shortest path to v is settled
// before v and first[v] is final when v is popped.
func (g *graph) shortest(src int32, dist []uint64, first []int32, h heap) heap {
	for i := range dist {
		dist[i] = unreachable
	}
	for i := range first {
		first[i] = -1
	}
	dist[src] = 0
	h = append(h[:0], item{0, src})
	for len(h) > 0 {
		var it item
		it, h = h.pop()
		if it.d > dist[it.v] {
			continue // a stale entry: it.v was reached more cheaply since
		}
		to, metric := g.edges(it.v)
		for k, u := range to {
			nd := it.d + uint64(metric[k])
			hop := u
			if it.v != src && first != nil {
				hop = first[it.v]
			}
			switch {
			case nd < dist[u]:
				dist[u] = nd
				if first != nil {
					first[u] = hop
				}
				h = h.push(item{nd, u})
			case nd == dist[u] && first != nil && hop < first[u]:
				first[u] = hop
			}
		}
	}
	return h
}

// item is a node queued at a tentative distance.
type item struct {
	d uint64
	v int32
}

// heap is a binary min-heap of items by distance. Dijkstra pushes a node
// again when its distance drops and skips stale entries on pop, which is
// simpler and, on sparse graphs, faster than decreasing keys in place.
type heap []item

func (h heap) push(it item) heap {
	h = append(h, it)
	for i := len(h) - 1; i > 0; {
		p := (i - 1) / 2
		if h[p].d <= h[i].d {
			break
		}
		h[p], h[i] = h[i], h[p]
		i = p
	}
	return h
}

func (h heap) pop() (item, heap) {
	top := h[0]
	n := len(h) - 1
	h[0] = h[n]
	h = h[:n]
	for i := 0; ; {
		c := 2*i + 1
		if c >= n {
			break
		}
		if c+1 < n && h[c+1].d < h[c].d {
			c++
		}
		if h[i].d <= h[c].d {
			break
		}
		h[i], h[c] = h[c], h[i]
		i = c
	}
	return top, h
}
