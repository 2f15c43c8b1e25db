#!/usr/bin/env bash
# The linker of scripts/build-release.sh for x86_64-pc-windows-gnu: runs
# x86_64-w64-mingw32-gcc from the target folder (MINGW_LINK_DIR) with every
# path under that folder spelled relative to it.
#
# Why: GNU ld orders a PE's import tables by the names of its input files as
# spelled on its command line (SORT(*)(.idata$2) etc. in its default
# script). With LTO, rustc hands over the rlibs whose members carry the
# raw-dylib imports (the standard library's bcryptprimitives.dll and
# api-ms-win-core-synch-l1-2-0.dll, windows-sys's kernel32.dll, ntdll.dll...)
# from a temporary folder inside the target folder, beside MinGW's import
# libraries under /usr. Left absolute, the order of the import tables, and
# with it the addresses in the code, depends on whether the target folder's
# path sorts before /usr (/tmp, /home) or after it (/work, /var): the same
# commit builds to different executables in different folders. Paths
# relative to the target folder (x86_64-pc-windows-gnu/...) sort after every
# absolute path, wherever the folder is.
set -euo pipefail
dir=${MINGW_LINK_DIR:?"MINGW_LINK_DIR (the cargo target folder) is not set"}
args=()
for arg in "$@"; do
  # A response file would hide the paths from the rewrite below.
  [[ $arg != @* ]] || { echo "mingw-link.sh: response files are not supported ($arg)" >&2; exit 1; }
  args+=("${arg//"$dir/"/}")
done
cd "$dir"
exec x86_64-w64-mingw32-gcc "${args[@]}"
