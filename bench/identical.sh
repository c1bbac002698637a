#!/usr/bin/env bash
# bench/identical.sh BIN OUTDIR: the CLI outputs an internal change must leave byte-identical
# (M4 Weekly and Hourly forecasts with intervals, Weekly cv, tabular predictions and eval
# for 8 sets x {gbdt, rf}). Run it with the old and the new binary, then compare the two
# OUTDIRs with cmp. Hourly leaves out AutoARIMA (its full run takes hours).
#   TAB=DIR bench/identical.sh target/release/lithe OUT
set -u
BIN=$1; O=$2; mkdir -p $O
T=${TAB:?set TAB to a prep_tabular.py output directory}
M4=${M4:-$(dirname "$0")/../../shared/data/m4/long}
for s in Weekly:13:1 Hourly:48:24; do
  IFS=: read name h m <<< "$s"; MODELS=auto_ets,auto_theta,auto_ces,auto_arima,mstl,seasonal_naive,naive,holt,croston_sba,window_average; [ $name = Hourly ] && MODELS=auto_ets,auto_theta,auto_ces,mstl,seasonal_naive,naive,holt,croston_sba,window_average
  $BIN forecast --data $M4/$name-train.csv.gz --horizon $h --season $m \
     --models $MODELS --window-size 4 \
     --level 80,95 --threads 2 --quiet --out $O/fc-$name.csv 2> $O/fc-$name.err
  echo "forecast $name $?"
done
$BIN forecast cv --data $M4/Weekly-train.csv.gz --horizon 13 --season 1 --models auto_ets,auto_theta --windows 2 --threads 2 --quiet --out $O/cv-Weekly.csv 2> $O/cv.err; echo "cv $?"
for d in adult bank_marketing california_housing covertype electricity grinsztajn_houses amazon_employee_access higgs_subset; do
  tgt=$(python3 -c "import json;print(json.load(open('$T/$d/meta.json'))['target'])")
  cat=$(python3 -c "import json;print(','.join(json.load(open('$T/$d/meta.json')).get('categorical',[])))")
  c=(); [ -n "$cat" ] && c=(--categorical $cat)
  for mdl in gbdt rf; do
    extra=(); [ $mdl = rf ] && extra=(--trees 30)
    $BIN tabular train --data $T/$d/train.csv --target $tgt --model $mdl "${extra[@]}" "${c[@]}" --threads 2 --quiet --out $O/$d-$mdl.lithe > /dev/null 2> $O/$d-$mdl.err
    $BIN tabular predict --model $O/$d-$mdl.lithe --data $T/$d/test.csv "${c[@]}" --threads 2 --out $O/$d-$mdl-pred.csv > /dev/null
    $BIN tabular eval --model $O/$d-$mdl.lithe --data $T/$d/test.csv "${c[@]}" --threads 2 > $O/$d-$mdl-eval.json
    echo "$d $mdl $?"
  done
done
