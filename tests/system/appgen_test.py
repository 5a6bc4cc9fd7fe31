#!/usr/bin/env python3
"""tools/appgen/appgen.py: every setting type and its C++ default, optional
settings and stores, manifest errors (each naming file, table and key), C++
string escaping (checked by compiling), the store defaults printed for CMake,
and a generated pair compiled with clang++-19 -fsyntax-only: against the real
morgana/app/context.h when it exists, else against a small stub."""

import re
import shutil
import subprocess
import sys

import harness
from harness import ROOT

sys.path.insert(0, str(ROOT / "tools" / "appgen"))
import appgen  # noqa: E402

APPGEN = ROOT / "tools" / "appgen" / "appgen.py"

EVERY_TYPE = """
[app]
description = "Every type"

[stores.site]
help = "the files"
required = true
default = "site"
contains = ["index.html", "a/b.css"]

[stores.keys]
help = "optional keys"

[settings.flag]
type = "bool"
default = true
help = "a flag"

[settings.small]
type = "uint8"
default = 255
help = "8 bits"

[settings.port]
type = "uint16"
default = 80
help = "16 bits"

[settings.count]
type = "uint32"
default = 4294967295
help = "32 bits"

[settings.big]
type = "uint64"
default = 18446744073709551615
help = "64 bits"

[settings.max-size]
type = "size"
default = 1024
help = "a size"

[settings.name]
type = "string"
default = "world"
help = "a string"

[settings.timeout]
type = "duration"
default = "250ms"
help = "a duration"

[settings.gateway]
type = "ipv4-address"
default = "10.0.0.1"
help = "an address"

[settings.address]
type = "ipv4-cidr"
default = "10.0.0.2/24"
help = "a CIDR"

[settings.peer]
type = "endpoint"
default = "10.0.0.1:80"
help = "an endpoint"

[settings.redirect-port]
type = "uint16"
help = "optional"

[settings.wait]
type = "duration"
help = "optional duration"
"""

# Headers standing in for the library side (spec/app-manifest.md section 2) until it lands.
STUB = {
    "morgana/app/context.h": """#pragma once
#include <initializer_list>
#include <string_view>
#include "morgana/core/result.h"
#include "morgana/core/task.h"
#include "morgana/kv/store.h"
namespace morgana {
class Context {
public:
  Result<const kv::Store*> required_store(std::string_view name, std::initializer_list<std::string_view> keys);
  Result<const kv::Store*> optional_store(std::string_view name, std::initializer_list<std::string_view> keys);
};
template <class S, class T>
class AppContext {
public:
  AppContext(Context& base, S settings, T stores) : m_base(base), m_settings(settings), m_stores(stores) {}
private:
  Context& m_base;
  S m_settings;
  T m_stores;
};
} // namespace morgana
""",
    "morgana/app/entry.h": """#pragma once
#include <string_view>
#include "morgana/app/context.h"
namespace morgana::boot {
extern const std::string_view description;
extern const std::string_view configured_arguments;
Task<Result<void>> start(Context& base);
} // namespace morgana::boot
""",
    "morgana/core/args.h": """#pragma once
#include <string_view>
namespace morgana::args {
enum class Group { library, application };
template <class T> T parse_default(std::string_view text);
template <class T>
class Option {
public:
  Option(std::string_view name, std::string_view help, T default_value, Group group);
  const T& value() const;
};
} // namespace morgana::args
""",
}


def write_app(directory, manifest):
    directory.mkdir(parents=True, exist_ok=True)
    if manifest is not None:
        (directory / "morgana.toml").write_text(manifest)
    return directory


def generate(app_dir, out, arguments=None):
    command = [sys.executable, str(APPGEN), str(app_dir), "--out", str(out)]
    if arguments is not None:
        arguments_file = out.parent / f"{out.name}-arguments.txt"
        arguments_file.write_text(arguments)
        command += ["--arguments-file", str(arguments_file)]
    return subprocess.run(command, capture_output=True, text=True, timeout=30)


