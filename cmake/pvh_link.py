#!/usr/bin/env python3
"""Links a PVH image with its own function symbol table, for backtraces.

Used as the link launcher of every image (RULE_LAUNCH_LINK in cmake/pvh.cmake):

    pvh_link.py --nm NM --cxxfilt CXXFILT --work DIR -- <the link command>

Links once as CMake asked, takes the function symbols of that image (llvm-nm),
demangles and shortens them (llvm-cxxfilt), writes them as a sorted table in
section .pvh_symbols (traps.cpp reads it; linker.ld places it after everything
else), and links again with the table added. The table is placed after every
other section, so no address of code or data moves; the second link is checked
against the first and the build fails if any did.

Table layout (little-endian, read by src/morgana/platform/pvh/symbols.cpp):
    u32 magic "MSYM", u32 count, u32 address[count] (ascending),
    u32 name_offset[count] (into the pool), char pool[] (NUL-terminated names)
"""

import argparse
import os
import re
import struct
import subprocess
import sys

MAGIC = 0x4D59534D
# Names longer than this after shortening are cut: a backtrace line stays readable.
MAX_NAME = 96
# Template argument lists longer than this become <...>.
MAX_TEMPLATE_ARGS = 24
# Symbols that linker.ld defines: boundaries, not functions.
LINKER_DEFINED = re.compile(r"^pvh_\w+_(start|end)$")
# Linker-script symbols whose values may differ between the two links.
MAY_MOVE = {"pvh_symbols_start", "pvh_symbols_end", "pvh_image_end"}


def run(command, **kwargs):
    result = subprocess.run(command, **kwargs)
    if result.returncode != 0:
        sys.exit(result.returncode)
    return result


def nm_symbols(nm, image):
    """(name, type, value) of every symbol with a value, in nm's order."""
    output = run([nm, "-P", "--defined-only", "--no-sort", image], capture_output=True, text=True).stdout
    symbols = []
    for line in output.splitlines():
        fields = line.split()
        if len(fields) >= 3:
            symbols.append((fields[0], fields[1], int(fields[2], 16)))
    return symbols


def skip_operator(name, i):
    """Index after an `operator` token's symbol characters (<, <<, ->, (), ...)."""
    i += len("operator")
    while i < len(name) and name[i] == " ":
        i += 1
    if name.startswith("()", i) or name.startswith("[]", i):
        return i + 2
    while i < len(name) and name[i] in "<>=!+-*/%^&|~,":
        i += 1
    return i


def shorten(name):
    """Drops parameter lists, long template arguments and return types."""
    name = name.replace("(anonymous namespace)", "\x01")
    name = name.replace("std::basic_string_view<char, std::char_traits<char>>", "std::string_view")
    name = re.sub(r"\) (const|volatile|&&|&)(?=::|$| )", ")", name)
    out = []
    stack = []  # (bracket, index in out where its contents start)
    i = 0
    while i < len(name):
        if name.startswith("operator", i) and (i == 0 or not (name[i - 1].isalnum() or name[i - 1] == "_")):
            end = skip_operator(name, i)
            out.append(name[i:end])
            i = end
            continue
        c = name[i]
        if c in "<(":
            out.append(c)
            stack.append((c, len(out)))
        elif c in ">)" and stack:
            bracket, start = stack.pop()
            inner = "".join(out[start:])
            del out[start:]
            if bracket == "(":
                out.append(")")  # a local entity's enclosing parameter list
            elif len(inner) > MAX_TEMPLATE_ARGS:
                out.append("...>")
            else:
                out.append(inner + ">")
        else:
            out.append(c)
        i += 1
    short = "".join(out)
    # A leading return type ("void ns::f<...>()::lambda"): drop up to the last
    # space outside brackets that does not follow `operator`.
    depth = 0
    cut = -1
    for j, c in enumerate(short):
        if c in "<([":
            depth += 1
        elif c in ">)]" and depth:
            depth -= 1
        elif c == " " and depth == 0 and not short[:j].endswith("operator"):
            cut = j
    if cut >= 0 and not short[cut + 1 :].startswith("["):
        short = short[cut + 1 :]
    short = short.replace("\x01", "(anonymous namespace)")
    if len(short) > MAX_NAME:
        short = short[: MAX_NAME - 3] + "..."
    return short


