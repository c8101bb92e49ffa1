#!/usr/bin/env bash
# Stage 1 of vctk: VCTK 0.92 (microphone 1) -> Kaldi data directories data/{tr_no_dev,dev,eval1} with
# utt2spk/spk2utt (ESPnet2's split: per speaker, the last 10 utterances by id are held out, 5 eval1 then 5 dev).
#   local/data.sh --vctk_dir /path/to/VCTK-Corpus-0.92 [--datadir data] [--num_dev 5 --num_eval 5]
#                 [--max_speakers N --max_utts_per_speaker M]
# Nothing is downloaded: get VCTK-Corpus-0.92.zip from https://datashare.ed.ac.uk/handle/10283/3443 and unzip it.
# The 48 kHz FLAC files are resampled to the recipe's --fs by tts.sh stage 2.
set -euo pipefail

vctk_dir=downloads/VCTK-Corpus-0.92
datadir=data
num_dev=5
num_eval=5
max_speakers=0          # the first N speakers only (0: all; smoke runs)
max_utts_per_speaker=0  # ... and their first M utterances (0: all)
help_message="Usage: $0 --vctk_dir <VCTK-Corpus-0.92 dir> [options]  (writes ${datadir}/{tr_no_dev,dev,eval1})"
. utils/parse_options.sh
parse_options_no_args "$@"
[ -f path.sh ] && . ./path.sh

python3 local/prepare_vctk.py --vctk_dir "${vctk_dir}" --out_dir "${datadir}" \
    --num_dev "${num_dev}" --num_eval "${num_eval}" \
    --max_speakers "${max_speakers}" --max_utts_per_speaker "${max_utts_per_speaker}"
echo "$0: data prepared in ${datadir}/{tr_no_dev,dev,eval1}"
