#!/usr/bin/env bash
# Stage 1 of ljspeech: LJSpeech 1.1 -> Kaldi data directories data/{tr_no_dev,dev,eval1} (ESPnet2's
# split: the last 500 utterances by id are held out, 250 dev then 250 eval1).
#   local/data.sh --ljspeech_dir /path/to/LJSpeech-1.1 [--datadir data] [--num_dev 250 --num_eval 250] [--max_utts N]
# Nothing is downloaded: get LJSpeech-1.1.tar.bz2 from https://keithito.com/LJ-Speech-Dataset/ and unpack it.
set -euo pipefail

ljspeech_dir=downloads/LJSpeech-1.1
datadir=data
num_dev=250
num_eval=250
max_utts=0           # the first N utterances by id only (0: all; smoke runs)
help_message="Usage: $0 --ljspeech_dir <LJSpeech-1.1 dir> [options]  (writes ${datadir}/{tr_no_dev,dev,eval1})"
. utils/parse_options.sh
parse_options_no_args "$@"
[ -f path.sh ] && . ./path.sh

python3 local/prepare_ljspeech.py --ljspeech_dir "${ljspeech_dir}" --out_dir "${datadir}" \
    --num_dev "${num_dev}" --num_eval "${num_eval}" --max_utts "${max_utts}"
echo "$0: data prepared in ${datadir}/{tr_no_dev,dev,eval1}"
