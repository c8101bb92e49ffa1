#!/usr/bin/env bash
# espeak_emo: an emotional English corpus synthesized here with espeak-ng, trained end to end.
#   ./run.sh                    all stages (1 data ... 9 pack), default configuration
#   ./run.sh --smoke true       every stage on 24 utterances with a tiny model (the CI test)
#   ./run.sh --stage 5 --stop_stage 5 --train_config conf/tuning/<other>.yaml
#   ./run.sh --vocoder griffin_lim  waveforms by Griffin-Lim, no vocoder training (stage 6 skipped)
#   ./run.sh --vocoder hifigan      another neural vocoder: conf/tuning/train_vocoder_<name>.yaml
# Any tts.sh option can be given here; see ./tts.sh --help.
set -euo pipefail

smoke=false
vocoder=nsf   # the default neural vocoder (docs/design.md, "Neural vocoders": why this one)
args=()
while [ $# -gt 0 ]; do
    case "$1" in
        --smoke) [ $# -ge 2 ] || { echo "$0: error: option --smoke needs a value (true or false)" >&2; exit 1; }
                 smoke=$2; shift 2 ;;
        --smoke=*) smoke=${1#*=}; shift ;;
        --vocoder) [ $# -ge 2 ] || { echo "$0: error: option --vocoder needs a value" >&2; exit 1; }
                   vocoder=$2; shift 2 ;;
        --vocoder=*) vocoder=${1#*=}; shift ;;
        *) args+=("$1"); shift ;;
    esac
done

case "${smoke}" in
    true|false) ;;
    *) echo "$0: error: --smoke ${smoke}: must be true or false" >&2; exit 1 ;;
esac

case "${vocoder}" in
    griffin_lim) vocoder_config="" ;;
    *) vocoder_config=conf/tuning/train_vocoder_${vocoder}.yaml
       if [ ! -f "${vocoder_config}" ]; then
           echo "$0: error: --vocoder ${vocoder}: no ${vocoder_config}; choose griffin_lim or one of:" \
               "$(cd conf/tuning && ls train_vocoder_*.yaml | sed 's/train_vocoder_//; s/\.yaml//' | grep -v smoke | tr '\n' ' ')" >&2
           exit 1
       fi ;;
esac

fs=22050
n_fft=1024
n_shift=256

if [ "${smoke}" = true ]; then
    # 3 training, 1 dev and 2 eval sentences in 4 emotions (two: references come from another sentence); kept apart from the full run's directories
    opts=(
        --datadir data/smoke --dumpdir dump/smoke --expdir exp/smoke
        --local_data_opts "--datadir data/smoke --train_sentences 3 --dev_sentences 1 --eval_sentences 2"
        --train_config conf/tuning/train_smoke.yaml --inference_config conf/tuning/decode_smoke.yaml
        --eval_args "--max_train_utts 0"
    )
    # every neural vocoder is smoke-tested with one tiny configuration of the default family
    if [ -n "${vocoder_config}" ]; then vocoder_config=conf/tuning/train_vocoder_smoke.yaml; fi
else
    opts=(--train_config conf/train.yaml --inference_config conf/decode.yaml)
fi

./tts.sh \
    --train_set train --valid_set dev --test_sets eval \
    --fs "${fs}" --n_fft "${n_fft}" --n_shift "${n_shift}" \
    --token_type phn --g2p espeak_ng_english --cleaner english \
    --nj 2 --inference_nj 2 --vocoder_config "${vocoder_config}" \
    "${opts[@]}" ${args[@]+"${args[@]}"}
