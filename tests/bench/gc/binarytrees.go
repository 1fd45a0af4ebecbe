// binary-trees: the benchmarks game's program, as binarytrees.c (which
// says what it does), its nodes from new and left to Go's collector.
package main

const binaryTreesMinDepth = 4 // as BINARY_TREES_MIN_DEPTH

type treeNode struct {
	left, right *treeNode
}

// Children first, then the node, as binarytrees.c does.
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

func binaryTrees(maxDepth int, r *result) {
	begin(r)
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
	end(r)
}
