#!/usr/bin/env bash
# Crunch end to end: builds tests/crunch_app with a directory compiled in
# (./morgana configure --crunch data=DIR, then build) for the hosted target and as a PVH image
# booted in QEMU, and checks what the app dumps of the store against the
# directory: every key and directory, every byte, SHA-256 digests (sha256sum),
# media types, modification times, and gzip variants (gunzip gives back the
# original; kept for compressible files only, and only when smaller). The
# directory holds nested directories, duplicate files, compressible and
# incompressible files, names with spaces, quotes and UTF-8, an empty file, a
# symbolic link, and dotfiles that must stay out. Then runs the crunch tool
# itself: deduplicated .incbin, deterministic output, and refusals (a link out
# of the directory, a link loop, a bad name).
#
# Usage: tests/system/crunch_test.sh
# Needs qemu-system-x86_64 and python3; not root. Logs: build/system-tests/crunch/.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1

work=build/system-tests/crunch
rm -rf "$work"
mkdir -p "$work"
# Inside build/, not /tmp: the presets' CMake caches keep naming this
# directory after the test, and a later reconfigure must still find it.
data=$PWD/$work/data

make_data() {
  mkdir -p "$data"/{css,theme,img,docs/guide,notes,.git}
  python3 -c 'import sys; sys.stdout.write("body { color: #222; margin: 0 auto; max-width: 40em }\n" * 400)' \
    >"$data/css/site.css"
  cp "$data/css/site.css" "$data/theme/copy.css"
  python3 -c 'import sys; sys.stdout.write("<!doctype html><p>Crunched pages, served from memory.</p>\n" * 60)' \
    >"$data/docs/index.html"
  printf '# Intro\n\nNested two levels down.\n' >"$data/docs/guide/intro.md"
  head -c 6000 /dev/urandom >"$data/img/noise.png"
  head -c 3000 /dev/urandom >"$data/random.txt" # a compressible type that does not compress
  head -c 1000 /dev/urandom >"$data/data.bin"
  : >"$data/empty.txt"
  printf 'spaces in the name\n' >"$data/notes/with space.txt"
  printf '{"say": "hi"}\n' >"$data/say \"hi\".json"
  printf 'caf\xc3\xa9\n' >"$data/café.txt"
  printf 'the same content twice\n' >"$data/notes/a.txt"
  cp "$data/notes/a.txt" "$data/notes/b.txt"
  ln -s docs/index.html "$data/link.html"
  echo 'hidden' >"$data/.hidden"
  echo '[core]' >"$data/.git/config"
  touch -d @1700000000 "$data/docs/guide/intro.md"
}
make_data

build() {
  local target=$1 log=$work/build-$1.log preset=()
  # hosted-asan, as the other system tests.
  [[ $target == hosted ]] && preset=(--preset hosted-asan)
  ./morgana configure tests/crunch_app --target "$target" "${preset[@]}" --crunch "data=$data" >"$log" 2>&1 &&
    ./morgana build tests/crunch_app --target "$target" 2>>"$log" | tail -1
}

echo "crunch_test: building tests/crunch_app (hosted)"
program=$(build hosted)
if [[ ! -x $program ]]; then
  tail -30 "$work/build-hosted.log"
  echo "crunch_test: FAIL: building the hosted app failed"
  exit 1
fi
echo "crunch_test: building tests/crunch_app (pvh)"
image=$(build pvh)
if [[ ! -f $image ]]; then
  tail -30 "$work/build-pvh.log"
  echo "crunch_test: FAIL: building the pvh image failed"
  exit 1
fi
# The crunch tool the hosted build used (each build directory has its own).
tool=$(dirname "$program")/crunch-tool/crunch

# shellcheck source=tests/system/pvh_lib.sh
source tests/system/pvh_lib.sh
pvh_setup crunch crunch_app "$image"