def compile_pair(t, out, what, stub_dir):
    """clang++-19 -fsyntax-only on the generated pair plus a main.cpp including the header."""
    (out / "main.cpp").write_text('#include "morgana_app.h"\n'
                                  "morgana::Task<morgana::Result<void>> app_main(app::Context&) { co_return morgana::Result<void>{}; }\n")
    includes = ([f"-I{stub_dir}"] if stub_dir else []) + [f"-I{out}", f"-I{ROOT / 'src'}"]
    for source in ("morgana_app.cpp", "main.cpp"):
        result = subprocess.run(["clang++-19", "-std=gnu++23", "-fsyntax-only", "-fno-exceptions", "-fno-rtti",
                                 "-Wall", "-Wextra", "-Wshadow", "-Werror", *includes, str(out / source)],
                                capture_output=True, text=True, timeout=120)
        t.check(result.returncode == 0, f"{what}: {source} compiles", result.stderr[-3000:])


def declared_arguments():
    """The names of the args::Option / args::Flag objects declared under src/morgana (not core/args)."""
    names = set()
    for path in (ROOT / "src" / "morgana").rglob("*.cpp"):
        text = path.read_text()
        for match in re.finditer(r'args::(?:Option<.*?>|Flag)\s+\w+\{\s*"([a-z0-9-]+)"', text, re.S):
            names.add(match.group(1))
    return names


