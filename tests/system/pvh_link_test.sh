#!/usr/bin/env bash
# Checks that PVH images can link Debian's static C libraries (libbearssl.a,
# libz.a, libcmark-gfm.a, libcmark-gfm-extensions.a) and that they work there,
# with tests/pvh_link_app:
#   1. symbols: computes which archive members the app pulls in (as the linker
#      does, from the app's and the platform's objects) and fails naming every
#      C library symbol those members, or any member of the four archives,
#      refer to that is not in src/morgana/platform/pvh/libc_symbols.txt, every
#      listed symbol the platform does not define, and anything left undefined;
#      of libhogweed.a, libnettle.a and libgmp.a (TLS's P-256 and X25519) only
#      the members pulled in count: their other members need stdio;
#   2. boot: runs the app in QEMU and checks its SHA-256, zlib, Markdown,
#      snprintf, qsort and string function results against the same
#      computations on the host.
#
# Usage: tests/system/pvh_link_test.sh [IMAGE]
#   IMAGE defaults to tests/pvh_link_app configured and built for pvh by
#   ./morgana (build/app-pvh_link_app-pvh/pvh_link_app.elf); the objects are
#   taken from IMAGE's build directory.
# Needs qemu-system-x86_64 and llvm-nm-19; not root. Logs: build/system-tests/pvh_link/.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1

# shellcheck source=tests/system/pvh_lib.sh
source tests/system/pvh_lib.sh
pvh_setup pvh_link pvh_link_app "${1:-}"
build=$(dirname "$image")

# 1. Symbols.
cache_value() { sed -n "s/^$1:[A-Z]*=//p" "$build/CMakeCache.txt"; }
compiler_rt=$(clang++-19 --rtlib=compiler-rt -print-libgcc-file-name)
symbol_report=$log_dir/symbols.txt
python3 - "$build" "$(cache_value MORGANA_BEARSSL)" "$(cache_value MORGANA_ZLIB)" "$(cache_value MORGANA_CMARK_GFM)" \
  "$(cache_value MORGANA_CMARK_GFM_EXTENSIONS)" "$(cache_value MORGANA_HOGWEED)" "$(cache_value MORGANA_NETTLE)" \
  "$(cache_value MORGANA_GMP)" "$compiler_rt" src/morgana/platform/pvh/libc_symbols.txt src/morgana/platform/pvh/linker.ld >"$symbol_report" <<'PY'
import glob, re, subprocess, sys

(build, bearssl, zlib, cmark_gfm, cmark_gfm_extensions, hogweed, nettle, gmp, compiler_rt, listed_path,
 linker_script) = sys.argv[1:]
# Every member of these is checked; of the partial ones, those pulled in.
whole = [bearssl, zlib, cmark_gfm, cmark_gfm_extensions]
partial = [hogweed, nettle, gmp]
foreign = whole + partial
# Defined by the linker itself or by linker.ld.
linker_defined = {"_GLOBAL_OFFSET_TABLE_"} | set(re.findall(r"^\s*(\w+)\s*=", open(linker_script).read(), re.M))
listed = {l.strip() for l in open(listed_path) if l.strip() and not l.startswith("#")}

def symbols(path):
    """{member: (defined, undefined)} of an object or archive, from llvm-nm -P -A."""
    out = subprocess.run(["llvm-nm-19", "-P", "-A", path], capture_output=True, text=True, check=True).stdout
    members = {}
    for line in out.splitlines():
        where, _, rest = line.rpartition(": ")
        fields = rest.split()
        if len(fields) < 2:
            continue
        defined, undefined = members.setdefault(where, (set(), set()))
        if fields[1] == "U":
            undefined.add(fields[0])
        elif fields[1] not in "wv" or len(fields) > 2:
            defined.add(fields[0])
    return members

