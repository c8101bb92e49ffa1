#!/usr/bin/env bash
# vctk: 109 English speakers of VCTK 0.92 (microphone 1; 48 kHz FLAC resampled to 22050 Hz in stage 2),
# one multi-speaker Tacotron2 conditioned on speaker ids (tts.sh --use_sid true: utt2spk -> sids).
#   ./run.sh --vctk_dir /data/VCTK-Corpus-0.92 --ngpu 1   all stages (1 data ... 9 pack), full-size
#                                   Tacotron2 (conf/train.yaml, for a GPU), Griffin-Lim waveforms
#   ./run.sh --smoke true --vctk_dir DIR   every stage with a tiny model on the first 2 speakers of DIR,
#                                   7 utterances each (1 dev, 1 eval), on CPU in under a minute: a check
#                                   of the setup (the CI test runs it on a miniature corpus)
#   ./run.sh ... --use_sid false    one model for all speakers, without speaker ids
# Nothing is downloaded: unzip VCTK-Corpus-0.92.zip (https://datashare.ed.ac.uk/handle/10283/3443) and give
# the directory holding wav48_silence_trimmed/ and txt/ (default downloads/VCTK-Corpus-0.92).
# Splits (ESPnet2's, per speaker): tr_no_dev, dev (5 per speaker), eval1 (5 per speaker).
# Any tts.sh option can be given here; see ./tts.sh --help.
set -euo pipefail

smoke=false
vctk_dir=downloads/VCTK-Corpus-0.92
use_sid=true
. utils/recipe_options.sh
recipe_parse_options "smoke vctk_dir use_sid" "$@"
recipe_check_bool smoke use_sid
recipe_check_no_space vctk_dir

fs=22050
n_fft=1024
n_shift=256

if [ "${smoke}" = true ]; then
    # 2 speakers x 7 utterances: 1 dev and 1 eval each, the rest for training; kept apart from the full run's directories
    opts=(
        --datadir data/smoke --dumpdir dump/smoke --expdir exp/smoke
        --local_data_opts "--vctk_dir ${vctk_dir} --datadir data/smoke --max_speakers 2 --max_utts_per_speaker 7 --num_dev 1 --num_eval 1"
        --train_config conf/tuning/train_smoke.yaml --inference_config conf/tuning/decode_smoke.yaml
        --nj 2 --inference_nj 1
    )
else
    opts=(
        --local_data_opts "--vctk_dir ${vctk_dir}"
        --train_config conf/train.yaml --inference_config conf/decode.yaml
        --nj 8 --inference_nj 8
    )
fi
# speaker ids (sids) from utt2spk: only passed when asked, so that --use_sid false runs any tts.sh
[ "${use_sid}" = true ] && opts+=(--use_sid true)

./tts.sh --train_set tr_no_dev --valid_set dev --test_sets eval1 \
    --fs "${fs}" --n_fft "${n_fft}" --n_shift "${n_shift}" \
    --token_type phn --g2p espeak_ng_english --cleaner english \
    "${opts[@]}" ${args[@]+"${args[@]}"}
