#!/usr/bin/env bash
# Side-by-side benchmark of espkit against the real ESPnet2 on identical work (issue 8).
#
#   bash bench/compare_espnet.sh                      # everything, appends a section to docs/benchmarks.md
#   STAGES="train report" WRITE=none bash bench/compare_espnet.sh   # some stages, print only
#
# Follows ../shared/anchors/espnet/PROTOCOL.md ($ESPNET_ANCHORS): the 330-sentence espeak-ng corpus,
# the anchor's small Tacotron2 config, ESPnet2's numel batches (the same 19 batches and the same 50-step
# order for both toolkits), 2 threads, 2 epochs x 25 steps, Griffin-Lim 32 iterations, the idle-machine
# guard, and each timed process run alternately: ESPnet2, espkit, ESPnet2, espkit (RUNS=2).
#
# Stages (STAGES, in this order):
#   install  ESPnet2 venv with the anchor's setup_venv.sh (reused when it imports), and a fresh espkit
#            venv (same torch wheel, then `pip install` of this repo, timed); sizes without torch
#   corpus   make_corpus.py from the anchors (reused when present; md5s checked)
#   prep     token list (ESPnet2's tokenize_text, used by both), collect-stats + aggregate of each
#            toolkit (timed, guarded), batch_bins (anchor's pick_batch_bins.py), ESPnet2's batch order
#            (espnet_batches.py) and whether espkit's sampler/order agree (espkit_batches.py)
#   train    RUNS x (ESPnet2 tts_train, espkit tts_train fed ESPnet2's batch order), guarded
#   startup  REPEATS x `import torch`, `import <tk>.tasks.tts`, `tts_train --help`, `--print_config`
#   infer    RUNS x Text2Speech import/load/RTF (infer_bench.py) on the 20 eval sentences
#   profile  torch profiler of one espkit training step (profile_step.py)
#   report   summarize.py: prints the table, appends it to $WRITE (unless WRITE=none); notes come from
#            results/divergences.txt (written by prep) and, when present, the hand-written interpretation
#            results/profile_findings.md
#
# Everything lives under $ESPKIT_BENCH_DIR (default /tmp/espkit_bench), never in the repo.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
HERE=${REPO}/bench/compare_espnet
ESPNET_ANCHORS=$(cd "${ESPNET_ANCHORS:-${REPO}/../shared/anchors/espnet}" && pwd)
ESPKIT_BENCH_DIR=${ESPKIT_BENCH_DIR:-/tmp/espkit_bench}
WORK=${WORK:-${ESPKIT_BENCH_DIR}/compare}
RUNS=${RUNS:-2}
REPEATS=${REPEATS:-5}
TRIES=${TRIES:-3}
MAX_WAIT=${MAX_WAIT:-300}
WRITE=${WRITE:-${REPO}/docs/benchmarks.md}
STAGES=${STAGES:-install corpus prep train startup infer profile report}
SENTENCES=${SENTENCES:-${ESPNET_ANCHORS}/../../data/harvard_sentences.txt}
THREADS=2
export OMP_NUM_THREADS=${THREADS} MKL_NUM_THREADS=${THREADS} OPENBLAS_NUM_THREADS=${THREADS} NUMEXPR_NUM_THREADS=${THREADS}
export ESPNET_ANCHORS PYTHONDONTWRITEBYTECODE=1

ESPNET_VENV=${ESPKIT_BENCH_DIR}/venv-espnet
ESPKIT_VENV=${ESPKIT_BENCH_DIR}/venv-espkit
EN_PY=${ESPNET_VENV}/bin/python
EK_PY=${ESPKIT_VENV}/bin/python
CORPUS=${ESPKIT_BENCH_DIR}/corpus/harvard330
DATA=${WORK}/data  # the corpus data dirs with the text cleaned once by ESPnet2's tacotron cleaner (prep)
RES=${WORK}/results
LOGS=${WORK}/logs
TOKENS=${WORK}/tokens.txt
EN_CONF=${ESPNET_ANCHORS}/conf/train_tacotron2_small.yaml
EK_CONF=${WORK}/conf/train_tacotron2_small.espkit.yaml
VOC_CONF=${ESPNET_ANCHORS}/conf/vocoder_griffin_lim32.yaml
EN_STATS=${WORK}/espnet_stats
EK_STATS=${WORK}/espkit_stats
GUARD=(python3 "${HERE}/guard.py")
mkdir -p "${RES}" "${LOGS}" "${WORK}/conf" "${WORK}/exp"

