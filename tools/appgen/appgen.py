#!/usr/bin/env python3
"""appgen: turns an application's manifest (APP-DIR/morgana.toml) into the
code that hands the application its settings and stores (morgana_app.h and
morgana_app.cpp; spec/app-manifest.md section 2).

  appgen.py APP-DIR --out DIR [--arguments-file FILE]   write DIR/morgana_app.{h,cpp}
  appgen.py APP-DIR --stores                            print NAME=DIR per store default (for CMake)
  appgen.py APP-DIR --check                             validate the manifest only

The ./morgana command imports this module to read manifests (load_manifest)."""

import argparse
import re
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

MANIFEST = "morgana.toml"

# type: (C++ type, inclusive maximum for integers or None)
TYPES = {
    "bool": ("bool", None),
    "uint8": ("std::uint8_t", 2**8 - 1),
    "uint16": ("std::uint16_t", 2**16 - 1),
    "uint32": ("std::uint32_t", 2**32 - 1),
    "uint64": ("std::uint64_t", 2**64 - 1),
    "size": ("std::size_t", 2**64 - 1),  # the targets are all x86_64
    "string": ("std::string_view", None),
    "duration": ("morgana::Duration", None),
    "ipv4-address": ("morgana::net::Ipv4Address", None),
    "ipv4-cidr": ("morgana::net::Ipv4Cidr", None),
    "endpoint": ("morgana::net::Endpoint", None),
}
# The types whose defaults are strings parsed at startup (args::parse_default<T>), as seen from
# inside `namespace { using namespace morgana; }` in morgana_app.cpp.
PARSED_DEFAULTS = {"duration": "Duration", "ipv4-address": "net::Ipv4Address", "ipv4-cidr": "net::Ipv4Cidr",
                   "endpoint": "net::Endpoint"}
DURATION_UNITS = {"ns": 1, "us": 10**3, "ms": 10**6, "s": 10**9, "min": 60 * 10**9, "h": 3600 * 10**9}

SETTING_NAME = re.compile(r"[a-z][a-z0-9-]*")
STORE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# The platform's and libraries' boot arguments (src/morgana/app/boot.cpp, app/hosted/target.cpp,
# platform/hosted, core/net_offload.cpp): an application setting cannot take one of these names, or the image would
# register two arguments called the same (tests/system/appgen_test.py checks this list against src/).
MORGANA_ARGUMENTS = {"help", "logs", "counters", "ipv4", "ipv4-gateway", "dns-servers", "tcp-msl", "net", "mac",
                     "mtu", "store", "socket-address", "offload"}

CXX_KEYWORDS = set("""alignas alignof and and_eq asm auto bitand bitor bool break case catch char char8_t char16_t
char32_t class compl concept const consteval constexpr constinit const_cast continue co_await co_return co_yield
decltype default delete do double dynamic_cast else enum explicit export extern false float for friend goto if inline
int long mutable namespace new noexcept not not_eq nullptr operator or or_eq private protected public register
reinterpret_cast requires return short signed sizeof static static_assert static_cast struct switch template this
thread_local throw true try typedef typeid typename union unsigned using virtual void volatile wchar_t while xor
xor_eq""".split())

APP_KEYS = {"description"}
STORE_KEYS = {"help", "required", "default", "contains"}
SETTING_KEYS = {"type", "default", "help"}


class ManifestError(Exception):
    pass


@dataclass
class Setting:
    name: str  # as on the command line: redirect-port
    type: str
    help: str
    default: object = None  # None: optional setting (std::optional<T>, empty)

    @property
    def field(self):
        return self.name.replace("-", "_")


@dataclass
class Store:
    name: str
    help: str
    required: bool = False
    default: str | None = None  # relative to the application's directory
    contains: list = field(default_factory=list)


@dataclass
class Manifest:
    app_dir: Path
    path: Path | None  # None: the application has no manifest
    description: str = ""
    stores: list = field(default_factory=list)
    settings: list = field(default_factory=list)

    def store_default_dir(self, store):
        return (self.app_dir / store.default).resolve() if store.default is not None else None


# Value checks, shared with ./morgana configure (boot arguments are text): each returns an error or None.

def check_ipv4(text):
    parts = text.split(".")
    if len(parts) != 4 or not all(re.fullmatch(r"0|[1-9][0-9]{0,2}", p) and int(p) <= 255 for p in parts):
        return f"'{text}' is not an IPv4 address like 10.0.0.2"
    return None


def check_cidr(text):
    address, slash, prefix = text.partition("/")
    if not slash or check_ipv4(address) or not re.fullmatch(r"[0-9]+", prefix) or int(prefix) > 32:
        return f"'{text}' is not an IPv4 address with a prefix length (0 to 32) like 10.0.0.2/24"
    return None


