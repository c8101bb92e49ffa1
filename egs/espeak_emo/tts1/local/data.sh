#!/usr/bin/env bash
# Stage 1 of espeak_emo: synthesize the emotional corpus with espeak-ng and write data/{train,dev,eval}.
#   local/data.sh [--nj 2] [--train_sentences 540 --dev_sentences 30 --eval_sentences 30]
# Synthesis is skipped for WAVs already present; see local/synthesize.py for the corpus definition.
set -euo pipefail

nj=2
datadir=data
train_sentences=540
dev_sentences=30
eval_sentences=30
help_message="Usage: $0 [options]  (writes ${datadir}/{train,dev,eval})"
. utils/parse_options.sh
parse_options_no_args "$@"
[ -f path.sh ] && . ./path.sh

python3 local/synthesize.py --out_dir "${datadir}" --nj "${nj}" \
    --train_sentences "${train_sentences}" --dev_sentences "${dev_sentences}" --eval_sentences "${eval_sentences}"
for dset in train dev eval; do
    for f in wav.scp text utt2spk spk2utt utt2emo; do
        [ -s "${datadir}/${dset}/${f}" ] || { echo "$0: error: ${datadir}/${dset}/${f} was not written" >&2; exit 1; }
    done
done
echo "$0: data prepared in ${datadir}/{train,dev,eval}"