def test(t):
    work = t.log_dir  # emptied when the test starts; kept afterwards to look at

    declared = declared_arguments()
    t.check(declared == appgen.MORGANA_ARGUMENTS, "appgen's list of reserved names is the platform's and "
            "libraries' boot arguments", f"in src/ only: {sorted(declared - appgen.MORGANA_ARGUMENTS)}, "
            f"in appgen only: {sorted(appgen.MORGANA_ARGUMENTS - declared)}")

    # Every type, with and without defaults.
    app = write_app(work / "every", EVERY_TYPE)
    (app / "site").mkdir()
    result = generate(app, work / "every-out", "--port=8080 --name=\"x\"")
    t.require(result.returncode == 0, "a manifest with every type generates", result.stderr)
    header = (work / "every-out" / "morgana_app.h").read_text()
    source = (work / "every-out" / "morgana_app.cpp").read_text()
    fields = ["bool flag;", "std::uint8_t small;", "std::uint16_t port;", "std::uint32_t count;", "std::uint64_t big;",
              "std::size_t max_size;", "std::string_view name;", "morgana::Duration timeout;",
              "morgana::net::Ipv4Address gateway;", "morgana::net::Ipv4Cidr address;", "morgana::net::Endpoint peer;",
              "std::optional<std::uint16_t> redirect_port;", "std::optional<morgana::Duration> wait;"]
    for text in fields:
        t.check(text in header, f"header: Settings has '{text}'", header)
    for text in ("const morgana::kv::Store& site;", "const morgana::kv::Store* keys;",
                 "using Context = morgana::AppContext<Settings, Stores>;", '#include "morgana/app/context.h"',
                 "[[nodiscard]] morgana::Task<morgana::Result<void>> app_main(app::Context& context);"):
        t.check(text in header, f"header: has '{text}'", header)
    t.check(header.index("bool flag;") < header.index("std::uint8_t small;") < header.index("std::optional<morgana::Duration> wait"),
            "header: fields in the manifest's order")
    defaults = ['args::Option<bool> flag_setting{"flag", "a flag", true, args::Group::application};',
                "small_setting{\"small\", \"8 bits\", 255,", "count_setting{\"count\", \"32 bits\", 4294967295ULL,",
                "big_setting{\"big\", \"64 bits\", 18446744073709551615ULL,",
                'args::Option<std::size_t> max_size_setting{"max-size", "a size", 1024,',
                'name_setting{"name", "a string", "world",',
                'args::parse_default<Duration>("250ms")', 'args::parse_default<net::Ipv4Address>("10.0.0.1")',
                'args::parse_default<net::Ipv4Cidr>("10.0.0.2/24")', 'args::parse_default<net::Endpoint>("10.0.0.1:80")',
                'args::Option<std::optional<std::uint16_t>> redirect_port_setting{"redirect-port", "optional", '
                "std::nullopt, args::Group::application};",
                "args::Option<std::optional<morgana::Duration>> wait_setting"]
    for text in defaults:
        t.check(text in source, f"source: has '{text}'", source)
    for text in ('const std::string_view morgana::boot::description = "Every type";',
                 'const std::string_view morgana::boot::configured_arguments = "--port=8080 --name=\\"x\\"";',
                 'CO_TRY(base.required_store("site", {"index.html", "a/b.css"}))',
                 'CO_TRY(base.optional_store("keys", {}))', "::app::Stores{*site_store, keys_store}",
                 "::app::Settings{flag_setting.value(), small_setting.value(),",
                 "co_return co_await app_main(context);"):
        t.check(text in source, f"source: has '{text}'", source)

    # No manifest, and a manifest with neither settings nor stores.
    for what, manifest in (("no manifest", None), ("an empty manifest", "")):
        app = write_app(work / what.replace(" ", "-"), manifest)
        out = work / f"{app.name}-out"
        result = generate(app, out)
        header = (out / "morgana_app.h").read_text() if result.returncode == 0 else ""
        source = (out / "morgana_app.cpp").read_text() if result.returncode == 0 else ""
        t.check("struct Settings {};" in header and "struct Stores {};" in header and
                'description = "";' in source and 'configured_arguments = "";' in source and
                "::app::Settings{}, ::app::Stores{}" in source,
                f"{what}: empty Settings and Stores, empty description and arguments", result.stderr + header + source)

    # Store defaults for CMake.
    result = subprocess.run([sys.executable, str(APPGEN), str(work / "every"), "--stores"], capture_output=True,
                            text=True, timeout=30)
    t.check(result.returncode == 0 and result.stdout == f"site={(work / 'every' / 'site').resolve()}\n",
            "--stores prints NAME=absolute dir for each store with a default", result.stdout + result.stderr)
    result = subprocess.run([sys.executable, str(APPGEN), str(ROOT / "examples" / "static-site"), "--stores"],
                            capture_output=True, text=True, timeout=30)
    t.check(result.stdout == f"site={ROOT / 'examples' / 'static-site' / 'site'}\n",
            "--stores for examples/static-site names its site directory", result.stdout + result.stderr)

    # Every manifest in the tree is valid.
    for manifest in sorted(ROOT.glob("examples/*/morgana.toml")) + sorted(ROOT.glob("tests/*/morgana.toml")):
        try:
            appgen.load_manifest(manifest.parent)
            t.check(True, f"{manifest.relative_to(ROOT)} is valid")
        except appgen.ManifestError as error:
            t.check(False, f"{manifest.relative_to(ROOT)} is valid", str(error))

    # Errors: each names the file, the table and the key.
    setting = '[settings.x]\ntype = "{}"\ndefault = {}\nhelp = "h"\n'
    errors = [
        ('[app]\ndescrption = "x"\n', "[app]: unknown key 'descrption'", "an unknown key in [app]"),
        ("[application]\n", "top level: unknown key 'application'", "an unknown table"),
        ('[settings.x]\ntype = "uint16"\nhelp = "h"\nvalue = 3\n', "[settings.x]: unknown key 'value'",
         "an unknown key in a setting"),
        ('[stores.s]\nhelp = "h"\nrequird = true\n', "[stores.s]: unknown key 'requird'", "an unknown key in a store"),
        ('[settings.x]\ntype = "int"\nhelp = "h"\n', "[settings.x] type: unknown type 'int'", "an unknown type"),
        ('[settings.x]\nhelp = "h"\n', "[settings.x]: 'type' is missing", "a setting without a type"),
        ('[settings.x]\ntype = "bool"\n', "[settings.x]: 'help' is missing", "a setting without help"),
        ('[settings.Port]\ntype = "bool"\nhelp = "h"\n', "[settings.Port]: 'Port' is not a setting name",
         "an upper-case setting name"),
        ('[settings.x_y]\ntype = "bool"\nhelp = "h"\n', "[settings.x_y]: 'x_y' is not a setting name",
         "an underscore in a setting name"),
        ('[settings.new]\ntype = "bool"\nhelp = "h"\n', "[settings.new]: 'new' is a C++ keyword", "a keyword setting"),
        ('[settings.ipv4]\ntype = "bool"\nhelp = "h"\n',
         "[settings.ipv4]: '--ipv4' is a boot argument of the platform or a library", "a library argument's name"),
        ('[stores.2x]\nhelp = "h"\n', "[stores.2x]: '2x' is not a store name", "a store name with a leading digit"),
        ('[stores.class]\nhelp = "h"\n', "[stores.class]: 'class' is not a store name", "a keyword store name"),
        ('[stores.s]\nhelp = "h"\nrequired = "yes"\n', "[stores.s] required: expected true or false",
         "a non-boolean required"),
        ('[stores.s]\nhelp = "h"\ncontains = "a"\n', "[stores.s] contains: expected an array", "contains not an array"),
        ('[stores.s]\nhelp = "h"\ndefault = "/abs"\n', "[stores.s] default: expected a directory relative",
         "an absolute store default"),
        ('[app]\ndescription = 3\n', "[app] description: expected a string, not 3", "a number as description"),
        ('[app]\ndescription = "a\\nb"\n', "[app] description: must be one line", "a two-line description"),
        (setting.format("uint8", 256), "[settings.x] default: 256 is out of range for uint8 (0 to 255)",
         "uint8 out of range"),
        (setting.format("uint16", 65536), "65536 is out of range for uint16", "uint16 out of range"),
        (setting.format("uint32", 4294967296), "4294967296 is out of range for uint32", "uint32 out of range"),
        (setting.format("uint64", -1), "-1 is out of range for uint64", "a negative uint64"),
        (setting.format("size", 18446744073709551616), "is out of range for size", "size out of range"),
        (setting.format("uint16", '"80"'), '[settings.x] default: expected an integer, not "80"',
         "a string for an integer"),
        (setting.format("uint16", "true"), "expected an integer, not true", "a boolean for an integer"),
        (setting.format("bool", 1), "[settings.x] default: expected true or false, not 1", "a number for a bool"),
        (setting.format("string", 3), 'expected a string like "text", not 3', "a number for a string"),
        (setting.format("duration", 30), 'expected a string like "30s", not 30', "a number for a duration"),
        (setting.format("duration", '"30"'), "'30' is not a duration", "a duration without unit"),
        (setting.format("duration", '"30 s"'), "'30 s' is not a duration", "a duration with a space"),
        (setting.format("duration", '"2mins"'), "'2mins' is not a duration", "a duration with a bad unit"),
        (setting.format("duration", '"9999999999h"'), "'9999999999h' is out of range", "a duration too long"),
        (setting.format("ipv4-address", '"10.0.0.256"'), "'10.0.0.256' is not an IPv4 address", "an octet > 255"),
        (setting.format("ipv4-address", '"10.0.0"'), "'10.0.0' is not an IPv4 address", "three octets"),
        (setting.format("ipv4-address", '"10.0.0.01"'), "'10.0.0.01' is not an IPv4 address", "a leading zero"),
        (setting.format("ipv4-cidr", '"10.0.0.2"'), "'10.0.0.2' is not an IPv4 address with a prefix",
         "a CIDR without prefix"),
        (setting.format("ipv4-cidr", '"10.0.0.2/33"'), "'10.0.0.2/33' is not an IPv4 address with a prefix",
         "a prefix > 32"),
        (setting.format("endpoint", '"10.0.0.1"'), "'10.0.0.1' is not ADDRESS:PORT", "an endpoint without port"),
        (setting.format("endpoint", '"10.0.0.1:0"'), "'10.0.0.1:0' is not ADDRESS:PORT", "port 0"),
        (setting.format("endpoint", '"10.0.0.1:65536"'), "'10.0.0.1:65536' is not ADDRESS:PORT", "port 65536"),
        ("[app\n", "not valid TOML", "broken TOML"),
    ]
    for number, (manifest, message, what) in enumerate(errors):
        app = write_app(work / f"bad{number}", manifest)
        result = generate(app, work / f"bad{number}-out")
        expected = f"appgen: {app / 'morgana.toml'}: "
        t.check(result.returncode == 1 and result.stderr.startswith(expected) and message in result.stderr and
                not (work / f"bad{number}-out" / "morgana_app.h").exists(),
                f"refuses {what}: {message}", f"status {result.returncode}: {result.stderr.strip()}")

    # Boot argument values as ./morgana configure checks them.
    texts = [("bool", "yes", True), ("bool", "maybe", False), ("uint8", "255", True), ("uint8", "256", False),
             ("uint16", "-1", False), ("duration", "2min", True), ("duration", "1h", True), ("duration", "5", False),
             ("ipv4-cidr", "0.0.0.0/0", True), ("endpoint", "1.2.3.4:5", True), ("string", "any thing", True)]
    for type_name, text, valid in texts:
        t.check((appgen.check_text(type_name, text) is None) == valid,
                f"boot argument {type_name} '{text}' is {'accepted' if valid else 'refused'}")

    # C++ escaping: awkward strings survive into literals that compile and mean the same.
    # As TOML basic-string text: a quote, a backslash, a tab, a trigraph, control characters before digits, UTF-8.
    awkward = r'quote \" backslash \\ tab \t trigraph ??= control \u0001 then 7 \u007f and 0 é …'
    manifest = (f'[app]\ndescription = "{awkward}"\n[settings.s]\ntype = "string"\ndefault = "{awkward}"\n'
                f'help = "{awkward}"\n')
    app = write_app(work / "escape", manifest)
    result = generate(app, work / "escape-out", 'a"b\\c')
    t.require(result.returncode == 0, "awkward strings generate", result.stderr)
    expected = appgen.load_manifest(app).description
    t.check(appgen.cxx_string("\x01" + "7") == '"\\0017"', "a control character before a digit is a 3-digit octal "
            "escape", appgen.cxx_string("\x017"))
    checker = work / "escape-check.cpp"
    checker.write_text('#include <string_view>\n'
                       f'constexpr std::string_view generated = {appgen.cxx_string(expected)};\n'
                       f'constexpr std::string_view expected = "{cxx_bytes(expected)}";\n'
                       'static_assert(generated == expected);\n'
                       f'static_assert(std::string_view{{{appgen.cxx_string(chr(10) + chr(13))}}} == "\\x0a\\x0d");\n')
    result = subprocess.run(["clang++-19", "-std=c++23", "-fsyntax-only", str(checker)], capture_output=True, text=True,
                            timeout=60)
    t.check(result.returncode == 0, "escaped literals hold the exact bytes (static_assert against \\x escapes)",
            result.stderr[-2000:])
    source = (work / "escape-out" / "morgana_app.cpp").read_text()
    t.check('configured_arguments = "a\\"b\\\\c";' in source, "the baked arguments are escaped", source)

    # The generated pair compiles.
    real = (ROOT / "src" / "morgana" / "app" / "context.h").exists()
    stub_dir = None
    if real:
        print("  (compiling against the real morgana/app/context.h)")
    else:
        print("  (src/morgana/app/context.h is not there yet: compiling against a stub of the library side)")
        stub_dir = work / "stub"
        for path, text in STUB.items():
            (stub_dir / path).parent.mkdir(parents=True, exist_ok=True)
            (stub_dir / path).write_text(text)
    if shutil.which("clang++-19") is None:
        print("  (clang++-19 is missing: compile checks skipped)")
        return
    compile_pair(t, work / "every-out", "every type", stub_dir)
    compile_pair(t, work / "no-manifest-out", "no manifest", stub_dir)
    compile_pair(t, work / "escape-out", "awkward strings", stub_dir)
    out = work / "static-site-out"
    t.require(generate(ROOT / "examples" / "static-site", out, "--tls=443").returncode == 0,
              "examples/static-site generates")
    compile_pair(t, out, "examples/static-site", stub_dir)


def cxx_bytes(text):
    """TEXT's UTF-8 bytes as \\x escapes, one literal each, so no escape swallows the next."""
    return '" "'.join(f"\\x{b:02x}" for b in text.encode())


if __name__ == "__main__":
    harness.main(test, needs_root=False)