objects = {}
platform_defined = set()
for path in glob.glob(f"{build}/CMakeFiles/pvh_link_app.dir/**/*.o", recursive=True) + \
        glob.glob(f"{build}/CMakeFiles/morgana_platform_pvh.dir/**/*.o", recursive=True):
    objects.update(symbols(path))
    if "morgana_platform_pvh.dir" in path:
        platform_defined |= symbols(path)[path][0]
archives = {a: symbols(a) for a in [f"{build}/libmorgana.a", *foreign,
                                     f"{build}/stdcxx-pieces/libmorgana_stdcxx_pieces.a", compiler_rt]}

# Pull in archive members the way a linker does, until nothing more resolves.
loaded = dict(objects)
while True:
    defined = set().union(*(d for d, _ in loaded.values()))
    needed = set().union(*(u for _, u in loaded.values())) - defined - linker_defined
    pulled = {m: s for archive in archives.values() for m, s in archive.items()
              if m not in loaded and s[0] & needed}
    if not pulled:
        break
    loaded.update(pulled)

failures = []
foreign_defined = set().union(*(d for a in foreign for d, _ in archives[a].values()))
for archive in foreign:
    for member, (_, undefined) in archives[archive].items():
        if archive in partial and member not in loaded:
            continue
        for symbol in sorted(undefined - foreign_defined - linker_defined - listed):
            where = "pulled in by the app" if member in loaded else "not pulled in by the app"
            failures.append(f"{symbol}: referenced by {member} ({where}), not in {listed_path}")
for symbol in sorted(listed - platform_defined):
    failures.append(f"{symbol}: in {listed_path} but not defined by the platform")
for symbol in sorted(needed):
    failures.append(f"{symbol}: undefined in the link of pvh_link_app")
pulled_foreign = sorted(m for a in foreign for m in archives[a] if m in loaded)
print(f"members pulled in from the C libraries: {len(pulled_foreign)}")
print("\n".join(pulled_foreign))
used = sorted(set().union(*(archives[a][m][1] for a in foreign for m in archives[a] if m in loaded)) & listed)
print(f"C library symbols they use: {' '.join(used)}")
for failure in failures:
    print(f"FAIL: {failure}")
sys.exit(1 if failures else 0)
PY
symbol_status=$?
grep '^FAIL' "$symbol_report"
if ((symbol_status != 0)); then
  failures=$((failures + 1))
else
  echo "symbols: $(head -1 "$symbol_report"); every C library symbol is provided"
fi

# 2. Boot.
log=$log_dir/microvm.log
pvh_boot "$log" microvm max
((status == 1)) || fail "QEMU exit status $status, expected 1 (exit status 0)"

# value NAME: what the app printed after "link: NAME ".
value() { sed -n "s/^.*link: $1 //p" "$log" | tr -d '\r'; }
expect_value() {
  local name=$1 expected=$2 got
  got=$(value "$name")
  [[ $got == "$expected" ]] || fail "$name: got '$got', expected '$expected'"
}

expect_value sha256 "$(printf '%s' 'The quick brown fox jumps over the lazy dog' | sha256sum | cut -d' ' -f1)"
python3 -c '
import sys, zlib
data = b"Morgana links zlib. " * 200
assert zlib.decompress(bytes.fromhex(sys.argv[1])) == data
' "$(value zlib-compressed)" 2>/dev/null || fail "zlib-compressed: the image's output does not decompress on the host"
expect_value zlib-round-trip "4000 crc32 $(python3 -c 'import zlib; print("%08x" % zlib.crc32(b"Morgana links zlib. " * 200))')"
expect_value gzopen "failed errno 2"

