#!/bin/bash
# bench solver only, --seconds 1, ABAB twice (a tighter look at the solver rows)
cd "$(dirname "$0")"
for r in 1 2; do
  for b in before after; do
    echo "== round $r $b solver"; ./closure-lab-$b bench solver --seconds 1 --json
  done
done
echo ALLDONE
