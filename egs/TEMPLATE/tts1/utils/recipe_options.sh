#!/usr/bin/env bash
# Options of a recipe's run.sh that are its own, the rest passed on to tts.sh.
#
# Source it after the run.sh option variables are defined (with their defaults):
#     smoke=false
#     corpus_dir=downloads/corpus
#     . utils/recipe_options.sh
#     recipe_parse_options "smoke corpus_dir" "$@"    # sets them; every other argument goes to ${args[@]}
#     recipe_check_bool smoke                          # each must be true or false
#     recipe_check_no_space corpus_dir                 # each must be a path without whitespace
#     ./tts.sh ... ${args[@]+"${args[@]}"}
# "--corpus_dir x" and "--corpus_dir=x" both set corpus_dir=x; an own option without a value is an error.
# Unlike utils/parse_options.sh, unknown options are not errors here: tts.sh checks them.

# recipe_parse_options "NAME ..." ARG...: set the named variables from --NAME value / --NAME=value,
# keep every other argument, in order, in the array args
recipe_parse_options() {
    local -a _ro_names
    read -r -a _ro_names <<<"$1"
    shift
    args=()
    local _ro_name _ro_own
    while [ $# -gt 0 ]; do
        _ro_own=""
        for _ro_name in "${_ro_names[@]}"; do
            case "$1" in
                "--${_ro_name}" | "--${_ro_name}="*) _ro_own=${_ro_name} ;;
            esac
        done
        if [ -z "${_ro_own}" ]; then
            args+=("$1")
            shift
        elif [[ $1 == *=* ]]; then
            printf -v "${_ro_own}" '%s' "${1#*=}"
            shift
        else
            [ $# -ge 2 ] || {
                echo "$0: error: option $1 needs a value" >&2
                exit 1
            }
            printf -v "${_ro_own}" '%s' "$2"
            shift 2
        fi
    done
}

# recipe_check_bool NAME...: each option must be true or false
recipe_check_bool() {
    local _ro_name
    for _ro_name in "$@"; do
        case "${!_ro_name}" in
            true | false) ;;
            *)
                echo "$0: error: --${_ro_name} ${!_ro_name}: must be true or false" >&2
                exit 1
                ;;
        esac
    done
}

# recipe_check_no_space NAME...: each option (a corpus path, given to local/data.sh inside one
# --local_data_opts string) must hold no whitespace
recipe_check_no_space() {
    local _ro_name
    for _ro_name in "$@"; do
        if [[ ${!_ro_name} =~ [[:space:]] ]]; then
            echo "$0: error: --${_ro_name} '${!_ro_name}': a path without spaces is needed (link the corpus elsewhere)" >&2
            exit 1
        fi
    done
}
true
