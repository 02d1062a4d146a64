#!/bin/bash
# Session 22: is the one-step Π generator's spread spectrum worse than EM-10's? The README's
# test sets (256² DNS, seed 5000, t 4→5), then les-apriori with EM-10 and flow-1 for draw
# seeds 0..9 (paired by seed; same 44 states). Run from the repository root with the
# binary on PATH (or B=path/to/closure-lab); the summary (docs/results/les-pi-flow-seeds-s22.txt)
# was computed from the JSON rows by a few lines of Python (mean ± SE over seeds, paired
# differences with a t interval, df 9).
B=${B:-closure-lab}
M=assets/les_stochastic.bpk
for nu in 2e-4 4e-4; do
  [ -f lestest256_$nu.h5 ] || $B data --case les --dns-n 256 --nu $nu --trajectories 2 --t-start 4 --t-end 5 --every 0.05 --seed 5000 --out lestest256_$nu.h5
done
for s in 0 1 2 3 4 5 6 7 8 9; do
  for smp in em-karras10 flow-1; do
    [ -f pi_${smp}_$s.json ] || $B les-apriori --model $M --data lestest256_2e-4.h5,lestest256_4e-4.h5 --stride 2 --ensemble 16 --sampler $smp --seed $s --json pi_${smp}_$s.json
  done
done
