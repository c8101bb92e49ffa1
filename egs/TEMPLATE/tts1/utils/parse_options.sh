#!/usr/bin/env bash
# Parse --key value / --key=value command-line options into shell variables that already exist.
#
# Source it after the option variables are defined (with their defaults):
#     nj=4
#     train_config=conf/train.yaml
#     . utils/parse_options.sh
# "--train-config x" and "--train_config=x" both set train_config=x. An option whose variable is not
# defined is an error, so is an option without a value. "--help" prints $help_message (if set) and
# the options with their current values. Parsing stops at "--" or at the first non-option argument;
# the remaining arguments stay in "$@" (a script taking none checks with `parse_options_no_args "$@"`).

_po_script=${0}

_po_print_help() {
    [ -n "${help_message:-}" ] && printf '%s\n' "${help_message}"
    echo "Options (current values):"
    # the option variables: lines "name=value" at the start of a line of the calling script
    if [ -f "${_po_script}" ]; then
        local _po_name
        for _po_name in $(sed -n 's/^\([A-Za-z_][A-Za-z0-9_]*\)=.*/\1/p' "${_po_script}" | awk '!seen[$0]++'); do
            [ -n "${!_po_name+x}" ] && printf '    --%-22s %s\n' "${_po_name}" "\"${!_po_name}\""
        done
    fi
    return 0
}

while [ $# -gt 0 ]; do
    case "$1" in
        --help|-h)
            _po_print_help
            exit 0
            ;;
        --)
            shift
            break
            ;;
        --*=*)
            _po_key=${1%%=*}
            _po_value=${1#*=}
            shift
            ;;
        --*)
            _po_key=$1
            if [ $# -lt 2 ]; then
                echo "$(basename "${_po_script}"): error: option ${_po_key} needs a value" >&2
                exit 1
            fi
            _po_value=$2
            shift 2
            ;;
        *)
            break
            ;;
    esac
    _po_name=${_po_key#--}
    _po_name=${_po_name//-/_}
    if ! [[ ${_po_name} =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || [ -z "${!_po_name+x}" ]; then
        echo "$(basename "${_po_script}"): error: unknown option ${_po_key} (see --help for the valid options)" >&2
        exit 1
    fi
    printf -v "${_po_name}" '%s' "${_po_value}"
done
unset _po_key _po_value _po_name

# parse_options_no_args "$@": stop when arguments are left after the options (a stray word would
# otherwise end the parsing silently and hide every option after it)
parse_options_no_args() {
    if [ $# -gt 0 ]; then
        echo "$(basename "${_po_script}"): error: unexpected argument '$1' (options are --name value; see --help)" >&2
        exit 1
    fi
}
true
