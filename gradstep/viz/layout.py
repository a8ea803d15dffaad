"""A small layered (Sugiyama-style) layout for a DAG, in pure Python.

1. Layers: longest path from the sources (node 0, the loss, is on layer 0), so every
   edge points downwards.
2. Order within a layer: start from discovery order, then a few sweeps of the barycentric
   heuristic (down: mean position of a node's parents; up: of its children), keeping the
   order with the fewest crossings between adjacent layers.
3. Coordinates: boxes packed left to right per layer, each layer centred on the widest.
"""

from __future__ import annotations

H_GAP, V_GAP, MARGIN = 18.0, 36.0, 10.0


def layers_of(n, edges):
    """Longest-path layer of each node (Kahn's order over the edges ``(src, dst)``)."""
    children = [[] for _ in range(n)]
    indeg = [0] * n
    for a, b in edges:
        children[a].append(b)
        indeg[b] += 1
    layer = [0] * n
    ready = [i for i in range(n) if indeg[i] == 0]
    while ready:
        i = ready.pop()
        for c in children[i]:
            layer[c] = max(layer[c], layer[i] + 1)
            indeg[c] -= 1
            if indeg[c] == 0:
                ready.append(c)
    return layer


def crossings(rows, pos, edges, layer):
    """Edge crossings between adjacent layers (edges spanning more layers are not counted)."""
    total = 0
    by_layer = {}
    for a, b in edges:
        if layer[b] == layer[a] + 1:
            by_layer.setdefault(layer[a], []).append((pos[a], pos[b]))
    for segs in by_layer.values():
        segs.sort()
        for i in range(len(segs)):
            for j in range(i + 1, len(segs)):
                if segs[j][0] > segs[i][0] and segs[j][1] < segs[i][1]:
                    total += 1
    return total


def order_layers(n, edges, layer, sweeps=4):
    rows = [[] for _ in range(max(layer) + 1 if n else 0)]
    for i in range(n):
        rows[layer[i]].append(i)
    parents = [[] for _ in range(n)]
    children = [[] for _ in range(n)]
    for a, b in edges:
        parents[b].append(a)
        children[a].append(b)

    def positions(rs):
        pos = [0] * n
        for r in rs:
            for k, i in enumerate(r):
                pos[i] = k
        return pos

    best = [list(r) for r in rows]
    pos = positions(rows)
    best_cross = crossings(rows, pos, edges, layer)
    for sweep in range(sweeps):
        down = sweep % 2 == 0
        seq = range(1, len(rows)) if down else range(len(rows) - 2, -1, -1)
        near = parents if down else children
        for li in seq:
            rows[li].sort(key=lambda i, near=near: _bary(near[i], pos, i))
            for k, i in enumerate(rows[li]):
                pos[i] = k
        c = crossings(rows, pos, edges, layer)
        if c < best_cross:
            best, best_cross = [list(r) for r in rows], c
    return best


def _bary(ns, pos, i):
    return sum(pos[j] for j in ns) / len(ns) if ns else pos[i]


def layered_layout(n, edges, sizes):
    """Boxes ``(x, y, w, h)`` per node for ``sizes[i] = (w, h)``, and the canvas size."""
    if n == 0:
        return [], (2 * MARGIN, 2 * MARGIN)
    layer = layers_of(n, edges)
    rows = order_layers(n, edges, layer)
    row_w = [sum(sizes[i][0] for i in r) + H_GAP * (len(r) - 1) for r in rows]
    row_h = [max(sizes[i][1] for i in r) for r in rows]
    width = max(row_w) + 2 * MARGIN
    boxes = [None] * n
    y = MARGIN
    for r, rw, rh in zip(rows, row_w, row_h):
        x = MARGIN + (width - 2 * MARGIN - rw) / 2
        for i in r:
            w, h = sizes[i]
            boxes[i] = (x, y + (rh - h) / 2, w, h)
            x += w + H_GAP
        y += rh + V_GAP
    return boxes, (width, y - V_GAP + MARGIN)
