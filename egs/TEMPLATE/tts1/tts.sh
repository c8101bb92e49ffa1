#!/usr/bin/env bash
# The shared staged TTS recipe (ESPnet2's egs2/TEMPLATE/tts1/tts.sh shape). Run from a recipe
# directory (egs/<corpus>/tts1) through its run.sh:
#   1 data preparation (local/data.sh)    5 training of the acoustic model (tts_train)
#   2 format/dump (check/resample --fs)   6 training of the neural vocoder (gan_tts_train; skipped
#   3 token list                            without --vocoder_config: Griffin-Lim makes the waveforms),
#                                           then with --vocoder_finetune_config its adversarial fine-tune
#                                           on the acoustic model's teacher-forced train/valid features
#   4 statistics collection (--nj jobs)   7 decoding (tts_inference, split in --inference_nj jobs; the
#                                           test sets also in every emotion and driven by references)
#                                         8 objective evaluation (tts_evaluate, with copy-synthesis)
#                                         9 model packing (pack_model, with the vocoder)
# Teacher-forced decoding of the train and valid sets (a Tacotron2; one function, teacher_forced_decode,
# writes DIR/<set>/{durations,focus_rates,norm,denorm}) serves two users: the vocoder fine-tune of stage
# 6 (into <acoustic model exp>/teacher_forced) and duration models (FastSpeech2/FastSpeech), which
# train on a teacher's durations: --teacher_outdir DIR makes stage 7 decode into DIR; a student run takes them with --teacher_dumpdir DIR (its statistics, stage 4, are
# then token-level pitch/energy in a stats directory of its own; features keep the shared statistics,
# so a neural vocoder trained for the teacher is reused). run.sh --tts_model fastspeech2 chains it all.
# Multi-speaker data: --use_sid true turns each set's utt2spk into speaker ids in stage 2
# (dump/raw/<set>/utt2sid, ids into dump/raw/<train_set>/spk_list, the training set's speakers; a
# speaker of another set that the training set lacks is an error) and trains with --spk_list (the
# model's spks) and utt2sid,sids,text_int data; --use_spembs true uses the speaker vectors of each
# set's spembs.scp (<uid> <vector.npy>, made by the user) as spembs,npy data (the model's tts_conf sets
# spk_embed_dim). Decoding takes each test utterance's speaker from the same files.
# Each training (stages 5 and 6) ends with <exp>/report/report.html, its curves and best epochs
# (espkit.bin.training_report); stage 8 redraws the acoustic model's with the evaluation's figures.
# Each stage logs to a file and leaves a ".done" marker holding a signature of its inputs; a re-run
# with the same inputs skips the stage ("already done"), changed inputs redo it.
set -euo pipefail

log() { echo "$(date '+%Y-%m-%dT%H:%M:%S') (tts.sh:${BASH_LINENO[0]}) $*"; }
min() { local a=$1; shift; for b in "$@"; do [ "$b" -lt "$a" ] && a=$b; done; echo "$a"; }

# General
stage=1              # first stage to run
stop_stage=100       # last stage to run
nj=2                 # parallel jobs for dump and statistics
inference_nj=2       # parallel jobs for decoding
ngpu=0               # GPUs for training (0: CPU)
python=python3
datadir=data         # output of local/data.sh
dumpdir=dump         # formatted data and token lists
expdir=exp           # statistics, models, decoding, evaluation
# Data
local_data_opts=""   # options of local/data.sh
train_set=""         # training set name (in ${datadir})
valid_set=""         # validation set name
test_sets=""         # sets to decode and evaluate (space separated)
# Features
fs=22050             # sampling rate (Hz); audio at another rate is resampled in stage 2
n_fft=1024           # FFT size of the feature extractor
n_shift=256          # frame shift (samples)
# Text
token_type=phn       # char or phn
g2p=espeak_ng_english
cleaner=english
# Training
train_config=""      # training yaml
train_args=""        # extra options of tts_train
tag=""               # experiment name (default: tts_<train_config basename>)
# Teacher durations (duration models)
teacher_dumpdir=""   # DIR/<set>/durations (+ focus_rates) of --train_set/--valid_set: train a duration model on them
teacher_min_focus_rate="" # with --teacher_dumpdir: drop train/valid utterances whose teacher focus rate is below it
teacher_outdir=""    # stage 7 also writes teacher-forced durations of --train_set/--valid_set here (no waveforms)
# Vocoder
vocoder_config=""    # gan_tts_train yaml of the neural vocoder trained in stage 6 ("" = Griffin-Lim)
vocoder_args=""      # extra options of gan_tts_train
vocoder_tag=""       # vocoder experiment name (default: vocoder_<vocoder_config basename without train_vocoder_>)
vocoder_model=valid.generator_mel_loss.best.pth  # the vocoder weights used for decoding and evaluation
vocoder_finetune_config=""  # gan_tts_train yaml of overrides (e.g. optim_conf, discriminator_start_step) applied
                            # to --vocoder_config: stage 6 then fine-tunes the trained vocoder on the teacher-
                            # forced train/valid features of --vocoder_finetune_tts ("" = no fine-tune)
vocoder_finetune_tts=""     # experiment dir of the Tacotron2 whose features the vocoder is fine-tuned on
                            # (default: this run's model; a duration-model student names its teacher)
# Decoding and evaluation
inference_config=""  # decoding yaml
inference_args=""    # extra options of tts_inference
inference_model=valid.loss.best.pth
neutral_emotion=neutral   # text of this emotion is decoded in every emotion (stage 7)
cross_emotion_decode=true # decode the test sentences in all emotions too
reference_emotion_decode=true # ... and driven by a reference utterance of each emotion from another
                          # sentence (models that can take an emotion from a reference)
eval_args=""         # extra options of tts_evaluate
smoke=false          # accepted for symmetry with run.sh (run.sh picks the smoke settings)
# Speakers
use_sid=false        # speaker ids from utt2spk (stage 2 writes utt2sid and spk_list; training gets --spk_list)
use_spembs=false     # speaker embeddings from data/<set>/spembs.scp (<uid> <vector.npy>) as spembs,npy

help_message="Usage: $0 --train_set <set> --valid_set <set> --test_sets \"<sets>\" --train_config <yaml> [options]"
. utils/parse_options.sh
parse_options_no_args "$@"

last_stage=9
# check_int NAME MIN: the option --NAME is an integer >= MIN
check_int() {
    local value=${!1}
    if ! [[ ${value} =~ ^-?[0-9]+$ ]] || [ "${value}" -lt "$2" ]; then
        log "ERROR: --$1 ${value}: must be an integer >= $2"
        exit 1
    fi
}
for _option in stage stop_stage nj inference_nj fs n_fft n_shift; do check_int "${_option}" 1; done
check_int ngpu 0
[ "${stage}" -le "${last_stage}" ] || { log "ERROR: --stage ${stage}: the stages are 1-${last_stage}"; exit 1; }
[ "${stop_stage}" -ge "${stage}" ] || { log "ERROR: --stop_stage ${stop_stage} is below --stage ${stage}"; exit 1; }
case "${token_type}" in char|phn) ;; *) log "ERROR: --token_type ${token_type}: must be char or phn"; exit 1 ;; esac
for _option in smoke cross_emotion_decode reference_emotion_decode use_sid use_spembs; do
    case "${!_option}" in true|false) ;; *) log "ERROR: --${_option} ${!_option}: must be true or false"; exit 1 ;; esac