# check_dump LOG: compares the app's dump in LOG with $data.
check_dump() {
  python3 - "$1" "$data" <<'PY' || fail "$1: the dump does not match the directory"
import os, subprocess, sys

log, root = sys.argv[1], sys.argv[2]
expected_types = {
    "css/site.css": "text/css; charset=utf-8", "theme/copy.css": "text/css; charset=utf-8",
    "docs/index.html": "text/html; charset=utf-8", "docs/guide/intro.md": "text/markdown; charset=utf-8",
    "img/noise.png": "image/png", "random.txt": "text/plain; charset=utf-8",
    "data.bin": "application/octet-stream", "empty.txt": "text/plain; charset=utf-8",
    "notes/with space.txt": "text/plain; charset=utf-8", 'say "hi".json': "application/json; charset=utf-8",
    "café.txt": "text/plain; charset=utf-8", "notes/a.txt": "text/plain; charset=utf-8",
    "notes/b.txt": "text/plain; charset=utf-8", "link.html": "text/html; charset=utf-8",
}
gzipped = {"css/site.css", "theme/copy.css", "docs/index.html"}
not_gzipped = {"img/noise.png", "random.txt", "data.bin", "empty.txt", "notes/a.txt", 'say "hi".json'}
errors = []

files, dirs, data, gzip, order = {}, [], {}, {}, []
for raw in open(log, "rb").read().decode("utf-8", "replace").splitlines():
    line = raw.rstrip("\r")
    if not line.startswith("crunch_app: "):
        continue
    words = line[len("crunch_app: "):].split(" ")
    kind = words[0]
    if kind == "check":
        errors.append(line)
    elif kind == "dir":
        dirs.append(bytes.fromhex(words[1]).decode())
    elif kind == "file":
        key = bytes.fromhex(words[1]).decode()
        fields = dict(w.split("=", 1) for w in words[2:7])
        fields["type"] = line.split(" type=", 1)[1]
        files[key] = fields
        order.append(key)
        data[key], gzip[key] = b"", b""
    elif kind in ("data", "gzip"):
        key = bytes.fromhex(words[1]).decode()
        (data if kind == "data" else gzip)[key] += bytes.fromhex(words[2])
if "crunch_app: end files=%d" % len(files) not in open(log, errors="replace").read():
    errors.append("no end line for %d files" % len(files))

want_files, want_dirs = {}, set()
for directory, subdirs, names in os.walk(root, followlinks=True):
    subdirs[:] = [d for d in subdirs if not d.startswith(".")]
    relative = os.path.relpath(directory, root)
    if relative != ".":
        want_dirs.add(relative)
    for name in names:
        if not name.startswith("."):
            key = name if relative == "." else relative + "/" + name
            want_files[key] = os.path.join(directory, name)
if set(files) != set(want_files):
    errors.append("keys %s, expected %s" % (sorted(files), sorted(want_files)))
if set(dirs) != want_dirs or len(dirs) != len(want_dirs):
    errors.append("directories %s, expected %s" % (sorted(dirs), sorted(want_dirs)))
if set(expected_types) != set(want_files):
    errors.append("the test's type table does not cover the directory")

sums = {}
paths = [want_files[k] for k in sorted(want_files)]
for line in subprocess.run(["sha256sum", "--", *paths], capture_output=True, text=True, check=True).stdout.splitlines():
    digest, path = line.split("  ", 1)
    sums[path] = digest

for key in sorted(set(files) & set(want_files)):
    path, meta = want_files[key], files[key]
    content = open(path, "rb").read()
    if data[key] != content:
        errors.append("%s: content differs (%d bytes dumped, %d in the file)" % (key, len(data[key]), len(content)))
    if int(meta["size"]) != len(content):
        errors.append("%s: size %s, file has %d" % (key, meta["size"], len(content)))
    if meta["digest"] != sums[path]:
        errors.append("%s: digest %s, sha256sum says %s" % (key, meta["digest"], sums[path]))
    if int(meta["mtime"]) != int(os.stat(path).st_mtime):
        errors.append("%s: mtime %s, file has %d" % (key, meta["mtime"], os.stat(path).st_mtime))
    if meta["type"] != expected_types.get(key):
        errors.append("%s: type %r, expected %r" % (key, meta["type"], expected_types.get(key)))
    if meta["gzip"] == "none":
        if key in gzipped:
            errors.append("%s: no gzip variant" % key)
        continue
    if key in not_gzipped:
        errors.append("%s: has a gzip variant" % key)
    if int(meta["gzip"]) != len(gzip[key]) or len(gzip[key]) * 10 > len(content) * 9:
        errors.append("%s: gzip variant of %d bytes (said %s) for %d" % (key, len(gzip[key]), meta["gzip"], len(content)))
    gunzip = subprocess.run(["gunzip", "-c"], input=gzip[key], capture_output=True)
    if gunzip.returncode != 0 or gunzip.stdout != content:
        errors.append("%s: gunzip of the variant fails or differs: %s" % (key, gunzip.stderr.decode()))
if files.get("notes/a.txt", {}).get("digest") != files.get("notes/b.txt", {}).get("digest"):
    errors.append("duplicate files have different digests")

for error in errors:
    print("  " + error)
print("%s: %d files, %d directories, %d gzip variants checked" % (log, len(files), len(dirs),
                                                                   sum(1 for k in files if files[k]["gzip"] != "none")))
sys.exit(1 if errors else 0)
PY
}

