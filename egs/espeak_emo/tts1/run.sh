#!/usr/bin/env bash
# espeak_emo: an emotional English corpus synthesized here with espeak-ng, trained end to end.
#   ./run.sh                    all stages (1 data ... 9 pack), default configuration
#   ./run.sh --smoke true       every stage on 24 utterances with a tiny model (the CI test)
#   ./run.sh --stage 5 --stop_stage 5 --train_config conf/tuning/<other>.yaml
#   ./run.sh --vocoder griffin_lim  waveforms by Griffin-Lim, no vocoder training (stage 6 skipped)
#   ./run.sh --vocoder hifigan      another neural vocoder: conf/tuning/train_vocoder_<name>.yaml
#   ./run.sh --vocoder_finetune false  the vocoder as trained on the references (default true: then
#                                   fine-tuned on the acoustic model's teacher-forced features with
#                                   conf/tuning/finetune_vocoder_<name>.yaml, where there is one)
#   ./run.sh --tts_model fastspeech2  a FastSpeech2 student (conf/tuning/train_fastspeech2.yaml, tag
#                                   tts_train_fastspeech2) on the durations of the Tacotron2 teacher: the
#                                   teacher is the default model (trained first unless done), decoded
#                                   teacher-forced on train/dev into exp/tts_train/teacher_forced;
#                                   utterances with a teacher focus rate below --teacher_min_focus_rate
#                                   (default 0.5) are left out. --tts_model fastspeech: without pitch/energy.
#   ./run.sh --tts_model fastspeech2 --teacher transformer  the student on the durations of the Transformer-TTS
#                                   below instead (trained first unless done; its tag is shared with it)
#   ./run.sh --tts_model transformer  Transformer-TTS (conf/tuning/train_transformer.yaml, tag
#                                   tts_train_transformer): an attention model trained and decoded like the
#                                   default Tacotron2 (every stage), not a student
# Any tts.sh option can be given here; see ./tts.sh --help.
set -euo pipefail

smoke=false
tts_model=tacotron2       # tacotron2 (the default model), transformer, or fastspeech2 / fastspeech (students of the tacotron2)
teacher=tacotron2         # students: the attention model whose durations they learn (tacotron2 or transformer)
teacher_min_focus_rate="" # students: default 0.5 (smoke: none, its teacher is barely trained)
vocoder=nsf   # the default neural vocoder (docs/design.md, "Neural vocoders": why this one)
vocoder_finetune=true     # fine-tune it on the teacher-forced features of the (teacher) Tacotron2
. utils/recipe_options.sh
recipe_parse_options "smoke tts_model teacher teacher_min_focus_rate vocoder vocoder_finetune" "$@"
recipe_check_bool smoke vocoder_finetune

case "${tts_model}" in
    tacotron2|transformer|fastspeech2|fastspeech) ;;
    *) echo "$0: error: --tts_model ${tts_model}: must be tacotron2, transformer, fastspeech2 or fastspeech" >&2; exit 1 ;;
esac

case "${teacher}" in
    tacotron2|transformer) ;;
    *) echo "$0: error: --teacher ${teacher}: must be tacotron2 or transformer" >&2; exit 1 ;;
esac

if [ -n "${teacher_min_focus_rate}" ] && ! [[ ${teacher_min_focus_rate} =~ ^(0(\.[0-9]*)?|1(\.0*)?|\.[0-9]+)$ ]]; then
    echo "$0: error: --teacher_min_focus_rate ${teacher_min_focus_rate}: must be a number in [0, 1]" >&2; exit 1
fi

vocoder_finetune_config=""
case "${vocoder}" in
    griffin_lim) vocoder_config="" ;;
    *) vocoder_config=conf/tuning/train_vocoder_${vocoder}.yaml
       if [ ! -f "${vocoder_config}" ]; then
           echo "$0: error: --vocoder ${vocoder}: no ${vocoder_config}; choose griffin_lim or one of:" \
               "$(cd conf/tuning && ls train_vocoder_*.yaml | sed 's/train_vocoder_//; s/\.yaml//' | grep -v smoke | tr '\n' ' ')" >&2
           exit 1
       fi
       if [ "${vocoder_finetune}" = true ]; then
           vocoder_finetune_config=conf/tuning/finetune_vocoder_${vocoder}.yaml
           if [ ! -f "${vocoder_finetune_config}" ]; then
               echo "$0: no ${vocoder_finetune_config}: the ${vocoder} vocoder is used as trained on the references" >&2
               vocoder_finetune_config=""
           fi
       fi ;;