log() { echo "$(date +%H:%M:%S) [compare_espnet] $*" >&2; }
want() { [[ " ${STAGES} " == *" $1 "* ]]; }
divergence() { echo "$*" >> "${RES}/divergences.txt"; }

# data options (text first, then speech: the order of ESPnet's tts.sh)
data_opts() {  # data_opts PREFIX SPLIT
    echo "--${1}_data_path_and_name_and_type ${DATA}/${2}/text,text,text --${1}_data_path_and_name_and_type ${DATA}/${2}/wav.scp,speech,sound"
}
TEXT_OPTS=(--token_type char --token_list "${TOKENS}" --cleaner none --g2p none)

# --------------------------------------------------------------------------------------------- install
venv_sizes() {  # venv_sizes VENV -> "total_bytes torch_bytes torch_deps_bytes" (files each wheel's RECORD lists)
    "$1/bin/python" - <<'EOF'
import os, re, sys, importlib.metadata as md
def size(path):
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(path) for f in fs
               if not os.path.islink(os.path.join(d, f)))
def dist_size(dist):
    return sum(os.path.getsize(f.locate()) for f in (dist.files or []) if os.path.isfile(f.locate()))
def closure(name):
    seen, todo = set(), [name]
    while todo:
        n = re.sub(r"[-_.]+", "-", todo.pop()).lower()
        if n in seen:
            continue
        try:
            dist = md.distribution(n)
        except md.PackageNotFoundError:
            continue
        seen.add(n)
        for r in dist.requires or []:
            if "extra ==" in r.replace('"', "").replace("'", "") or "extra==" in r:
                continue
            todo.append(re.split(r"[<>=!~;\[ (]", r, maxsplit=1)[0])
    return seen
deps = closure("torch") - {"torch"}
print(size(sys.prefix), dist_size(md.distribution("torch")), sum(dist_size(md.distribution(d)) for d in deps))
EOF
}

if want install; then
    log "ESPnet2 venv: ${ESPNET_VENV} (anchor setup_venv.sh; reused if it imports)"
    ANCHORS=${ESPKIT_BENCH_DIR} VENV=${ESPNET_VENV} bash "${ESPNET_ANCHORS}/setup_venv.sh" > "${LOGS}/setup_venv_espnet.log" 2>&1 \
        || { tail -30 "${LOGS}/setup_venv_espnet.log"; exit 1; }
    summary=${ESPKIT_BENCH_DIR}/logs/setup_venv.summary
    en_install_s=$(sed -n 's/^pip_espnet_and_deps_s=//p' "${summary}")
    read -r en_total en_torch en_tdeps <<< "$(venv_sizes "${ESPNET_VENV}")"
    en_version=$("${EN_PY}" -c 'import importlib.metadata as m; print(m.version("espnet"))')
    en_first_s=${en_install_s}
    if [ "${ESPNET_TIMED_REINSTALL:-1}" = 1 ]; then
        # time ESPnet2's install again, like espkit's: fresh venv with torch already in (untimed), pip's cache warm
        log "ESPnet2 timed re-install into a throwaway venv (warm pip cache, like espkit's)"
        tv=${ESPKIT_BENCH_DIR}/venv-espnet-timing
        rm -rf "${tv}"
        python3 -m venv "${tv}"
        "${tv}/bin/pip" install -q -c "${ESPKIT_BENCH_DIR}/torch-constraint.txt" "$(cat "${ESPKIT_BENCH_DIR}/torch-constraint.txt")" \
            > "${LOGS}/pip_torch_espnet_timing.log" 2>&1
        t0=$(date +%s.%N)
        { "${tv}/bin/pip" install --no-deps "espnet==${en_version}" \
            && "${tv}/bin/pip" install -c "${ESPKIT_BENCH_DIR}/torch-constraint.txt" -r "${ESPKIT_BENCH_DIR}/espnet-runtime-reqs.txt"; } \
            > "${LOGS}/pip_espnet_timing.log" 2>&1 || { tail -20 "${LOGS}/pip_espnet_timing.log"; exit 1; }
        t1=$(date +%s.%N)
        en_install_s=$(python3 -c 'import sys; print(float(sys.argv[2]) - float(sys.argv[1]))' "${t0}" "${t1}")
        rm -rf "${tv}"
    fi
    python3 - "${RES}/install_espnet.json" "${en_install_s}" "${en_total}" "${en_torch}" "${en_version}" "${en_tdeps}" "${en_first_s}" <<'EOF'
