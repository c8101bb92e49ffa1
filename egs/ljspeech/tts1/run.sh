#!/usr/bin/env bash
# ljspeech: one English female speaker, LJSpeech 1.1 (13,100 utterances, about 24 h, 22050 Hz WAV).
#   ./run.sh --ljspeech_dir /data/LJSpeech-1.1 --ngpu 1   all stages (1 data ... 9 pack), full-size
#                                   Tacotron2 (conf/train.yaml, for a GPU), Griffin-Lim waveforms
#   ./run.sh --smoke true --ljspeech_dir DIR   every stage with a tiny model on the first 14 utterances
#                                   of DIR (4 held out), on CPU in under a minute: a check of the setup
#                                   (the CI test runs it on a miniature corpus)
#   ./run.sh ... --vocoder_config ../../espeak_emo/tts1/conf/tuning/train_vocoder_hifigan.yaml
#                                   a neural vocoder instead of Griffin-Lim (stage 6)
# Nothing is downloaded: unpack LJSpeech-1.1.tar.bz2 (https://keithito.com/LJ-Speech-Dataset/) and give
# the LJSpeech-1.1 directory (the one with metadata.csv and wavs/; default downloads/LJSpeech-1.1).
# Splits (ESPnet2's): tr_no_dev, dev (250), eval1 (250). Any tts.sh option can be given here; see ./tts.sh --help.
set -euo pipefail

smoke=false
ljspeech_dir=downloads/LJSpeech-1.1
. utils/recipe_options.sh
recipe_parse_options "smoke ljspeech_dir" "$@"
recipe_check_bool smoke
recipe_check_no_space ljspeech_dir

fs=22050
n_fft=1024
n_shift=256

if [ "${smoke}" = true ]; then
    # the first 14 utterances: 10 for training, 2 dev, 2 eval; kept apart from the full run's directories
    opts=(
        --datadir data/smoke --dumpdir dump/smoke --expdir exp/smoke
        --local_data_opts "--ljspeech_dir ${ljspeech_dir} --datadir data/smoke --max_utts 14 --num_dev 2 --num_eval 2"
        --train_config conf/tuning/train_smoke.yaml --inference_config conf/tuning/decode_smoke.yaml
        --nj 2 --inference_nj 1
    )
else
    opts=(
        --local_data_opts "--ljspeech_dir ${ljspeech_dir}"
        --train_config conf/train.yaml --inference_config conf/decode.yaml
        --nj 8 --inference_nj 8
    )
fi

./tts.sh --train_set tr_no_dev --valid_set dev --test_sets eval1 \
    --fs "${fs}" --n_fft "${n_fft}" --n_shift "${n_shift}" \
    --token_type phn --g2p espeak_ng_english --cleaner english \
    "${opts[@]}" ${args[@]+"${args[@]}"}