def demangle(cxxfilt, names):
    """Demangled, shortened names; a clang suffix (.resume, .destroy) is kept."""
    bases, suffixes = [], []
    for name in names:
        base, dot, suffix = name.partition(".") if name.startswith("_Z") else (name, "", "")
        bases.append(base)
        suffixes.append(dot + suffix)
    output = run([cxxfilt, "-p"], input="\n".join(bases) + "\n", capture_output=True, text=True).stdout
    demangled = output.splitlines()
    if len(demangled) != len(names):
        sys.exit("pvh_link: llvm-cxxfilt returned a different number of names")
    return [shorten(d) + s for d, s in zip(demangled, suffixes)]


def function_symbols(nm, cxxfilt, image):
    symbols = nm_symbols(nm, image)
    values = {name: value for name, _, value in symbols}
    text_start, text_end = values["pvh_image_start"], values["pvh_text_end"]
    by_address = {}
    for name, kind, value in symbols:
        if kind not in "tTwW" or not text_start <= value < text_end or LINKER_DEFINED.match(name):
            continue
        # Aliases at one address (a function and its alias): the first wins.
        by_address.setdefault(value, name)
    addresses = sorted(by_address)
    return addresses, demangle(cxxfilt, [by_address[a] for a in addresses])


def table_bytes(addresses, names):
    pool = bytearray()
    offsets = {}
    name_offsets = []
    for name in names:
        if name not in offsets:
            offsets[name] = len(pool)
            pool += name.encode() + b"\0"
        name_offsets.append(offsets[name])
    if addresses and addresses[-1] >= 1 << 32:
        sys.exit("pvh_link: a function above 4 GiB does not fit the symbol table")
    count = len(addresses)
    return (
        struct.pack(f"<II{count}I{count}I", MAGIC, count, *addresses, *name_offsets) + bytes(pool)
    )


def check_nothing_moved(nm, first, second):
    def placed(image):
        return sorted((n, k, v) for n, k, v in nm_symbols(nm, image) if n not in MAY_MOVE)

    before, after = placed(first), placed(second)
    if before != after:
        moved = sorted(set(before) ^ set(after))[:10]
        sys.exit(f"pvh_link: adding the symbol table moved symbols in {second}: {moved}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--nm", required=True)
    parser.add_argument("--cxxfilt", required=True)
    parser.add_argument("--work", required=True)
    parser.add_argument("command", nargs=argparse.REMAINDER)
    options = parser.parse_args()
    command = options.command[1:] if options.command[:1] == ["--"] else options.command
    if "-o" not in command:
        sys.exit("pvh_link: no -o in the link command")
    output_index = command.index("-o") + 1
    output = command[output_index]
    os.makedirs(options.work, exist_ok=True)
    stem = os.path.join(options.work, os.path.basename(output))

    first = stem + ".nosymbols"
    first_command = list(command)
    first_command[output_index] = first
    run(first_command)

    addresses, names = function_symbols(options.nm, options.cxxfilt, first)
    with open(stem + ".symbols.bin", "wb") as table:
        table.write(table_bytes(addresses, names))
    with open(stem + ".symbols.s", "w") as source:
        source.write('.section .pvh_symbols,"a",@progbits\n.p2align 2\n')
        source.write(f'.incbin "{os.path.abspath(stem)}.symbols.bin"\n')
    table_object = stem + ".symbols.o"
    run([command[0], "-c", "-x", "assembler", stem + ".symbols.s", "-o", table_object])

    run(command + [table_object])
    check_nothing_moved(options.nm, first, output)


if __name__ == "__main__":
    main()