import json, sys
out, s, total, torch, v, tdeps, first = sys.argv[1:]
json.dump(dict(install_s=float(s), install_first_build_s=float(first), size_total_MiB=int(total) / 2**20, size_without_torch_MiB=(int(total) - int(torch)) / 2**20,
               size_without_torch_and_deps_MiB=(int(total) - int(torch) - int(tdeps)) / 2**20,
               version=v, what=f"espnet {v} --no-deps + its runtime requirements + torchaudio + matplotlib (the anchor's "
               f"setup_venv.sh; install time of a re-install into a fresh venv with torch already in and pip's cache "
               f"warm; its first build, downloads included, took {float(first):.1f} s)"),
          open(out, "w"), indent=1)
EOF
    log "espkit venv: ${ESPKIT_VENV} (fresh; torch wheel untimed, then pip install of ${REPO}, timed)"
    rm -rf "${ESPKIT_VENV}" "${WORK}/espkit_src"
    python3 -m venv "${ESPKIT_VENV}"
    echo "torch==$("${EN_PY}" -c 'import torch; print(torch.__version__)')" > "${WORK}/torch-constraint.txt"
    "${ESPKIT_VENV}/bin/pip" install -q -c "${WORK}/torch-constraint.txt" "$(cat "${WORK}/torch-constraint.txt")" > "${LOGS}/pip_torch_espkit.log" 2>&1
    # a copy of what the package build reads, so that pip's build leaves nothing in the working tree
    mkdir -p "${WORK}/espkit_src"
    cp -r "${REPO}/setup.py" "${REPO}/README.md" "${REPO}/espkit" "${WORK}/espkit_src/"
    [ -f "${REPO}/pyproject.toml" ] && cp "${REPO}/pyproject.toml" "${WORK}/espkit_src/"
    find "${WORK}/espkit_src" -name __pycache__ -prune -exec rm -rf {} +
    t0=$(date +%s.%N)
    "${ESPKIT_VENV}/bin/pip" install -c "${WORK}/torch-constraint.txt" "${WORK}/espkit_src" > "${LOGS}/pip_espkit.log" 2>&1 \
        || { tail -30 "${LOGS}/pip_espkit.log"; exit 1; }
    t1=$(date +%s.%N)
    read -r ek_total ek_torch ek_tdeps <<< "$(venv_sizes "${ESPKIT_VENV}")"
    ek_version=$("${EK_PY}" -c 'import importlib.metadata as m; print(m.version("espkit"))')
    python3 - "${RES}/install_espkit.json" "${t0}" "${t1}" "${ek_total}" "${ek_torch}" "${ek_version}" "${ek_tdeps}" <<'EOF'
import json, sys
out, t0, t1, total, torch, v, tdeps = sys.argv[1:]
json.dump(dict(install_s=float(t1) - float(t0), size_total_MiB=int(total) / 2**20,
               size_without_torch_MiB=(int(total) - int(torch)) / 2**20,
               size_without_torch_and_deps_MiB=(int(total) - int(torch) - int(tdeps)) / 2**20, version=v,
               what=f"`pip install` of this repo (espkit {v}, no extras) into a fresh venv that already has the "
               "same torch wheel; pip's cache as this machine has it"),
          open(out, "w"), indent=1)
EOF
    cat "${RES}/install_espnet.json" "${RES}/install_espkit.json"
fi
[ -x "${EN_PY}" ] && [ -x "${EK_PY}" ] || { echo "no venvs under ${ESPKIT_BENCH_DIR}: run the install stage" >&2; exit 1; }

# ---------------------------------------------------------------------------------------------- corpus
if want corpus; then
    if [ -f "${CORPUS}/wav.md5" ] && [ "$(ls "${CORPUS}/wav" | wc -l)" = 330 ]; then
        log "corpus: reusing ${CORPUS} (checking md5s)"
        (cd "${CORPUS}/wav" && md5sum --quiet -c ../wav.md5)
    else
        log "corpus: espeak-ng 330 Harvard sentences -> ${CORPUS}"
        espeak-ng --version
        python3 "${ESPNET_ANCHORS}/make_corpus.py" --sentences "${SENTENCES}" --out "${CORPUS}" > "${LOGS}/make_corpus.log"
    fi