def check_endpoint(text):
    address, colon, port = text.rpartition(":")
    if not colon or check_ipv4(address) or not re.fullmatch(r"[0-9]+", port) or not 0 < int(port) < 65536:
        return f"'{text}' is not ADDRESS:PORT like 10.0.0.1:80 (port 1 to 65535)"
    return None


def check_duration(text):
    match = re.fullmatch(r"([0-9]+)(ns|us|ms|s|min|h)", text)
    if not match:
        return f"'{text}' is not a duration like 250ms, 30s, 2min or 1h (units: ns, us, ms, s, min, h)"
    if int(match[1]) * DURATION_UNITS[match[2]] > 2**63 - 1:
        return f"'{text}' is out of range (at most about 292 years)"
    return None


TEXT_CHECKS = {"duration": check_duration, "ipv4-address": check_ipv4, "ipv4-cidr": check_cidr,
               "endpoint": check_endpoint}


def check_text(type_name, text):
    """Checks a boot argument's value as the library's parser will read it; returns an error or None."""
    if type_name == "bool":
        return None if text in ("true", "1", "yes", "on", "false", "0", "no", "off") else \
            f"'{text}' is not true or false"
    if type_name in TEXT_CHECKS:
        return TEXT_CHECKS[type_name](text)
    maximum = TYPES[type_name][1]
    if maximum is not None:
        if not re.fullmatch(r"[0-9]+", text):
            return f"'{text}' is not a decimal number"
        if int(text) > maximum:
            return f"{text} is out of range for {type_name} (0 to {maximum})"
    return None


def check_default(type_name, value):
    """Checks a manifest default (a TOML value); returns an error or None."""
    maximum = TYPES[type_name][1]
    if type_name == "bool":
        return None if isinstance(value, bool) else f"expected true or false, not {toml_repr(value)}"
    if maximum is not None:
        if isinstance(value, bool) or not isinstance(value, int):
            return f"expected an integer, not {toml_repr(value)}"
        if not 0 <= value <= maximum:
            return f"{value} is out of range for {type_name} (0 to {maximum})"
        return None
    if not isinstance(value, str):
        example = {"duration": '"30s"', "ipv4-address": '"10.0.0.1"', "ipv4-cidr": '"10.0.0.2/24"',
                   "endpoint": '"10.0.0.1:80"'}.get(type_name, '"text"')
        return f"expected a string like {example}, not {toml_repr(value)}"
    if "\0" in value:
        return "contains a NUL character"
    return TEXT_CHECKS[type_name](value) if type_name in TEXT_CHECKS else None