done

[ -z "${train_set}" ] && { log "ERROR: --train_set is required"; exit 1; }
[ -z "${valid_set}" ] && { log "ERROR: --valid_set is required"; exit 1; }
[ -z "${train_config}" ] && { log "ERROR: --train_config is required"; exit 1; }
[ -f "${train_config}" ] || { log "ERROR: --train_config ${train_config}: file not found"; exit 1; }
[ -n "${inference_config}" ] && [ ! -f "${inference_config}" ] && { log "ERROR: --inference_config ${inference_config}: file not found"; exit 1; }
[ -n "${vocoder_config}" ] && [ ! -f "${vocoder_config}" ] && { log "ERROR: --vocoder_config ${vocoder_config}: file not found"; exit 1; }
if [ -n "${vocoder_finetune_config}" ]; then
    [ -f "${vocoder_finetune_config}" ] || { log "ERROR: --vocoder_finetune_config ${vocoder_finetune_config}: file not found"; exit 1; }
    [ -z "${vocoder_config}" ] && { log "ERROR: --vocoder_finetune_config needs --vocoder_config (the vocoder it fine-tunes)"; exit 1; }
fi
if [ -n "${teacher_min_focus_rate}" ]; then
    if ! [[ ${teacher_min_focus_rate} =~ ^(0(\.[0-9]*)?|1(\.0*)?|\.[0-9]+)$ ]]; then
        log "ERROR: --teacher_min_focus_rate ${teacher_min_focus_rate}: must be a number in [0, 1]"; exit 1
    fi
    [ -z "${teacher_dumpdir}" ] && { log "ERROR: --teacher_min_focus_rate needs --teacher_dumpdir"; exit 1; }
fi
[ -f path.sh ] && . ./path.sh

[ -z "${tag}" ] && tag=tts_$(basename "${train_config}" .yaml)
if [ "${token_type}" = phn ]; then
    token_dir=${dumpdir}/token_list/phn_${g2p}
    stats_dir=${expdir}/tts_stats_raw_phn_${g2p}
else
    token_dir=${dumpdir}/token_list/${token_type}
    stats_dir=${expdir}/tts_stats_raw_${token_type}
fi
token_list=${token_dir}/tokens.txt
# the features' statistics (shared by every model of these features and by the vocoder)
base_stats_dir=${stats_dir}
train_data_dir=${dumpdir}/raw/${train_set}
valid_data_dir=${dumpdir}/raw/${valid_set}
if [ -n "${teacher_dumpdir}" ]; then
    # a duration model: its own data (teacher durations, low focus rates dropped) and statistics
    stats_dir=${stats_dir}_${tag}
    train_data_dir=${teacher_dumpdir}/student_data/${tag}/${train_set}
    valid_data_dir=${teacher_dumpdir}/student_data/${tag}/${valid_set}