fi

# ------------------------------------------------------------------------------------------------ prep
if want prep; then
    rm -f "${RES}/divergences.txt"
    # The text is cleaned once here with ESPnet2's cleaner and both toolkits read it uncleaned, so that the
    # per-utterance cleaning is out of both timings (espkit's `tacotron` cleaner now follows ESPnet2's).
    log "prep: text cleaned with ESPnet2's tacotron cleaner -> ${DATA} (both toolkits: --cleaner none)"
    for split in train dev eval; do
        mkdir -p "${DATA}/${split}"
        cp "${CORPUS}/data/${split}/"{wav.scp,utt2spk,spk2utt} "${DATA}/${split}/"
    done
    "${EN_PY}" - "${CORPUS}/data" "${DATA}" <<'EOF'
import sys
from espnet2.text.cleaner import TextCleaner
cleaner = TextCleaner(["tacotron"])
for split in ("train", "dev", "eval"):
    with open(f"{sys.argv[1]}/{split}/text", encoding="utf-8") as fin, open(f"{sys.argv[2]}/{split}/text", "w", encoding="utf-8") as fout:
        for line in fin:
            uid, _, text = line.rstrip("\n").partition(" ")
            fout.write(f"{uid} {cleaner(text)}\n")
EOF
    "${EK_PY}" - "${CORPUS}/data/train/text" "${DATA}/train/text" <<'EOF' >> "${RES}/divergences.txt"
import sys
from espkit.text.cleaner import TextCleaner
raw = [l.rstrip("\n").partition(" ")[2] for l in open(sys.argv[1], encoding="utf-8")]
ref = [l.rstrip("\n").partition(" ")[2] for l in open(sys.argv[2], encoding="utf-8")]
c = TextCleaner("tacotron")
same = sum(c(r) == e for r, e in zip(raw, ref))
print(f"Text: cleaned once with ESPnet2's `tacotron` cleaner; both toolkits run with `--cleaner none`, so the token ids are "
      f"identical (the per-utterance cleaning is out of both runs). espkit's own `tacotron` cleaner agrees with ESPnet2's on "
      f"{same} of {len(raw)} train sentences, e.g. {raw[0]!r} -> espkit {c(raw[0])!r}, ESPnet2 {ref[0]!r}.")
