#!/bin/sh
# Regenerates the data and retrains the demo model (CPU, Debian's /usr/bin/python3), evaluates it and exports it
# into Models/demo. Every stage checkpoints under $EDGEAVSR_RUNS (default Models/train/runs) and resumes when
# rerun; a rerun with a larger --steps continues the schedule from the checkpoint (that is how the shipped
# encoders were trained: the steps below are the sequence of runs actually made, see Models/demo/README.md).
# One thread per process: on a busy 2-core machine OpenBLAS threads spin when descheduled.
set -e
cd "$(dirname "$0")/../.."
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
PY="nice -n 10 /usr/bin/python3"
$PY Models/data/test_visemes.py
$PY Models/data/make_data.py --out Models/data/cache --train 8000 --test 400 --workers 2   # the shipped run stopped it at 3,100
E=Models/train/train_encoders.py
# audio: frame phoneme targets only (the word CTC head measures, --ctc-detach), one cosine over 1,600 s of wall time
$PY $E --modality audio --steps 100000 --budget 1600 --seconds 1600 --batch 16 --lr 6e-4 --ctc-detach &
( $PY $E --modality video --steps 900 --batch 8 --lr 2e-3 && $PY $E --modality video --steps 2000 --batch 8 --lr 1.5e-3 --seconds 720 \
  && $PY $E --modality video --steps 3200 --batch 8 --lr 1.5e-3 --seconds 780 ) &
$PY Models/train/train_llm.py --steps 100
wait
$PY Models/train/cache_features.py --only test --batch 25 &
for k in 0 1; do
  $PY Models/train/cache_features.py --only train --shard $k --shards 2 --max-rows 4300 --versions 3 --batch 16 &
done
wait
$PY Models/train/train_smop.py --layout dedr --steps 4000 --batch 16 --lr 2e-3 --seconds 900 &
$PY Models/train/train_smop.py --layout jejr --steps 4000 --batch 16 --lr 2e-3 --seconds 900
wait
$PY Models/train/evaluate.py --layout dedr --n 300 --kinds babble,white &
$PY Models/train/evaluate.py --layout jejr --n 300 --kinds babble
wait
/usr/bin/python3 Models/train/evaluate.py --table
$PY Models/train/export.py --layouts dedr --out Models/demo --samples 4
