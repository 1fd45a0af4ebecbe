# mk/bench.mk: make bench (every suite) and make bench-SUITE (one suite).
#
# Benchmarks measure hardway beside a peer in the same run and print
#   bench SUITE/CASE: ours=VALUE UNIT PEER=VALUE UNIT ratio=R better=lower|higher
# (DESIGN.md). They never fail on a number; they fail only when something
# could not run at all. Downloads for peers are cached under build/bench/.
#
# A later suite adds itself with `bench: bench-NAME` in its own fragment.
#
# bench-boot: QEMU start -> "hardway ready" beside Debian's Linux kernel
# booting to a one-program initramfs, both with -kernel, TCG and -smp 4;
# see tools/bench-boot. BENCH_RUNS boots of each, median reported;
# BENCH_ACCEL=kvm to measure under KVM instead.

BENCH_RUNS  ?= 3
BENCH_ACCEL ?= tcg

.PHONY: bench bench-boot

bench: bench-boot

bench-boot: deps
	@$(MAKE) --no-print-directory kernel
	tools/bench-boot --runs $(BENCH_RUNS) --accel $(BENCH_ACCEL)