EOF
    log "prep: token list (ESPnet2's tokenize_text, char; used by both toolkits)"
    "${EN_PY}" -m espnet2.bin.tokenize_text --token_type char --input "${DATA}/train/text" --output "${TOKENS}" \
        --field 2- --cleaner none --write_vocabulary true \
        --add_symbol '<blank>:0' --add_symbol '<unk>:1' --add_symbol '<sos/eos>:-1' > "${LOGS}/tokenize_espnet.log" 2>&1
    "${EK_PY}" -m espkit.bin.tokenize_text --token_type char --input "${DATA}/train/text" --output "${WORK}/tokens.espkit.txt" \
        --field 2- --write_vocabulary true \
        --add_symbol '<blank>:0' --add_symbol '<unk>:1' --add_symbol '<sos/eos>:-1' > "${LOGS}/tokenize_espkit.log" 2>&1 || true
    if ! cmp -s "${TOKENS}" "${WORK}/tokens.espkit.txt" && cmp -s <(sort "${TOKENS}") <(sort "${WORK}/tokens.espkit.txt"); then
        divergence "espkit's tokenize_text gives the same $(wc -l < "${TOKENS}") tokens as ESPnet2's but orders equally frequent ones differently; both runs use ESPnet2's list."
    elif ! cmp -s "${TOKENS}" "${WORK}/tokens.espkit.txt"; then
        divergence "espkit's tokenize_text gives a different token list than ESPnet2's (diff in ${WORK}); both runs use ESPnet2's ($(wc -l < "${TOKENS}") entries)."
    fi
    # the anchor config minus keys espkit does not know (logging side channels only; recorded)
    cp "${EN_CONF}" "${EK_CONF}"
    for _ in 1 2 3 4 5 6; do
        err=$("${EK_PY}" -m espkit.bin.tts_train --config "${EK_CONF}" --print_config 2>&1 >/dev/null || true)
        key=$(sed -n "s/.*unknown key '\([A-Za-z_0-9]*\)'.*/\1/p" <<< "${err}" | head -1)
        [ -z "${key}" ] && break
        grep -v "^${key}:" "${EK_CONF}" > "${EK_CONF}.tmp" && mv "${EK_CONF}.tmp" "${EK_CONF}"
        divergence "espkit's config drops \`${key}: $(sed -n "s/^${key}: *\([^ #]*\).*/\1/p" "${EN_CONF}")\` of the anchor config (an option espkit does not have)."
    done

    log "prep: ESPnet2 collect-stats + aggregate (nj=1, guarded)"
    rm -rf "${EN_STATS}"
    # shellcheck disable=SC2046
    "${GUARD[@]}" run --out "${RES}/prep_espnet.json" --log "${LOGS}/prep_espnet.log" --tries "${TRIES}" --max_wait "${MAX_WAIT}" -- \
        bash -c "set -e; '${EN_PY}' -m espnet2.bin.tts_train --collect_stats true --config '${EN_CONF}' \
            --output_dir '${EN_STATS}/stats.1' --use_preprocessor true ${TEXT_OPTS[*]} --normalize none \
            $(data_opts train train) $(data_opts valid dev) --train_shape_file '${DATA}/train/wav.scp' \
            --valid_shape_file '${DATA}/dev/wav.scp' --ngpu 0 --num_workers 0; \
            '${EN_PY}' -m espnet2.bin.aggregate_stats_dirs --input_dir '${EN_STATS}/stats.1' --output_dir '${EN_STATS}'"
    ntok=$(wc -l < "${TOKENS}")
    for split in train valid; do
        awk -v N="${ntok}" '{ print $0 "," N }' "${EN_STATS}/${split}/text_shape" > "${EN_STATS}/${split}/text_shape.char"
    done

    # (espkit's stats collection reads every utterance once whatever num_iters_per_epoch says, as ESPnet2's)
    if "${EK_PY}" -c 'import sys; from espkit.torch_utils.host_allocator import find_jemalloc; sys.exit(find_jemalloc() is None)'; then
        divergence "Allocator: espkit's training entry point re-executes itself with jemalloc preloaded when the library is installed (tools/install.sh installs Debian's libjemalloc2; MALLOC_CONF dirty_decay_ms:10000,muzzy_decay_ms:0), so the espkit training process runs on jemalloc; ESPnet2's runs on glibc's malloc. Same work; the peak RSS and step time depend on it (docs/benchmarks.md, findings)."
    fi
    log "prep: espkit collect-stats + aggregate (nj=1, guarded)"
    rm -rf "${EK_STATS}"
    # shellcheck disable=SC2046
    "${GUARD[@]}" run --out "${RES}/prep_espkit.json" --log "${LOGS}/prep_espkit.log" --tries "${TRIES}" --max_wait "${MAX_WAIT}" -- \
        bash -c "set -e; '${EK_PY}' -m espkit.bin.tts_train --collect_stats true --config '${EK_CONF}' \
            --output_dir '${EK_STATS}/stats.1' ${TEXT_OPTS[*]} --normalize none \
            $(data_opts train train) $(data_opts valid dev) --ngpu 0 --num_workers 0; \
            '${EK_PY}' -m espkit.bin.aggregate_stats_dirs --input_dir '${EK_STATS}/stats.1' --output_dir '${EK_STATS}'"
    "${EK_PY}" - "${EN_STATS}/train/feats_stats.npz" "${EK_STATS}/train/feats_stats.npz" "${RES}/stats_check.json" <<'EOF'
import json, sys
import numpy as np
def ms(path):
    d = np.load(path)
    mean = d["sum"] / d["count"]
    return int(d["count"]), mean, np.sqrt(np.maximum(d["sum_square"] / d["count"] - mean**2, 1e-20))
ce, me, se = ms(sys.argv[1]); ck, mk, sk = ms(sys.argv[2])
res = dict(frames_espnet=ce, frames_espkit=ck, max_abs_mean_diff=float(np.abs(me - mk).max()),
           max_rel_std_diff=float(np.abs(se / sk - 1).max()))
json.dump(res, open(sys.argv[3], "w"), indent=1)
print(res)
EOF

    log "prep: batch_bins (anchor pick_batch_bins.py) and ESPnet2's batch order"
    "${EN_PY}" "${ESPNET_ANCHORS}/pick_batch_bins.py" --shape_file "${EN_STATS}/train/text_shape.char" \
        --shape_file "${EN_STATS}/train/speech_shape" > "${RES}/batch_bins.json"
    cat "${RES}/batch_bins.json"
    BB=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["batch_bins"])' "${RES}/batch_bins.json")
    "${EN_PY}" "${HERE}/espnet_batches.py" --shape_file "${EN_STATS}/train/text_shape.char" \
        --shape_file "${EN_STATS}/train/speech_shape" --batch_bins "${BB}" --num_iters_per_epoch 25 --max_epoch 2 \
        --seed 0 --out "${WORK}/espnet_batches.json"
    "${EK_PY}" "${HERE}/espkit_batches.py" --espnet_batches "${WORK}/espnet_batches.json" --out "${RES}/batch_check.json"
fi
BB=
if [ -f "${RES}/batch_bins.json" ]; then
    BB=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["batch_bins"])' "${RES}/batch_bins.json")