echo "crunch_test: hosted"
"$program" >"$log_dir/hosted.log" 2>&1
status=$?
((status == 0)) || fail "hosted: exit status $status"
grep -q "crunch_app: stores: data$" "$log_dir/hosted.log" || fail "hosted: the registry does not list 'data'"
check_dump "$log_dir/hosted.log"

echo "crunch_test: pvh (QEMU, TCG)"
pvh_boot "$log_dir/pvh.log" microvm max
((status == 1)) || fail "pvh: QEMU exit status $status, expected 1 (image status 0)"
check_dump "$log_dir/pvh.log"
if ! diff <(grep -a '^crunch_app: ' "$log_dir/pvh.log" | tr -d '\r') <(grep '^crunch_app: ' "$log_dir/hosted.log") \
  >"$log_dir/pvh-vs-hosted.diff"; then
  fail "pvh: the dump differs from the hosted one ($log_dir/pvh-vs-hosted.diff)"
fi

echo "crunch_test: the tool"
out1=$work/out1 out2=$work/out2
"$tool" --name data --dir "$data" --out "$out1" 2>"$work/tool.log" || fail "tool: crunching the directory failed"
"$tool" --name data --dir "$data" --out "$out2" 2>>"$work/tool.log" || fail "tool: crunching it again failed"
cmp -s "$out1/crunch_data.cpp" "$out2/crunch_data.cpp" || fail "tool: two runs wrote different tables"
distinct=$(find -L "$data" -type f -not -path '*/.*' -exec sha256sum {} + | cut -d' ' -f1 | sort -u | wc -l)
variants=$(find "$out1/crunch_data.gz" -type f -name '*.gz' | wc -l)
incbins=$(grep -c '\.incbin' "$out1/crunch_data.S")
((incbins == distinct + variants)) ||
  fail "tool: $incbins .incbin lines for $distinct distinct contents and $variants gzip variants"
((variants == 2)) || fail "tool: $variants gzip variants, expected 2 (the css twice as one, the html)"
grep -q '{"\.' "$out1/crunch_data.cpp" && fail "tool: a dotfile reached the table"

# refuse NAME DIR MESSAGE: the tool fails on DIR, saying MESSAGE.
refuse() {
  local output
  if output=$("$tool" --name "$1" --dir "$2" --out "$work/refused" 2>&1); then
    fail "tool: accepted $2 (name $1)"
  elif [[ $output != *"$3"* ]]; then
    fail "tool: on $2 said '$output', expected '$3'"
  fi
}
mkdir -p "$work/escape" "$work/loop/sub" "$work/dangling" "$work/huge"
truncate -s 65M "$work/huge/sparse.bin"
ln -s /etc/passwd "$work/escape/passwd"
ln -s .. "$work/loop/sub/up"
ln -s nowhere "$work/dangling/link"
refuse data "$work/escape" "symbolic link leads outside"
refuse data "$work/loop" "symbolic link loop"
refuse data "$work/dangling" "symbolic link to nothing"
refuse data "$work/missing" "No such file or directory"
refuse data "$work/huge" "65 MiB is over the limit of 64 MiB for one file"
refuse "bad-name" "$data" "is not a C identifier"
"$tool" --help | grep -q "usage: crunch" || fail "tool: --help prints no usage"

if ((failures)); then
  echo "crunch_test: $failures checks failed; logs in $log_dir"
  exit 1
fi
echo "crunch_test: passed"
