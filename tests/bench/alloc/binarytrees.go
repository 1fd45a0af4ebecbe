// Binary trees (see typed.c for ours): the benchmarks game's program, its
// nodes from new and left to the collector. One goroutine: the driver runs
// it with GOMAXPROCS=1 on both sides.
package main

import "time"

const binaryTreesMinDepth = 4 // as BINARY_TREES_MIN_DEPTH

type treeNode struct {
	left, right *treeNode
}

// Children first, then the node, as typed.c does.
func treeBottomUp(depth int) *treeNode {
	if depth == 0 {
		return &treeNode{}
	}
	left := treeBottomUp(depth - 1)
	right := treeBottomUp(depth - 1)
	return &treeNode{left, right}
}

func (node *treeNode) check() int {
	if node.left == nil {
		return 1
	}
	return 1 + node.left.check() + node.right.check()
}

// A full tree of depth d has 2^(d+1) - 1 nodes.
func binaryTreesCheck(what string, depth, iterations, got int) {
	if want := iterations * (2<<depth - 1); got != want {
		fail("binary trees: %s of depth %d: check %d, want %d", what, depth, got, want)
	}
}

func binaryTrees(maxDepth int) time.Duration {
	start := time.Now()
	stretchDepth := maxDepth + 1
	binaryTreesCheck("stretch tree", stretchDepth, 1, treeBottomUp(stretchDepth).check())
	longLived := treeBottomUp(maxDepth)
	for depth := binaryTreesMinDepth; depth <= maxDepth; depth += 2 {
		iterations := 1 << (maxDepth - depth + binaryTreesMinDepth)
		check := 0
		for i := 0; i < iterations; i++ {
			check += treeBottomUp(depth).check()
		}
		binaryTreesCheck("trees", depth, iterations, check)
	}
	binaryTreesCheck("long-lived tree", maxDepth, 1, longLived.check())
	return time.Since(start)
}