elif want train || want report; then
    echo "${RES}/batch_bins.json is missing: run the prep stage first" >&2; exit 1
fi

# ----------------------------------------------------------------------------------------------- train
# shellcheck disable=SC2046
SHAPE_OPTS=(--train_shape_file "${EN_STATS}/train/text_shape.char" --train_shape_file "${EN_STATS}/train/speech_shape"
            --valid_shape_file "${EN_STATS}/valid/text_shape.char" --valid_shape_file "${EN_STATS}/valid/speech_shape")
train_espnet() {  # RUN
    local out=${WORK}/exp/espnet_run$1
    rm -rf "${out}"
    # shellcheck disable=SC2046
    "${GUARD[@]}" run --out "${RES}/train_espnet_run$1.json" --log "${LOGS}/train_espnet_run$1.log" \
        --tries "${TRIES}" --max_wait "${MAX_WAIT}" --fresh_dir "${out}" -- \
        "${EN_PY}" -m espnet2.bin.tts_train --config "${EN_CONF}" --output_dir "${out}" --use_preprocessor true \
        "${TEXT_OPTS[@]}" --normalize_conf "stats_file=${EN_STATS}/train/feats_stats.npz" --batch_bins "${BB}" \
        "${SHAPE_OPTS[@]}" $(data_opts train train) $(data_opts valid dev) --ngpu 0 --num_workers 0 --resume false
}
train_espkit() {  # RUN
    local out=${WORK}/exp/espkit_run$1
    rm -rf "${out}"
    # shellcheck disable=SC2046
    "${GUARD[@]}" run --out "${RES}/train_espkit_run$1.json" --log "${LOGS}/train_espkit_run$1.log" \
        --tries "${TRIES}" --max_wait "${MAX_WAIT}" --fresh_dir "${out}" -- \
        "${EK_PY}" "${HERE}/espkit_train.py" --batch_order "${WORK}/espnet_batches.json" \
        --step_log "${RES}/steps_espkit_run$1.json" -- \
        --config "${EK_CONF}" --output_dir "${out}" \
        "${TEXT_OPTS[@]}" --normalize_conf "stats_file=${EK_STATS}/train/feats_stats.npz" --batch_bins "${BB}" \
        "${SHAPE_OPTS[@]}" $(data_opts train train) $(data_opts valid dev) --ngpu 0 --num_workers 0 --resume false
}
if want train; then
    for run in $(seq 1 "${RUNS}"); do
        log "train run ${run}/${RUNS}: ESPnet2"; train_espnet "${run}"
        log "train run ${run}/${RUNS}: espkit"; train_espkit "${run}"
    done
fi

# --------------------------------------------------------------------------------------------- startup
if want startup; then
    for key in import_torch import_task help print_config; do
        for tk in espnet espkit; do
            if [ "${tk}" = espnet ]; then py=${EN_PY}; mod=espnet2; else py=${EK_PY}; mod=espkit; fi
            case ${key} in
                import_torch) cmd=("${py}" -c 'import torch') ;;
                import_task) cmd=("${py}" -c "import ${mod}.tasks.tts") ;;
                help) cmd=("${py}" -m "${mod}.bin.tts_train" --help) ;;
                print_config) cmd=("${py}" -m "${mod}.bin.tts_train" --print_config) ;;
            esac
            log "startup: ${tk} ${key} x ${REPEATS}"
            "${py}" -c 'import torch' > /dev/null 2>&1  # warm the file cache
            "${GUARD[@]}" repeat --out "${RES}/startup_${tk}_${key}.json" --repeats "${REPEATS}" --tries 2 \
                --max_wait "${MAX_WAIT}" -- "${cmd[@]}"
        done
    done
