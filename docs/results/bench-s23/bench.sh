#!/bin/bash
# Same-run comparison of the session-start binary (a7ca40f) and this session's (final):
# two interleaved rounds of each bench.
cd "$(dirname "$0")"  # beside the two binaries, closure-lab-before and closure-lab-after
for r in 1 2; do
  for b in before after; do
    echo "== round $r $b solver"; ./closure-lab-$b bench solver --json
  done
  for b in before after; do
    echo "== round $r $b closure"; ./closure-lab-$b bench closure --sizes 64,128 --batches 1,8 --seconds 1 --json
  done
  for b in before after; do
    echo "== round $r $b train"; ./closure-lab-$b bench train
  done
done
echo ALLDONE