def toml_repr(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value + '"'
    if isinstance(value, (list, dict)):
        return "an array" if isinstance(value, list) else "a table"
    return str(value)


def load_manifest(app_dir):
    """Reads and validates APP-DIR/morgana.toml; raises ManifestError naming file, table and key."""
    app_dir = Path(app_dir).resolve()
    path = app_dir / MANIFEST
    if not path.exists():
        return Manifest(app_dir, None)
    try:
        with open(path, "rb") as file:
            data = tomllib.load(file)
    except tomllib.TOMLDecodeError as error:
        raise ManifestError(f"{path}: not valid TOML: {error}") from None
    except OSError as error:
        raise ManifestError(f"{path}: {error.strerror}") from None
    manifest = Manifest(app_dir, path)

    def fail(where, message):
        raise ManifestError(f"{path}: {where}: {message}")

    def table(value, where):
        if not isinstance(value, dict):
            fail(where, f"expected a table, not {toml_repr(value)}")
        return value

    def known_keys(entries, keys, where):
        for key in entries:
            if key not in keys:
                fail(where, f"unknown key '{key}' (known: {', '.join(sorted(keys))})")

    def text(entries, key, where, required=False, one_line=False):
        if key not in entries:
            if required:
                fail(where, f"'{key}' is missing")
            return ""
        value = entries[key]
        if not isinstance(value, str):
            fail(f"{where} {key}", f"expected a string, not {toml_repr(value)}")
        if "\0" in value:
            fail(f"{where} {key}", "contains a NUL character")
        if one_line and ("\n" in value or "\r" in value):
            fail(f"{where} {key}", "must be one line")
        return value

    known_keys(data, {"app", "stores", "settings"}, "top level")
    app = table(data.get("app", {}), "[app]")
    known_keys(app, APP_KEYS, "[app]")
    manifest.description = text(app, "description", "[app]", one_line=True)

    for name, entries in table(data.get("stores", {}), "[stores]").items():
        where = f"[stores.{name}]"
        if not STORE_NAME.fullmatch(name) or name in CXX_KEYWORDS or name.startswith("__") or \
                re.match(r"_[A-Z]", name):
            fail(where, f"'{name}' is not a store name: a C++ identifier (letters, digits, _), not a keyword")
        entries = table(entries, where)
        known_keys(entries, STORE_KEYS, where)
        store = Store(name, text(entries, "help", where, required=True, one_line=True))
        if "required" in entries:
            if not isinstance(entries["required"], bool):
                fail(f"{where} required", f"expected true or false, not {toml_repr(entries['required'])}")
            store.required = entries["required"]
        if "default" in entries:
            store.default = text(entries, "default", where)
            if not store.default or Path(store.default).is_absolute():
                fail(f"{where} default", f"expected a directory relative to {app_dir}, not '{store.default}'")
            if ";" in store.default:
                fail(f"{where} default", "a ';' in the directory cannot pass through CMake")
        if "contains" in entries:
            contains = entries["contains"]
            if not isinstance(contains, list) or not all(isinstance(k, str) and k and "\0" not in k
                                                         for k in contains):
                fail(f"{where} contains", f"expected an array of keys (non-empty strings), not {toml_repr(contains)}")
            store.contains = list(contains)
        manifest.stores.append(store)

    for name, entries in table(data.get("settings", {}), "[settings]").items():
        where = f"[settings.{name}]"
        if not SETTING_NAME.fullmatch(name) or name.endswith("-") or "--" in name:
            fail(where, f"'{name}' is not a setting name: lower-case letters, digits and single '-', "
                        "starting with a letter")
        if name.replace("-", "_") in CXX_KEYWORDS:
            fail(where, f"'{name}' is a C++ keyword, which cannot name a field of app::Settings")
        if name in MORGANA_ARGUMENTS:
            fail(where, f"'--{name}' is a boot argument of the platform or a library; choose another name")
        entries = table(entries, where)
        known_keys(entries, SETTING_KEYS, where)
        type_name = text(entries, "type", where, required=True)
        if type_name not in TYPES:
            fail(f"{where} type", f"unknown type '{type_name}' (known: {' '.join(TYPES)})")
        setting = Setting(name, type_name, text(entries, "help", where, required=True, one_line=True))
        if "default" in entries:
            error = check_default(type_name, entries["default"])
            if error:
                fail(f"{where} default", error)
            setting.default = entries["default"]
        manifest.settings.append(setting)
    return manifest


def cxx_string(value):
    """A C++ string literal holding VALUE (UTF-8); control characters as 3-digit octal escapes,
    which, unlike \\x, cannot swallow a following character."""
    out = []
    for index, char in enumerate(value):
        if char == "?" and index > 0 and value[index - 1] == "?":
            out.append("\\?")  # "??=" would be a trigraph (and -Wtrigraphs warns even where it is not)
        elif char == "\\":
            out.append("\\\\")
        elif char == '"':
            out.append('\\"')
        elif char == "\n":
            out.append("\\n")
        elif char == "\t":
            out.append("\\t")
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\{ord(char):03o}")
        elif 0xD800 <= ord(char) <= 0xDFFF:
            raise ManifestError(f"unpaired surrogate U+{ord(char):04X} in {value!r}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def cxx_default(setting):
    if setting.default is None:
        return "std::nullopt"
    if setting.type == "bool":
        return "true" if setting.default else "false"
    if setting.type == "string":
        return cxx_string(setting.default)
    if setting.type in PARSED_DEFAULTS:
        return f"args::parse_default<{PARSED_DEFAULTS[setting.type]}>({cxx_string(setting.default)})"
    return str(setting.default) if setting.default <= 2**31 - 1 else f"{setting.default}ULL"


def cxx_type(setting):
    base = TYPES[setting.type][0]
    return base if setting.default is not None else f"std::optional<{base}>"


def generate_header(manifest):
    includes = ["<cstdint>", "<optional>", "<string_view>"]
    if any(s.type == "size" for s in manifest.settings):
        includes.insert(0, "<cstddef>")
    project = ['"morgana/app/context.h"']
    if any(s.type == "duration" for s in manifest.settings):
        project.append('"morgana/core/time.h"')
    if any(s.type in ("ipv4-address", "ipv4-cidr", "endpoint") for s in manifest.settings):
        project.append('"morgana/net/ipv4_address.h"')
    lines = [f"// Generated by tools/appgen/appgen.py from {manifest_name(manifest)}: do not edit.",
             "#pragma once", ""]
    lines += [f"#include {i}" for i in includes] + [""] + [f"#include {i}" for i in project] + [""]
    lines += ["namespace app {", ""]
    lines += struct_lines("Settings", [f"{cxx_type(s)} {s.field};" for s in manifest.settings])
    lines += struct_lines("Stores", [f"const morgana::kv::Store& {s.name};" if s.required
                                     else f"const morgana::kv::Store* {s.name}; // null when absent"
                                     for s in manifest.stores])
    lines += ["using Context = morgana::AppContext<Settings, Stores>;", "", "} // namespace app", "",
              "// Defined by the application.",
              "[[nodiscard]] morgana::Task<morgana::Result<void>> app_main(app::Context& context);"]
    return "\n".join(lines) + "\n"


def struct_lines(name, members):
    if not members:
        return [f"struct {name} {{}};", ""]
    return [f"struct {name} {{"] + [f"  {m}" for m in members] + ["};", ""]


def manifest_name(manifest):
    return f"{manifest.app_dir.name}/{MANIFEST}" if manifest.path else f"{manifest.app_dir.name} (no {MANIFEST})"


def generate_source(manifest, configured_arguments):
    lines = [f"// Generated by tools/appgen/appgen.py from {manifest_name(manifest)}: do not edit.",
             '#include "morgana_app.h"', "", '#include "morgana/app/entry.h"', '#include "morgana/core/args.h"', "",
             "namespace {", "", "using namespace morgana;", ""]
    for s in manifest.settings:
        lines.append(f"args::Option<{cxx_type(s)}> {s.field}_setting{{{cxx_string(s.name)}, {cxx_string(s.help)}, "
                     f"{cxx_default(s)}, args::Group::application}};")
    if manifest.settings:
        lines.append("")
    lines += ["} // namespace", "",
              f"const std::string_view morgana::boot::description = {cxx_string(manifest.description)};",
              "// The application's log source, named after its directory.",
              f"morgana::log::Source morgana::boot::app_log{{{cxx_string(manifest.app_dir.name)}}};",
              "// Boot arguments baked in by `./morgana configure ... -- ARGS` (\"\" when none): parsed before the "
              "real ones.",
              f"const std::string_view morgana::boot::configured_arguments = {cxx_string(configured_arguments)};", "",
              "morgana::Task<morgana::Result<void>> morgana::boot::start(morgana::Context& base) {"]
    for s in manifest.stores:
        keys = "{" + ", ".join(cxx_string(k) for k in s.contains) + "}"
        method = "required_store" if s.required else "optional_store"
        lines.append(f"  const morgana::kv::Store* {s.name}_store = CO_TRY(base.{method}({cxx_string(s.name)}, {keys}));")
    settings = ", ".join(f"{s.field}_setting.value()" for s in manifest.settings)
    stores = ", ".join(f"*{s.name}_store" if s.required else f"{s.name}_store" for s in manifest.stores)
    lines += [f"  ::app::Context context(base, ::app::Settings{{{settings}}}, ::app::Stores{{{stores}}});",
              "  co_return co_await app_main(context);", "}"]
    return "\n".join(lines) + "\n"


def write_if_changed(path, text):
    """Leaves an unchanged file alone, so that its dependents are not rebuilt."""
    if not path.exists() or path.read_text() != text:
        path.write_text(text)


def main(argv):
    parser = argparse.ArgumentParser(prog="appgen", description="Generates morgana_app.h/.cpp from APP-DIR/"
                                     f"{MANIFEST}, or prints its store defaults for CMake.")
    parser.add_argument("app_dir", metavar="APP-DIR")
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--out", metavar="DIR", help="write DIR/morgana_app.h and DIR/morgana_app.cpp")
    mode.add_argument("--stores", action="store_true",
                      help="print NAME=DIR (absolute) for each store with a default, one a line")
    mode.add_argument("--check", action="store_true", help="only validate the manifest")
    parser.add_argument("--arguments-file", metavar="FILE",
                        help="the baked boot arguments (one line, as on a kernel command line); default none")
    options = parser.parse_args(argv)
    try:
        manifest = load_manifest(options.app_dir)
        if options.stores:
            for store in manifest.stores:
                if store.default is not None:
                    print(f"{store.name}={manifest.store_default_dir(store)}")
        elif options.out:
            arguments = ""
            if options.arguments_file:
                arguments = Path(options.arguments_file).read_text().strip()
            if "\0" in arguments or "\n" in arguments:
                raise ManifestError(f"{options.arguments_file}: the boot arguments must be one line")
            out = Path(options.out)
            out.mkdir(parents=True, exist_ok=True)
            write_if_changed(out / "morgana_app.h", generate_header(manifest))
            write_if_changed(out / "morgana_app.cpp", generate_source(manifest, arguments))
    except ManifestError as error:
        print(f"appgen: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