fi
tts_exp=${expdir}/${tag}
decode_tag=$( [ -n "${inference_config}" ] && basename "${inference_config}" .yaml || echo decode )_$(basename "${inference_model}" .pth)
eval_name=eval
vocoder_opts=()
synth_vocoder_exp=""
if [ -n "${vocoder_config}" ]; then
    if [ -z "${vocoder_tag}" ]; then
        vocoder_tag=$(basename "${vocoder_config}" .yaml)
        vocoder_tag=vocoder_${vocoder_tag#train_vocoder_}
    fi
    vocoder_exp=${expdir}/${vocoder_tag}
    # the vocoder that decodes: the one trained on the references, or its fine-tune on an acoustic model's
    # teacher-forced features (named after that model: a teacher and its students share it)
    synth_vocoder_exp=${vocoder_exp}
    if [ -n "${vocoder_finetune_config}" ]; then
        finetune_tts_exp=${vocoder_finetune_tts:-${tts_exp}}
        synth_vocoder_exp=${vocoder_exp}_ft_$(basename "${finetune_tts_exp}")
    fi
    vocoder_file=${synth_vocoder_exp}/${vocoder_model}
    vocoder_opts=(--vocoder_file "${vocoder_file}" --vocoder_config "${synth_vocoder_exp}/config.yaml")
    # Griffin-Lim runs keep their directories; a neural vocoder's decodes and evaluation sit beside them
    decode_tag=${decode_tag}_$(basename "${synth_vocoder_exp}")
    eval_name=eval_$(basename "${synth_vocoder_exp}")
fi
text_opts=(--token_type "${token_type}" --cleaner "${cleaner}")
[ "${token_type}" = phn ] && text_opts+=(--g2p "${g2p}")

# --- helpers --------------------------------------------------------------------------------------
# checksum FILE...: one number for the contents of the files (an absent file counts by its name)
checksum() {
    local f
    for f in "$@"; do
        if [ -f "${f}" ]; then cat "${f}"; else echo "<absent ${f}>"; fi
    done | cksum | cut -d' ' -f1
}

# is_done MARKER SIGNATURE: the marker exists and records the same inputs
is_done() { [ -f "$1" ] && [ "$(cat "$1")" = "$2" ]; }
mark_done() { mkdir -p "$(dirname "$1")"; printf '%s' "$2" > "$1"; }

# require FILE STAGE: stop with a clear message when an input of this stage is missing
require() {
    if [ ! -e "$1" ]; then
        log "ERROR: $1 is missing; it is made by stage $2 (run with --stage $2)"
        exit 1
    fi
}

# run_logged LOG CMD...: run CMD with its output in LOG; on failure show the end of LOG and stop
run_logged() {
    local logfile=$1; shift
    mkdir -p "$(dirname "${logfile}")"
    { echo "# $*"; echo "# started at $(date)"; } > "${logfile}"
    if ! "$@" >> "${logfile}" 2>&1; then
        log "ERROR: command failed: $*"
        tail -n 20 "${logfile}" | sed 's/^/    /' >&2
        log "ERROR: see ${logfile}"
        exit 1
    fi
    echo "# ended at $(date)" >> "${logfile}"
}

# training_report EXP [if_missing]: EXP/report/report.html, the run's curves, best epochs and evaluation
# (espkit.bin.training_report, docs/training_report.md); with if_missing only when there is none yet. A
# failure is a warning, not the end of the recipe: the trained model is what the later stages need.
training_report() {
    local exp=$1 logfile=$1/logs/report.log
    [ "${2:-}" = if_missing ] && [ -f "${exp}/report/report.html" ] && return 0
    if ! ${python} -c "import matplotlib" 2> /dev/null; then
        log "Training report of ${exp}: skipped, matplotlib is not installed (pip install 'espkit[plot]')"
        return 0
    fi
    mkdir -p "${exp}/logs"
    if ${python} -m espkit.bin.training_report "${exp}" > "${logfile}" 2>&1; then
        log "Training report: ${exp}/report/report.html"
    else
        log "WARNING: the training report of ${exp} failed (see ${logfile}); the training itself is done"
    fi
}

# data triples of a dumped set for tts_train/tts_inference: --<prefix>data_path_and_name_and_type ...
data_opts() {
    local prefix=$1 dir=$2 suffix=${3:-}
    echo "--${prefix}data_path_and_name_and_type ${dir}/wav.scp${suffix},speech,sound"
    echo "--${prefix}data_path_and_name_and_type ${dir}/text${suffix},text,text"
    [ -f "${dir}/utt2emo${suffix//JOB/1}" ] && echo "--${prefix}data_path_and_name_and_type ${dir}/utt2emo${suffix},emo_labs,text"
    [ -f "${dir}/durations${suffix//JOB/1}" ] && echo "--${prefix}data_path_and_name_and_type ${dir}/durations${suffix},durations,text_int"
    speaker_data "${dir}" "${suffix}" "${prefix}"
}

# speaker_data DIR [SUFFIX [PREFIX]]: the speaker data triples of a dumped set (--use_sid: utt2sid as
# sids; --use_spembs: spembs.scp as spembs) as --<prefix>data_path_and_name_and_type options
speaker_data() {
    local dir=$1 suffix=${2:-} prefix=${3:-}
    [ "${use_sid}" = true ] && echo "--${prefix}data_path_and_name_and_type ${dir}/utt2sid${suffix},sids,text_int"
    [ "${use_spembs}" = true ] && echo "--${prefix}data_path_and_name_and_type ${dir}/spembs.scp${suffix},spembs,npy"
    true
}

# subset_speaker_data DIR KEYS OUT: speaker_data of the utterances in KEYS only (the lines of DIR's speaker
# files whose uid is in KEYS, written to OUT.utt2sid / OUT.spembs.scp: all data files of a decode hold
# the same uids)
subset_speaker_data() {
    local dir=$1 keys=$2 out=$3
    if [ "${use_sid}" = true ]; then
        awk 'NR == FNR {keep[$1] = 1; next} ($1 in keep)' "${keys}" "${dir}/utt2sid" > "${out}.utt2sid"
        echo "--data_path_and_name_and_type ${out}.utt2sid,sids,text_int"
    fi
    if [ "${use_spembs}" = true ]; then
        awk 'NR == FNR {keep[$1] = 1; next} ($1 in keep)' "${keys}" "${dir}/spembs.scp" > "${out}.spembs.scp"
        echo "--data_path_and_name_and_type ${out}.spembs.scp,spembs,npy"
    fi
    true
}

# speaker_signature DIR...: the speaker data of the DIRs (and the speaker list) for a stage's signature;
# empty without --use_sid / --use_spembs (single-speaker runs keep their signatures)
speaker_signature() {
    [ "${use_sid}" = true ] || [ "${use_spembs}" = true ] || return 0
    local dir files=()
    for dir in "$@"; do files+=("${dir}/utt2sid" "${dir}/spembs.scp"); done
    echo " speakers sid=${use_sid} spembs=${use_spembs} $(checksum "${files[@]}" "${dumpdir}/raw/${train_set}/spk_list")"
}

# student_data SET: ${teacher_dumpdir}/student_data/${tag}/SET = the dumped SET with the teacher's durations,
# without the utterances whose teacher focus rate is below --teacher_min_focus_rate (listed in
# dropped_low_focus_rate)
student_data() {
    local dset=$1 src=${dumpdir}/raw/$1 teacher=${teacher_dumpdir}/$1 dst=${teacher_dumpdir}/student_data/${tag}/$1
    require "${src}/wav.scp" 2
    if [ ! -f "${teacher}/durations" ]; then
        log "ERROR: --teacher_dumpdir ${teacher_dumpdir}: no ${teacher}/durations (make it with tts.sh --stage 7" \
            "--stop_stage 7 --teacher_outdir ${teacher_dumpdir} on a trained Tacotron2, or run.sh --tts_model fastspeech2)"
        exit 1
    fi
    local marker=${dst}/.data.done
    local signature="min_focus_rate=${teacher_min_focus_rate} $(checksum "${src}"/wav.scp "${src}"/text "${src}"/utt2emo "${teacher}"/durations "${teacher}"/focus_rates)$(speaker_signature "${src}")"
    if is_done "${marker}" "${signature}"; then
        log "Student data ${dset}: already done (${dst}), skipping"
        return
    fi
    local missing
    missing=$(awk 'FILENAME == ARGV[1] {have[$1] = 1; next} !($1 in have) {n++} END {print n + 0}' "${teacher}/durations" "${src}/wav.scp")
    if [ "${missing}" -gt 0 ]; then
        log "ERROR: ${teacher}/durations lacks ${missing} utterance(s) of ${src}/wav.scp: decode the teacher again"
        exit 1
    fi
    mkdir -p "${dst}"
    : > "${dst}/dropped_low_focus_rate"
    if [ -n "${teacher_min_focus_rate}" ]; then
        require "${teacher}/focus_rates" 7
        awk -v m="${teacher_min_focus_rate}" '$2 + 0 < m + 0 {print $1, $2}' "${teacher}/focus_rates" > "${dst}/dropped_low_focus_rate"
    fi
    local f
    for f in wav.scp text utt2emo utt2sid spembs.scp; do
        [ -f "${src}/${f}" ] || continue
        awk 'FILENAME == ARGV[1] {drop[$1] = 1; next} !($1 in drop)' "${dst}/dropped_low_focus_rate" "${src}/${f}" > "${dst}/${f}"
    done
    awk 'FILENAME == ARGV[1] {keep[$1] = 1; next} ($1 in keep)' "${dst}/wav.scp" "${teacher}/durations" > "${dst}/durations"
    log "Student data ${dset}: $(wc -l < "${dst}/dropped_low_focus_rate") of $(wc -l < "${src}/wav.scp") utterances dropped" \
        "(teacher focus rate below ${teacher_min_focus_rate:-none}; list: ${dst}/dropped_low_focus_rate)"
    if [ ! -s "${dst}/wav.scp" ]; then
        log "ERROR: no utterance of ${dset} is left: lower --teacher_min_focus_rate"
        exit 1
    fi
    mark_done "${marker}" "${signature}"
}

run_stage() { [ "${stage}" -le "$1" ] && [ "${stop_stage}" -ge "$1" ]; }

# --- stage 1: data ---------------------------------------------------------------------------------
if run_stage 1; then
    marker=${datadir}/.data.done
    signature="local/data.sh ${local_data_opts} $(checksum local/*.sh local/*.py local/*.txt)"
    outputs_exist=true
    for dset in ${train_set} ${valid_set} ${test_sets}; do
        [ -f "${datadir}/${dset}/wav.scp" ] || outputs_exist=false
    done
    if is_done "${marker}" "${signature}" && [ "${outputs_exist}" = true ]; then
        log "Stage 1: data preparation: already done (${marker}), skipping"
    else
        log "Stage 1: data preparation: local/data.sh ${local_data_opts} (log: ${expdir}/logs/stage1_data.log)"
        require local/data.sh 1
        # shellcheck disable=SC2086
        run_logged "${expdir}/logs/stage1_data.log" local/data.sh ${local_data_opts}
        mark_done "${marker}" "${signature}"
    fi
fi

# --- stage 2: format/dump ----------------------------------------------------------------------------
if run_stage 2; then
    for dset in ${train_set} ${valid_set} ${test_sets}; do
        src=${datadir}/${dset}
        dst=${dumpdir}/raw/${dset}
        require "${src}/wav.scp" 1
        require "${src}/text" 1
        marker=${dst}/.dump.done
        signature="fs=${fs} $(checksum "${src}"/wav.scp "${src}"/segments "${src}"/text "${src}"/utt2emo)"
        if is_done "${marker}" "${signature}"; then
            log "Stage 2: dump ${dset}: already done (${marker}), skipping"
            continue
        fi
        log "Stage 2: dump ${dset}: checking audio at ${fs} Hz with ${nj} jobs -> ${dst}"
        mkdir -p "${dst}"
        if [ -f "${src}/segments" ]; then
            # utterances are stretches of the recordings of wav.scp: split the segments, each job reads all recordings
            split_opts=(--keys "${src}/segments" --split "${src}/segments:${dst}/split/segments.JOB")
            format_opts=(--segments "${dst}/split/segments.JOB" "${src}/wav.scp")
        else
            split_opts=(--keys "${src}/wav.scp" --split "${src}/wav.scp:${dst}/split/wav.JOB.scp")
            format_opts=("${dst}/split/wav.JOB.scp")
        fi
        # pipe entries, segments, other rates and multichannel audio are written to ${dst}/data as mono WAV at --fs
        run_logged "${dst}/logs/format.log" ${python} utils/run_jobs.py --nj "${nj}" "${split_opts[@]}" \
            --log "${dst}/logs/format.JOB.log" --merge "${dst}/split/out.JOB.scp:${dst}/wav.scp" \
            -- ${python} utils/format_wav_scp.py --fs "${fs}" "${format_opts[@]}" "${dst}/split/out.JOB.scp" "${dst}/data"
        for f in text utt2spk spk2utt utt2emo; do
            [ -f "${src}/${f}" ] && cp "${src}/${f}" "${dst}/${f}"
        done
        if [ -f "${dst}/utt2emo" ]; then
            # emotion labels in order of first appearance in the sorted utt2emo of the training set
            awk '!seen[$2]++ {print $2}' "${datadir}/${train_set}/utt2emo" > "${dst}/emo_list"
        fi
        mark_done "${marker}" "${signature}"
    done
fi

# Stage 2, speakers (after the dump, so that they cover the dumped utterances): --use_sid writes each set's
# utt2sid (ids of the training set's speakers, dump/raw/<train_set>/spk_list); --use_spembs copies each
# set's spembs.scp
if run_stage 2 && [ "${use_sid}" = true ]; then
    sid_sets=()
    for dset in ${train_set} ${valid_set} ${test_sets}; do
        require "${datadir}/${dset}/utt2spk" 1
        sid_sets+=(--set "${datadir}/${dset}/utt2spk,${dumpdir}/raw/${dset}/wav.scp,${dumpdir}/raw/${dset}/utt2sid")
    done
    log "Stage 2: speaker ids of the training set's speakers -> ${dumpdir}/raw/${train_set}/spk_list, <set>/utt2sid"
    if ! ${python} utils/make_speaker_ids.py --train_utt2spk "${datadir}/${train_set}/utt2spk" \
        --spk_list "${dumpdir}/raw/${train_set}/spk_list" "${sid_sets[@]}"; then
        log "ERROR: --use_sid true: the speakers of ${datadir} cannot be made into speaker ids (see above)"
        exit 1
    fi
fi
if run_stage 2 && [ "${use_spembs}" = true ]; then
    for dset in ${train_set} ${valid_set} ${test_sets}; do
        src=${datadir}/${dset}/spembs.scp
        dst=${dumpdir}/raw/${dset}
        if [ ! -f "${src}" ]; then
            log "ERROR: --use_spembs true needs ${src}: one '<uid> <speaker vector .npy>' line per utterance"
            exit 1
        fi
        awk 'NR == FNR {keep[$1] = 1; next} ($1 in keep)' "${dst}/wav.scp" "${src}" > "${dst}/spembs.scp"
        missing=$(awk 'NR == FNR {have[$1] = 1; next} !($1 in have) {n++} END {print n + 0}' "${dst}/spembs.scp" "${dst}/wav.scp")
        if [ "${missing}" -gt 0 ]; then
            log "ERROR: ${src} lacks ${missing} utterance(s) of ${dst}/wav.scp: every utterance needs its speaker vector"
            exit 1
        fi
    done
    log "Stage 2: speaker embeddings: ${datadir}/<set>/spembs.scp -> ${dumpdir}/raw/<set>/spembs.scp"
fi

# --- stage 3: token list -----------------------------------------------------------------------------
if run_stage 3; then
    require "${dumpdir}/raw/${train_set}/text" 2
    marker=${token_dir}/.token_list.done
    signature="${text_opts[*]} $(checksum "${dumpdir}/raw/${train_set}/text")"
    if is_done "${marker}" "${signature}"; then
        log "Stage 3: token list: already done (${token_list}), skipping"
    else
        log "Stage 3: token list (${token_type}) from ${dumpdir}/raw/${train_set}/text -> ${token_list}"
        mkdir -p "${token_dir}"
        run_logged "${token_dir}/logs/tokenize.log" ${python} -m espkit.bin.tokenize_text "${text_opts[@]}" \
            --input "${dumpdir}/raw/${train_set}/text" --output "${token_list}" --field 2- \
            --write_vocabulary true --add_symbol '<blank>:0' --add_symbol '<unk>:1' --add_symbol '<sos/eos>:-1'
        mark_done "${marker}" "${signature}"
    fi
fi

emo_opts=()
[ -f "${dumpdir}/raw/${train_set}/emo_list" ] && emo_opts=(--emo_list "${dumpdir}/raw/${train_set}/emo_list")
spk_opts=()
if [ "${use_sid}" = true ] && { run_stage 4 || run_stage 5; }; then
    require "${dumpdir}/raw/${train_set}/spk_list" 2
    spk_opts=(--spk_list "${dumpdir}/raw/${train_set}/spk_list")
fi
feats_opts=(--feats_extract_conf "fs=${fs}" --feats_extract_conf "n_fft=${n_fft}" --feats_extract_conf "hop_length=${n_shift}")

# --- stage 4: statistics -----------------------------------------------------------------------------
if [ -n "${teacher_dumpdir}" ] && { run_stage 4 || run_stage 5; }; then
    student_data "${train_set}"
    student_data "${valid_set}"
fi
if run_stage 4; then
    train_dir=${train_data_dir}
    valid_dir=${valid_data_dir}
    for f in "${train_dir}/wav.scp" "${valid_dir}/wav.scp"; do require "${f}" 2; done
    require "${token_list}" 3
    marker=${stats_dir}/.stats.done
    signature="${feats_opts[*]} ${train_args} $(checksum "${train_config}" "${token_list}" "${train_dir}"/wav.scp "${valid_dir}"/wav.scp)"
    [ -n "${teacher_dumpdir}" ] && signature="${signature} teacher $(checksum "${train_dir}"/durations "${valid_dir}"/durations)"
    if is_done "${marker}" "${signature}"; then
        log "Stage 4: statistics: already done (${stats_dir}), skipping"
    else
        _nj=$(min "${nj}" "$(wc -l < "${train_dir}/wav.scp")" "$(wc -l < "${valid_dir}/wav.scp")")
        log "Stage 4: statistics with ${_nj} jobs -> ${stats_dir} (logs: ${stats_dir}/logs)"
        rm -rf "${stats_dir}"
        split_opts=()
        for f in wav.scp text utt2emo durations utt2sid spembs.scp; do
            [ -f "${train_dir}/${f}" ] && split_opts+=(--split "${train_dir}/${f}:${stats_dir}/split/train/${f}.JOB")
        done
        run_logged "${stats_dir}/logs/split_train.log" ${python} utils/run_jobs.py --nj "${_nj}" --keys "${train_dir}/wav.scp" "${split_opts[@]}"
        split_opts=()
        for f in wav.scp text utt2emo durations utt2sid spembs.scp; do
            [ -f "${valid_dir}/${f}" ] && split_opts+=(--split "${valid_dir}/${f}:${stats_dir}/split/valid/${f}.JOB")
        done
        run_logged "${stats_dir}/logs/split_valid.log" ${python} utils/run_jobs.py --nj "${_nj}" --keys "${valid_dir}/wav.scp" "${split_opts[@]}"
        # shellcheck disable=SC2046,SC2086
        run_logged "${stats_dir}/logs/stats.log" ${python} utils/run_jobs.py --nj "${_nj}" --log "${stats_dir}/logs/stats.JOB.log" \
            -- ${python} -m espkit.bin.tts_train --collect_stats true --config "${train_config}" \
            --output_dir "${stats_dir}/stats.JOB" --token_list "${token_list}" "${emo_opts[@]}" ${spk_opts[@]+"${spk_opts[@]}"} \
            "${text_opts[@]}" "${feats_opts[@]}" \
            --num_workers 0 --ngpu 0 --normalize none --pitch_normalize none --energy_normalize none \
            $(data_opts train_ "${stats_dir}/split/train" .JOB) $(data_opts valid_ "${stats_dir}/split/valid" .JOB) ${train_args}
        stats_inputs=()
        for job in $(seq 1 "${_nj}"); do stats_inputs+=(--input_dir "${stats_dir}/stats.${job}"); done
        run_logged "${stats_dir}/logs/aggregate.log" ${python} -m espkit.bin.aggregate_stats_dirs "${stats_inputs[@]}" --output_dir "${stats_dir}"
        mark_done "${marker}" "${signature}"
    fi
fi

# --- stage 5: training ---------------------------------------------------------------------------------
if run_stage 5; then
    require "${base_stats_dir}/train/feats_stats.npz" 4
    require "${stats_dir}/train/speech_shape" 4
    prosody_stats_opts=()
    if [ -n "${teacher_dumpdir}" ]; then
        # token-level pitch/energy statistics of this duration model (configs with global_mvn normalisers)
        for f in pitch energy; do
            [ -f "${stats_dir}/train/${f}_stats.npz" ] && prosody_stats_opts+=(--${f}_normalize_conf "stats_file=${stats_dir}/train/${f}_stats.npz")
        done
    fi
    marker=${tts_exp}/.train.done
    signature="${feats_opts[*]} ${train_args} $(checksum "${train_config}" "${token_list}" "${base_stats_dir}/train/feats_stats.npz")"
    signature="${signature}$(speaker_signature "${train_data_dir}" "${valid_data_dir}")"
    if [ -n "${teacher_dumpdir}" ]; then
        signature="${signature} teacher $(checksum "${stats_dir}"/train/*_shape "${stats_dir}"/train/*_stats.npz)"
    fi
    inputs=${tts_exp}/.train.inputs  # the signature the run in ${tts_exp} was started with
    if is_done "${marker}" "${signature}"; then
        log "Stage 5: training: already done (${tts_exp}), skipping"
        training_report "${tts_exp}" if_missing
    else
        recorded=""
        if [ -f "${inputs}" ]; then recorded=$(cat "${inputs}"); elif [ -f "${marker}" ]; then recorded=$(cat "${marker}"); fi
        if [ -f "${tts_exp}/checkpoint.pth" ] && [ -n "${recorded}" ] && [ "${recorded}" != "${signature}" ]; then
            log "ERROR: the inputs of stage 5 (--train_config, token list, statistics or --train_args) changed since" \
                "${tts_exp} was trained; resuming would continue the old run under a new config. Give another" \
                "--tag to train anew beside it, or remove ${tts_exp}"
            exit 1
        fi
        [ -f "${tts_exp}/checkpoint.pth" ] && log "Stage 5: resuming the training in ${tts_exp} from its checkpoint"
        log "Stage 5: training ${tag} with ${train_config} (log: ${tts_exp}/logs/train.log)"
        mkdir -p "${tts_exp}"
        printf '%s' "${signature}" > "${inputs}"
        # shellcheck disable=SC2046,SC2086
        run_logged "${tts_exp}/logs/train.log" ${python} -m espkit.bin.tts_train --config "${train_config}" \
            --output_dir "${tts_exp}" --resume true --ngpu "${ngpu}" --token_list "${token_list}" \
            "${emo_opts[@]}" ${spk_opts[@]+"${spk_opts[@]}"} "${text_opts[@]}" "${feats_opts[@]}" \
            --normalize_conf "stats_file=${base_stats_dir}/train/feats_stats.npz" ${prosody_stats_opts[@]+"${prosody_stats_opts[@]}"} \
            --train_shape_file "${stats_dir}/train/speech_shape" --train_shape_file "${stats_dir}/train/text_shape" \
            --valid_shape_file "${stats_dir}/valid/speech_shape" --valid_shape_file "${stats_dir}/valid/text_shape" \
            $(data_opts train_ "${train_data_dir}") $(data_opts valid_ "${valid_data_dir}") ${train_args}
        mark_done "${marker}" "${signature}"
        training_report "${tts_exp}"
    fi
fi

model_file=${tts_exp}/${inference_model}
decode_opts=()
if [ -n "${inference_config}" ]; then
    # the decoding yaml's keys become tts_inference options (--threshold 0.5 --maxlenratio 10 ...)
    read -r -a decode_opts <<< "$(${python} -c 'import sys, yaml
conf = yaml.safe_load(open(sys.argv[1])) or {}
print(" ".join(f"--{k} {str(v).lower() if isinstance(v, bool) else v}" for k, v in conf.items()))' "${inference_config}")"
fi

# decode_with EXP MODEL VOCODER DIR KEYFILE [options of tts_inference...]: decode KEYFILE with the model
# EXP/config.yaml + MODEL (with this run's vocoder when VOCODER is true), split into jobs whose outputs
# are merged into DIR
decode_with() {
    local exp=$1 model=$2 use_vocoder=$3 dir=$4 keys=$5; shift 5
    local merge_opts=() voc_opts=()
    for f in wav/wav.scp norm/feats.scp denorm/feats.scp focus_rates/focus_rates durations/durations \
        pitch/pitch energy/energy speech_shape/speech_shape; do
        merge_opts+=(--merge "${dir}/output.JOB/${f}:${dir}/${f}")
    done
    [ "${use_vocoder}" = true ] && voc_opts=(${vocoder_opts[@]+"${vocoder_opts[@]}"})
    rm -rf "${dir}"
    mkdir -p "${dir}"
    # shellcheck disable=SC2086
    run_logged "${dir}/logs/inference.log" ${python} utils/run_jobs.py --nj "${inference_nj}" --keys "${keys}" \
        --split "${keys}:${dir}/split/keys.JOB" --log "${dir}/logs/inference.JOB.log" "${merge_opts[@]}" \
        -- ${python} -m espkit.bin.tts_inference --output_dir "${dir}/output.JOB" --train_config "${exp}/config.yaml" \
        --model_file "${model}" --key_file "${dir}/split/keys.JOB" --ngpu 0 "${decode_opts[@]}" \
        ${voc_opts[@]+"${voc_opts[@]}"} "$@" ${inference_args}
}

# decode DIR KEYFILE [options...]: decode with this run's model and vocoder
decode() { decode_with "${tts_exp}" "${model_file}" true "$@"; }

# teacher_forced_decode EXP OUTDIR STAGE: the trained Tacotron2 in EXP decodes --train_set and --valid_set
# teacher-forced (no waveforms) into OUTDIR/<set>: durations and focus_rates (ESPnet's layout of a
# teacher_dumpdir), norm/ and denorm/ features (frame-aligned with the references: the vocoder
# fine-tune's input); skipped when done with the same inputs
teacher_forced_decode() {
    local exp=$1 outdir=$2 stage_no=$3 dset src out marker signature f
    local model=${exp}/${inference_model}
    require "${model}" 5
    require "${exp}/config.yaml" 5
    if [ -f "${exp}/.train.inputs" ] && [ ! -f "${exp}/.train.done" ]; then
        log "ERROR: the training in ${exp} has not finished (no ${exp}/.train.done): run its stage 5 first"
        exit 1
    fi
    for dset in ${train_set} ${valid_set}; do
        src=${dumpdir}/raw/${dset}
        require "${src}/wav.scp" 2
        out=${outdir}/${dset}
        marker=${out}/.decode.done
        signature="teacher_forcing ${inference_args} $(checksum "${model}" "${src}/text" "${src}/wav.scp" "${src}/utt2emo" ${inference_config})$(speaker_signature "${src}")"
        if is_done "${marker}" "${signature}" && [ -f "${out}/durations" ]; then
            log "Stage ${stage_no}: teacher-forced decoding of ${dset}: already done (${out}), skipping"
            continue
        fi
        log "Stage ${stage_no}: teacher-forced decoding of ${dset} by ${exp} (features, durations, focus rates)" \
            "with ${inference_nj} jobs -> ${out}"
        local emo_data=()
        [ -f "${src}/utt2emo" ] && emo_data=(--data_path_and_name_and_type "${src}/utt2emo,emo_labs,text")
        # shellcheck disable=SC2046
        decode_with "${exp}" "${model}" false "${out}" "${src}/text" --data_path_and_name_and_type "${src}/text,text,text" \
            --data_path_and_name_and_type "${src}/wav.scp,speech,sound" "${emo_data[@]}" $(speaker_data "${src}") \
            --use_teacher_forcing true --write_wav false --plot_att_ws false
        for f in durations focus_rates; do  # ESPnet's layout: <teacher_dumpdir>/<set>/durations
            mv "${out}/${f}/${f}" "${out}/${f}.merged" && rmdir "${out}/${f}" && mv "${out}/${f}.merged" "${out}/${f}"
        done
        mark_done "${marker}" "${signature}"
    done
}

# --- stage 6: vocoder training -----------------------------------------------------------------------------
if run_stage 6; then
    if [ -z "${vocoder_config}" ]; then
        log "Stage 6: vocoder training: no --vocoder_config, Griffin-Lim makes the waveforms; skipping"
    else
        require "${base_stats_dir}/train/feats_stats.npz" 4
        marker=${vocoder_exp}/.train.done
        # the vocoder reads the TTS model's statistics, so that the two normalise features alike
        signature="${feats_opts[*]} ${vocoder_args} $(checksum "${vocoder_config}" "${base_stats_dir}/train/feats_stats.npz" "${dumpdir}/raw/${train_set}/wav.scp")"
        inputs=${vocoder_exp}/.train.inputs
        if is_done "${marker}" "${signature}"; then
            log "Stage 6: vocoder training: already done (${vocoder_exp}), skipping"
            training_report "${vocoder_exp}" if_missing
        else
            recorded=""
            if [ -f "${inputs}" ]; then recorded=$(cat "${inputs}"); elif [ -f "${marker}" ]; then recorded=$(cat "${marker}"); fi
            if [ -f "${vocoder_exp}/checkpoint.pth" ] && [ -n "${recorded}" ] && [ "${recorded}" != "${signature}" ]; then
                log "ERROR: the inputs of stage 6 (--vocoder_config, statistics, training data or --vocoder_args) changed" \
                    "since ${vocoder_exp} was trained; resuming would continue the old run under a new config. Give" \
                    "another --vocoder_tag to train anew beside it, or remove ${vocoder_exp}"
                exit 1
            fi
            [ -f "${vocoder_exp}/checkpoint.pth" ] && log "Stage 6: resuming the vocoder training in ${vocoder_exp} from its checkpoint"
            log "Stage 6: training the vocoder ${vocoder_tag} with ${vocoder_config} (log: ${vocoder_exp}/logs/train.log)"
            mkdir -p "${vocoder_exp}"
            printf '%s' "${signature}" > "${inputs}"
            # shellcheck disable=SC2086
            run_logged "${vocoder_exp}/logs/train.log" ${python} -m espkit.bin.gan_tts_train --config "${vocoder_config}" \
                --output_dir "${vocoder_exp}" --resume true --ngpu "${ngpu}" "${feats_opts[@]}" \
                --normalize_conf "stats_file=${base_stats_dir}/train/feats_stats.npz" \
                --train_shape_file "${base_stats_dir}/train/speech_shape" --valid_shape_file "${base_stats_dir}/valid/speech_shape" \
                --train_data_path_and_name_and_type "${dumpdir}/raw/${train_set}/wav.scp,speech,sound" \
                --valid_data_path_and_name_and_type "${dumpdir}/raw/${valid_set}/wav.scp,speech,sound" ${vocoder_args}
            mark_done "${marker}" "${signature}"
            training_report "${vocoder_exp}"
        fi
    fi
    if [ -n "${vocoder_finetune_config}" ]; then
        # The fine-tune: the vocoder above (its last epoch), trained on the features the acoustic model
        # makes from the references' own alignment (teacher forcing, frame-aligned with the waveforms),
        # with --vocoder_finetune_config's overrides (docs/design.md, "Neural vocoders": why).
        teacher_forced=${finetune_tts_exp}/teacher_forced
        teacher_forced_decode "${finetune_tts_exp}" "${teacher_forced}" 6
        ft_exp=${synth_vocoder_exp}
        marker=${ft_exp}/.train.done
        signature="${feats_opts[*]} ${vocoder_args} $(checksum "${vocoder_exp}/.train.done" "${vocoder_config}" \
            "${vocoder_finetune_config}" "${teacher_forced}/${train_set}/.decode.done" "${teacher_forced}/${valid_set}/.decode.done")"
        inputs=${ft_exp}/.train.inputs
        if is_done "${marker}" "${signature}"; then
            log "Stage 6: vocoder fine-tune: already done (${ft_exp}), skipping"
            training_report "${ft_exp}" if_missing
        else
            recorded=""
            if [ -f "${inputs}" ]; then recorded=$(cat "${inputs}"); elif [ -f "${marker}" ]; then recorded=$(cat "${marker}"); fi
            if [ -f "${ft_exp}/checkpoint.pth" ] && [ -n "${recorded}" ] && [ "${recorded}" != "${signature}" ]; then
                log "ERROR: the inputs of the vocoder fine-tune (vocoder, --vocoder_finetune_config or the teacher-forced" \
                    "features) changed since ${ft_exp} was trained; remove ${ft_exp} to fine-tune anew"
                exit 1
            fi
            [ -f "${ft_exp}/checkpoint.pth" ] && log "Stage 6: resuming the vocoder fine-tune in ${ft_exp} from its checkpoint"
            log "Stage 6: fine-tuning ${vocoder_tag} on the teacher-forced features of ${finetune_tts_exp}" \
                "with ${vocoder_finetune_config} (log: ${ft_exp}/logs/train.log)"
            mkdir -p "${ft_exp}"
            printf '%s' "${signature}" > "${inputs}"
            run_logged "${ft_exp}/logs/merge_config.log" ${python} utils/merge_yaml.py "${vocoder_config}" \
                "${vocoder_finetune_config}" --output "${ft_exp}/finetune.yaml"
            # shellcheck disable=SC2086
            run_logged "${ft_exp}/logs/train.log" ${python} -m espkit.bin.gan_tts_train --config "${ft_exp}/finetune.yaml" \
                --output_dir "${ft_exp}" --resume true --ngpu "${ngpu}" "${feats_opts[@]}" \
                --init_param "${vocoder_exp}/latest.pth" \
                --normalize_conf "stats_file=${base_stats_dir}/train/feats_stats.npz" \
                --train_shape_file "${base_stats_dir}/train/speech_shape" --valid_shape_file "${base_stats_dir}/valid/speech_shape" \
                --train_data_path_and_name_and_type "${dumpdir}/raw/${train_set}/wav.scp,speech,sound" \
                --train_data_path_and_name_and_type "${teacher_forced}/${train_set}/denorm/feats.scp,feats,npy" \
                --valid_data_path_and_name_and_type "${dumpdir}/raw/${valid_set}/wav.scp,speech,sound" \
                --valid_data_path_and_name_and_type "${teacher_forced}/${valid_set}/denorm/feats.scp,feats,npy" ${vocoder_args}
            mark_done "${marker}" "${signature}"
            training_report "${ft_exp}"
        fi
    fi
fi

# --- stage 7: decoding ---------------------------------------------------------------------------------
if run_stage 7; then
    require "${model_file}" 5
    require "${tts_exp}/config.yaml" 5
    if [ -n "${vocoder_config}" ]; then
        require "${vocoder_file}" 6
        if [ ! -f "${synth_vocoder_exp}/.train.done" ]; then
            log "ERROR: the vocoder training in ${synth_vocoder_exp} has not finished (no ${synth_vocoder_exp}/.train.done):" \
                "run stage 6 to finish it before decoding"
            exit 1
        fi
    fi
    if [ -f "${tts_exp}/.train.inputs" ] && [ ! -f "${tts_exp}/.train.done" ]; then
        log "ERROR: the training in ${tts_exp} has not finished (stopped or failed; no ${tts_exp}/.train.done):" \
            "run stage 5 to finish it before decoding"
        exit 1
    fi
    if [ -n "${teacher_outdir}" ]; then
        # teacher durations for a duration model (--teacher_dumpdir of its run): features only
        teacher_forced_decode "${tts_exp}" "${teacher_outdir}" 7
    fi
    for dset in ${test_sets}; do
        src=${dumpdir}/raw/${dset}
        require "${src}/text" 2
        out=${tts_exp}/${decode_tag}/${dset}
        marker=${out}/.decode.done
        signature="${inference_args} $(checksum "${model_file}" "${src}/text" "${src}/utt2emo" ${inference_config} ${vocoder_file:-})$(speaker_signature "${src}")"
        if is_done "${marker}" "${signature}"; then
            log "Stage 7: decoding ${dset}: already done (${out}), skipping"
        else
            log "Stage 7: decoding ${dset} with ${inference_nj} jobs -> ${out} (logs: ${out}/logs)"
            emo_data=()
            [ -f "${src}/utt2emo" ] && emo_data=(--data_path_and_name_and_type "${src}/utt2emo,emo_labs,text")
            # shellcheck disable=SC2046
            decode "${out}" "${src}/text" --data_path_and_name_and_type "${src}/text,text,text" "${emo_data[@]}" \
                $(speaker_data "${src}")
            mark_done "${marker}" "${signature}"
        fi
        if [ "${cross_emotion_decode}" = true ] && [ -f "${src}/utt2emo" ] && [ -f "${dumpdir}/raw/${train_set}/emo_list" ]; then
            for emo in $(cat "${dumpdir}/raw/${train_set}/emo_list"); do
                cross=${tts_exp}/${decode_tag}/${dset}_as_${emo}
                marker=${cross}/.decode.done
                if is_done "${marker}" "${signature} neutral_emotion=${neutral_emotion}"; then
                    log "Stage 7: decoding ${dset} (${neutral_emotion} text) as ${emo}: already done, skipping"
                    continue
                fi
                mkdir -p "${cross}"
                awk -v e="${neutral_emotion}" '$2 == e {print $1}' "${src}/utt2emo" > "${cross}.keys"
                if [ ! -s "${cross}.keys" ]; then
                    log "ERROR: ${src}/utt2emo has no '${neutral_emotion}' utterance (--neutral_emotion)"
                    exit 1
                fi
                log "Stage 7: decoding the ${neutral_emotion} text of ${dset} as ${emo} -> ${cross}"
                # shellcheck disable=SC2046
                decode "${cross}" "${cross}.keys" --data_path_and_name_and_type "${src}/text,text,text" --emo_labs "${emo}" \
                    $(speaker_data "${src}")
                mark_done "${marker}" "${signature} neutral_emotion=${neutral_emotion}"
            done
        fi
        if [ "${reference_emotion_decode}" = true ] && [ -f "${src}/utt2emo" ] && [ -f "${dumpdir}/raw/${train_set}/emo_list" ]; then
            if ! ${python} -c 'import sys, yaml
from espkit.tts.espnet_model import reference_sets_emotion
c = yaml.safe_load(open(sys.argv[1]))
sys.exit(0 if reference_sets_emotion(c.get("emo_source", "label"), bool(c.get("emo_extract")), bool(c.get("emo_classifier"))) else 1)' "${tts_exp}/config.yaml"; then
                log "Stage 7: ${tag} cannot take an emotion from a reference (no --emo_extract and --emo_classifier):" \
                    "no reference-driven decoding of ${dset}"
            else
                for emo in $(cat "${dumpdir}/raw/${train_set}/emo_list"); do
                    driven=${tts_exp}/${decode_tag}/${dset}_ref_${emo}
                    marker=${driven}/.decode.done
                    if is_done "${marker}" "${signature} neutral_emotion=${neutral_emotion} $(checksum "${src}/wav.scp")"; then
                        log "Stage 7: decoding ${dset} (${neutral_emotion} text) driven by ${emo} references: already done, skipping"
                        continue
                    fi
                    run_logged "${expdir}/logs/reference_pairs.log" ${python} utils/make_reference_pairs.py \
                        --data_dir "${src}" --emotion "${emo}" --target_emotion "${neutral_emotion}" --output "${driven}.scp"
                    awk 'NR == FNR {keep[$1] = 1; next} ($1 in keep)' "${driven}.scp" "${src}/text" > "${driven}.text"
                    log "Stage 7: decoding the ${neutral_emotion} text of ${dset} driven by ${emo} references of other sentences -> ${driven}"
                    # shellcheck disable=SC2046
                    decode "${driven}" "${driven}.scp" --data_path_and_name_and_type "${driven}.text,text,text" \
                        --data_path_and_name_and_type "${driven}.scp,speech,sound" \
                        $(subset_speaker_data "${src}" "${driven}.scp" "${driven}")
                    cp "${driven}.scp.pairs" "${driven}/reference_pairs"
                    mark_done "${marker}" "${signature} neutral_emotion=${neutral_emotion} $(checksum "${src}/wav.scp")"
                done
            fi
        fi
    done
fi

# --- stage 8: evaluation ---------------------------------------------------------------------------------
if run_stage 8; then
    evaluated=false
    num_test_sets=$(echo ${test_sets} | wc -w)
    for dset in ${test_sets}; do
        out=${tts_exp}/${decode_tag}/${dset}
        require "${out}/wav/wav.scp" 7
        eval_dir=${tts_exp}/${eval_name}
        [ "${num_test_sets}" -gt 1 ] && eval_dir=${tts_exp}/${eval_name}_${dset}
        cross_opts=()
        if [ -f "${dumpdir}/raw/${train_set}/emo_list" ]; then
            for emo in $(cat "${dumpdir}/raw/${train_set}/emo_list"); do
                [ "${cross_emotion_decode}" = true ] && [ -f "${out}_as_${emo}/wav/wav.scp" ] && cross_opts+=(--cross_emotion_dir "${emo}=${out}_as_${emo}")
                if [ "${reference_emotion_decode}" = true ] && [ -f "${out}_ref_${emo}/wav/wav.scp" ]; then
                    cross_opts+=(--ref_emotion_dir "${emo}=${out}_ref_${emo}")
                fi
            done
        fi
        marker=${eval_dir}/.eval.done
        signature="${eval_args} ${cross_opts[*]} $(checksum "${out}"*/.decode.done "${out}"*/wav/wav.scp "${dumpdir}/raw/${dset}/wav.scp" ${vocoder_file:-})"
        if is_done "${marker}" "${signature}"; then
            log "Stage 8: evaluating ${dset}: already done (${eval_dir}/results.md), skipping"
            continue
        fi
        log "Stage 8: evaluating ${dset} -> ${eval_dir}/results.md (log: ${eval_dir}/logs/evaluate.log)"
        inf_conf_opts=()
        [ -n "${inference_config}" ] && inf_conf_opts=(--inference_config "${inference_config}")
        # shellcheck disable=SC2086
        run_logged "${eval_dir}/logs/evaluate.log" ${python} -m espkit.bin.tts_evaluate \
            --ref_dir "${dumpdir}/raw/${dset}" --syn_dir "${out}" --train_dir "${dumpdir}/raw/${train_set}" \
            --train_config "${tts_exp}/config.yaml" "${inf_conf_opts[@]}" "${cross_opts[@]}" ${vocoder_opts[@]+"${vocoder_opts[@]}"} \
            --fs "${fs}" --n_fft "${n_fft}" --n_shift "${n_shift}" --output_dir "${eval_dir}" ${eval_args}
        cat "${eval_dir}/results.md"
        mark_done "${marker}" "${signature}"
        evaluated=true
    done
    # the training report again, now with the evaluation's figures
    if [ "${evaluated}" = true ]; then training_report "${tts_exp}"; fi
fi

# --- stage 9: packing ---------------------------------------------------------------------------------------
if run_stage 9; then
    require "${model_file}" 5
    packed=${tts_exp}/packed/${tag}_$(basename "${inference_model}" .pth)${synth_vocoder_exp:+_$(basename "${synth_vocoder_exp}")}.zip
    marker=${packed}.done
    signature=$(checksum "${model_file}" "${tts_exp}/config.yaml" ${vocoder_file:-})
    [ -n "${vocoder_config}" ] && require "${vocoder_file}" 6
    if is_done "${marker}" "${signature}" && [ -f "${packed}" ]; then
        log "Stage 9: packing: already done (${packed}), skipping"
    else
        log "Stage 9: packing ${model_file} -> ${packed}"
        run_logged "${tts_exp}/logs/pack.log" ${python} -m espkit.bin.pack_model \
            --train_config "${tts_exp}/config.yaml" --model_file "${model_file}" --outpath "${packed}" \
            ${vocoder_opts[@]+"${vocoder_opts[@]}"}
        mark_done "${marker}" "${signature}"
    fi
fi

log "Finished stages ${stage}-${stop_stage} of ${tag}"