esac

fs=22050
n_fft=1024
n_shift=256

if [ "${smoke}" = true ]; then
    # 3 training, 1 dev and 2 eval sentences in 4 emotions (two: references come from another sentence); kept apart from the full run's directories
    expdir=exp/smoke
    opts=(
        --datadir data/smoke --dumpdir dump/smoke --expdir "${expdir}"
        --local_data_opts "--datadir data/smoke --train_sentences 3 --dev_sentences 1 --eval_sentences 2"
        --inference_config conf/tuning/decode_smoke.yaml
        --eval_args "--max_train_utts 0"
    )
    teacher_config=conf/tuning/train_smoke.yaml
    if [ "${teacher}" = transformer ]; then teacher_config=conf/tuning/train_transformer_smoke.yaml; fi
    student_config=conf/tuning/train_${tts_model}_smoke.yaml
    # every neural vocoder is smoke-tested with one tiny configuration of the default family
    if [ -n "${vocoder_config}" ]; then vocoder_config=conf/tuning/train_vocoder_smoke.yaml; fi
    if [ -n "${vocoder_finetune_config}" ]; then vocoder_finetune_config=conf/tuning/finetune_vocoder_smoke.yaml; fi
else
    expdir=exp
    opts=(--inference_config conf/decode.yaml)
    teacher_config=conf/train.yaml
    if [ "${teacher}" = transformer ]; then teacher_config=conf/tuning/train_transformer.yaml; fi
    student_config=conf/tuning/train_${tts_model}.yaml
    teacher_min_focus_rate=${teacher_min_focus_rate:-0.5}
fi

common=(
    --train_set train --valid_set dev --test_sets eval
    --fs "${fs}" --n_fft "${n_fft}" --n_shift "${n_shift}"
    --token_type phn --g2p espeak_ng_english --cleaner english
    --nj 2 --inference_nj 2 "${opts[@]}"
)

# An attention model (the default Tacotron2, or the Transformer with its own config): every stage.
if [ "${tts_model}" = tacotron2 ] || [ "${tts_model}" = transformer ]; then
    model_config=${teacher_config}
    if [ "${tts_model}" = transformer ]; then model_config=${student_config}; fi
    ./tts.sh "${common[@]}" --train_config "${model_config}" --vocoder_config "${vocoder_config}" \
        --vocoder_finetune_config "${vocoder_finetune_config}" ${args[@]+"${args[@]}"}
    exit 0
fi

# A duration model: 1) the teacher (Tacotron2, or --teacher transformer), trained as by a plain ./run.sh
# (same tag: shared, skipped when done); 2) its teacher-forced durations of train/dev; 3) the student, every
# stage, with the vocoder fine-tuned on the teacher's teacher-forced features (the same decode as the
# durations'). A student of the Transformer has its own tag (<student>_transformer_teacher).
teacher_tag=tts_$(basename "${teacher_config}" .yaml)
student_tag=tts_$(basename "${student_config}" .yaml)
if [ "${teacher}" = transformer ]; then student_tag=${student_tag}_transformer_teacher; fi
teacher_dir=${expdir}/${teacher_tag}/teacher_forced
./tts.sh "${common[@]}" ${args[@]+"${args[@]}"} --train_config "${teacher_config}" --tag "${teacher_tag}" \
    --vocoder_config "" --stage 1 --stop_stage 5
./tts.sh "${common[@]}" ${args[@]+"${args[@]}"} --train_config "${teacher_config}" --tag "${teacher_tag}" \
    --vocoder_config "" --stage 7 --stop_stage 7 --test_sets "" --teacher_outdir "${teacher_dir}"
./tts.sh "${common[@]}" --train_config "${student_config}" --tag "${student_tag}" --vocoder_config "${vocoder_config}" \
    --vocoder_finetune_config "${vocoder_finetune_config}" --vocoder_finetune_tts "${expdir}/${teacher_tag}" \
    --teacher_dumpdir "${teacher_dir}" --teacher_min_focus_rate "${teacher_min_focus_rate}" ${args[@]+"${args[@]}"}