fi

# ----------------------------------------------------------------------------------------------- infer
infer() {  # TOOLKIT RUN
    local py=${EN_PY}; [ "$1" = espkit ] && py=${EK_PY}
    local exp=${WORK}/exp/$1_run1
    "${GUARD[@]}" run --out "${RES}/infer_$1_run$2.json" --log "${LOGS}/infer_$1_run$2.log" --tries "${TRIES}" \
        --max_wait "${MAX_WAIT}" -- "${py}" "${HERE}/infer_bench.py" --toolkit "$1" --train_config "${exp}/config.yaml" \
        --model_file "${exp}/train.loss.ave.pth" --vocoder_config "${VOC_CONF}" --text "${DATA}/eval/text" \
        --out "${RES}/infer_$1_run$2.out.json"
}
if want infer; then
    for run in $(seq 1 "${RUNS}"); do
        log "infer run ${run}/${RUNS}: ESPnet2"; infer espnet "${run}"
        log "infer run ${run}/${RUNS}: espkit"; infer espkit "${run}"
    done
fi

# --------------------------------------------------------------------------------------------- profile
if want profile; then
    log "profile: one espkit training step (torch profiler)"
    PYTHONPATH=${ESPNET_ANCHORS} "${EK_PY}" -c 'import sys, json, cpu_guard; print(json.dumps(cpu_guard.wait(float(sys.argv[1]))))' "${MAX_WAIT}"
    "${EK_PY}" "${HERE}/profile_step.py" --config "${WORK}/exp/espkit_run1/config.yaml" \
        --batch_order "${WORK}/espnet_batches.json" --out "${RES}/profile.json" --markdown "${RES}/profile.md" \
        > "${LOGS}/profile.log" 2>&1 || { tail -20 "${LOGS}/profile.log"; exit 1; }
fi

# ---------------------------------------------------------------------------------------------- report
if want report; then
    python3 - "${RES}/env.json" "${EN_PY}" "${EK_PY}" "${RUNS}" "${THREADS}" "${BB}" "${RES}/divergences.txt" \
        "${RES}/stats_check.json" "${LOGS}/train_espkit_run1.log" <<'EOF'
import json, os, platform, re, subprocess, sys
out, en_py, ek_py, runs, threads, bb, div, stats, ek_log = sys.argv[1:]
def py(exe, code):
    return subprocess.run([exe, "-c", code], capture_output=True, text=True).stdout.strip()
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.machine())
mem = int(next(l.split()[1] for l in open("/proc/meminfo") if l.startswith("MemTotal"))) / 2**20
divergences = open(div).read().splitlines() if os.path.exists(div) else []
if os.path.exists(stats):
    s = json.load(open(stats))
    divergences.append(f"Normalisation: each toolkit uses its own collected statistics ({s['frames_espnet']} / "
                       f"{s['frames_espkit']} frames; max |mean diff| {s['max_abs_mean_diff']:.2g}, max relative std "
                       f"diff {s['max_rel_std_diff']:.2g}).")
params = "?"
if os.path.exists(ek_log):
    m = re.search(r"parameters: ([\d.]+ M)", open(ek_log, errors="replace").read())
    params = m.group(1) if m else params
env = dict(machine=f"{cpu}, {os.cpu_count()} cores, {mem:.0f} GiB, {platform.system()} {platform.release()}",
           python=platform.python_version(), torch=py(en_py, "import torch; print(torch.__version__)"),
           torch_espkit=py(ek_py, "import torch; print(torch.__version__)"),
           espnet=py(en_py, "import importlib.metadata as m; print(m.version('espnet'))"),
           espkit=py(ek_py, "import importlib.metadata as m; print(m.version('espkit'))"),
           runs=int(runs), threads=int(threads), batch_bins=int(bb), params=params, divergences=divergences)
if env["torch"] != env["torch_espkit"]:
    env["divergences"].append(f"torch differs: ESPnet2 venv {env['torch']}, espkit venv {env['torch_espkit']}")
json.dump(env, open(out, "w"), indent=1)
EOF
    if [ "${WRITE}" = none ]; then
        python3 "${HERE}/summarize.py" --work "${WORK}"
    else
        python3 "${HERE}/summarize.py" --work "${WORK}" --write "${WRITE}"
    fi
fi