# What cmark-gfm 0.29.0.gfm.6 renders on Linux for the app's document, through
# the same morgana::markdown::render_html (tests/unit/markdown checks each
# construct on its own).
expected_html='<h1>Morgana</h1>
<p>Some <em>emphasis</em>, <code>code</code>, <del>strikethrough</del> and a <a href="https://example.org/" title="Title">link</a>.<sup class="footnote-ref"><a href="#fn-1" id="fnref-1" data-footnote-ref>1</a></sup></p>
<table>
<thead>
<tr>
<th align="left">Layer</th>
<th align="right">Size</th>
</tr>
</thead>
<tbody>
<tr>
<td align="left">core</td>
<td align="right">1</td>
</tr>
</tbody>
</table>
<ul>
<li><input type="checkbox" checked="" disabled="" /> <a href="http://www.example.org">www.example.org</a></li>
</ul>
<pre><code class="language-cpp">a &lt; b
</code></pre>
<blockquote>
<p>quoted &amp; <b>raw</b></p>
</blockquote>
<section class="footnotes" data-footnotes>
<ol>
<li id="fn-1">
<p>Note. <a href="#fnref-1" class="footnote-backref" data-footnote-backref aria-label="Back to content">↩</a></p>
</li>
</ol>
</section>'
[[ $(value html) == "$expected_html" ]] || fail "html: got '$(value html)', expected '$expected_html'"
expect_value html-budget no_memory

expected_snprintf=$(python3 -c '
import ctypes
libc = ctypes.CDLL("libc.so.6")
buffer = ctypes.create_string_buffer(256)
fmt = (b"%d|%i|%u|%x|%X|%o|%#x|%#o|%5d|%-5d|%05d|%.3d|%+d|% d|%c|%s|%.2s|%8s|%-8s|%%|%ld|%lld|%zu|"
       b"%hhd|%hu|%p|%*d|%-*d|%.0d|")
i, u, l, ll = ctypes.c_int, ctypes.c_uint, ctypes.c_long, ctypes.c_longlong
n = libc.snprintf(buffer, 256, fmt, i(-42), i(7), u(4000000000), i(0xbeef), i(0xbeef), i(8), i(255), i(8), i(42),
                  i(42), i(42), i(7), i(5), i(5), i(ord("z")), b"text", b"text", b"right", b"left",
                  l(-1234567890123), ll(9223372036854775807), ctypes.c_size_t(12345), i(300), i(70000),
                  ctypes.c_void_p(0x1234), i(6), i(-3), i(6), i(3), i(0))
print(n, buffer.value.decode())
')
expect_value snprintf "$expected_snprintf"
expect_value snprintf-truncated "9 trun"
expect_value qsort "$(python3 -c '
state, numbers = 12345, []
for _ in range(40):
    state = (state * 1103515245 + 12345) % 2**32
    numbers.append((state >> 16) % 1000 - 500)
print(" ".join(map(str, sorted(numbers))) + " ")
')"
expect_value strstr "$(python3 -c '
def offset(text, pattern):
    return text.find(pattern) if pattern in text else -1
print(offset("task [x] list", "[x]"), offset("abc", ""), offset("abc", "abcd"), offset("aab", "ab"), offset("", "a"))
')"
expect_value strncasecmp "$(python3 -c '
import ctypes
libc = ctypes.CDLL("libc.so.6")
sign = lambda n: (n > 0) - (n < 0)
print(*(sign(libc.strncasecmp(a, b, n)) for a, b, n in
        [(b"HTTP://x", b"http://y", 7), (b"abc", b"ABD", 3), (b"ABC", b"ab", 3), (b"a", b"B", 0), (b"[", b"{", 1)]))
')"
expect_value strcpy copied
expect_value tolower "$(python3 -c '
import ctypes
libc = ctypes.CDLL("libc.so.6")
print(" ".join(str(libc.tolower(c)) for c in [65, 90, 97, 64, 91, 48, 0xC4, -60, -128, -2, -1, 255]) + " ")
')"
# RFC 7748 §6.1's shared secret; NIST CAVS ECC CDH P-256 COUNT = 0's Z.
expect_value x25519 4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742
expect_value p256-ecdh 46fc62106420ff012e54a434fbdd2d25ccc5852060561e68040dd7778997bd7b
expect_value ecdsa-p256 "verified same-as-i31"
expect_value done ok

if ((failures)); then
  echo "pvh_link_test: $failures checks failed; logs in $log_dir"
  exit 1
fi
echo "pvh_link_test: passed"
