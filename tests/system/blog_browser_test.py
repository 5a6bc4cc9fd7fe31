#!/usr/bin/env python3
"""examples/blog end to end over HTTPS: the sample blog (scripts/make-sample-blog)
cloned over https:// from `git http-backend` behind nginx (fcgiwrap), and
looked at in headless Chromium.

  - hosted (--net=socket, plain HTTP, the test CA given as --store=ca=DIR):
    cloned from https://localhost:PORT/…, blog_test's check_everything
    (crawler, html5lib, git-log dates, lists, feed), then a push and a signed
    webhook: the new post served and listed; nginx's access log shows the
    fetches went through http-backend;
  - pvh (QEMU with user networking, TCG, no root): the image, with the test
    certificate and CA crunched in, clones https://10.0.2.2:PORT/… from the
    same nginx (its certificate names 10.0.2.2), HSTS, check_everything over
    HTTPS through hostfwd, a push and a signed webhook pulled over https;
  - Chromium screenshots over HTTPS from that guest (the test key trusted by
    its SPKI pin), each page 200 by curl first: `/` and the article with the
    table and the image at 1000 px wide (also in Chromium's dark mode), the
    article at 400 px. The pixels are checked, not the DOM: the style's
    background (its dark one in dark mode) is the most common colour (a page
    that fails to load gets no screenshot; an error page would have other
    colours), its link colour and text in its text colour are there, the
    repository's own style.css colours the h1, the table's borders are drawn
    in the rule colour, the sample image's colours cover its area; at 400 px
    the left and right margins hold only the background and the full-width
    rules (the column narrows, nothing overflows). The PNGs stay in the log
    directory.
nginx, fcgiwrap, the app and QEMU are stopped by PID at the end, also on failure.
Environment: MORGANA_BLOG and MORGANA_BLOG_PVH, as blog_test.py (which boots the same pvh image).
"""

import re
import shutil
import subprocess

import chromium_support
import harness
import png
from blog_test import (BOOT_TIMEOUT, HOOK, PULL_TIMEOUT, PVH_BOOT_TIMEOUT, SECRET, SampleBlog, check_everything,
                       hosted_binary, main_list, make_certs, parse_page, pvh_image, signed_webhook)
from git_acceptance_test import start_git_nginx
from git_site_test import Curl, Process, boot_pvh, stop_pvh
from git_wire_test import free_port
from harness import ROOT, TestFailure

ARTICLE = "Posts/Markdown-notes"  # the sample's article with a table and the image
IMAGE = ROOT / "examples" / "blog" / "sample" / "static" / "images" / "logo.png"
CHROMIUM_TIMEOUT = 180
WIDE, NARROW = 1000, 400
MARGIN = 12  # columns at each edge that a 400 px page leaves to its background


def style_colours():
    """The colours of the blog's built-in style (src/morgana/blog/pages.cpp), {"light"|"dark": {name: (r, g, b)}}:
    its :root, and its :root under prefers-color-scheme: dark."""
    source = (ROOT / "src" / "morgana" / "blog" / "pages.cpp").read_text()
    schemes = {}
    for scheme, pattern in (("light", r":root \{ color-scheme: light dark; ([^}]*)\}"),
                            ("dark", r"@media \(prefers-color-scheme: dark\) \{ :root \{ ([^}]*)\}")):
        found = re.search(pattern, source)
        colours = {name: rgb(value) for name, value in re.findall(r"--([a-z]+): #([0-9a-f]{6});",
                                                                   found.group(1) if found else "")}
        if not {"bg", "fg", "accent", "rule"} <= set(colours):
            raise TestFailure(f"pages.cpp: no {scheme} :root naming --bg, --fg, --accent and --rule: {colours}")
        schemes[scheme] = colours
    return schemes


def sample_h1_colour():
    """The h1 colour the sample repository's own static/css/style.css sets."""
    css = (ROOT / "examples" / "blog" / "sample" / "static" / "css" / "style.css").read_text()
    return rgb(re.search(r"h1\s*\{\s*color:\s*#([0-9a-f]{6})", css).group(1))


def rgb(hex_digits):
    return tuple(bytes.fromhex(hex_digits))


def nginx_fetches(nginx_work, path):
    """Requests for git-upload-pack of the repository at `path` that nginx answered 200."""
    log = (nginx_work / "nginx-access.log").read_text(errors="replace")
    return len(re.findall(rf'"(?:GET|POST) {re.escape(path)}/(?:info/refs\?service=)?git-upload-pack[^"]*" 200 ',
                          log))


def push_new_post(t, blog, curl, app, label):
    """A new post pushed and announced by a signed webhook: served, and listed first on /."""
    blog.write("Posts/Deploying", "---\ntitle: Deploying to Xen\nauthor: Grace Hopper\ntags: xen\n---\n"
                                  "# Deploying\n\nThe image boots under `xl create`.\n")
    head = blog.commit_and_push("Deploying", "2024-06-10T10:00:00+00:00")
    signed_webhook(t, curl, head, label)
    app.wait_serving(head, PULL_TIMEOUT)
    status, _, body = curl("/Posts/Deploying")
    t.check(status == 200 and b"Deploying to Xen" in body, f"{label}: after a push and a signed webhook, the new post",
            f"{status}")
    status, _, body = curl("/")
    listed = main_list(parse_page(body)) if status == 200 else None
    t.check(listed and listed[0] == "Posts/Deploying", f"{label}: / lists the new post first", f"{status} {listed}")


def part_hosted(t, nginx_work, nginx_port, certs):
    binary = hosted_binary()
    http_port = free_port()
    blog = SampleBlog(t, nginx_work.parent / "hosted", f"http://127.0.0.1:{http_port}/")
    path = "/hosted/served/blog.git"
    app = Process(t, [binary, "--net=socket", f"--port={http_port}", "--tls=0", f"--store=ca={certs / 'ca'}",
                      f"--remote=https://localhost:{nginx_port}{path}", f"--webhook-path={HOOK}",
                      f"--webhook-secret={SECRET}"], "blog-hosted")
    app.wait_serving(blog.head(), BOOT_TIMEOUT)
    t.check(nginx_fetches(nginx_work, path) >= 2, "hosted: the clone went through nginx and git http-backend")
    curl = Curl(f"http://127.0.0.1:{http_port}")
    check_everything(t, blog, curl, "hosted, https remote")
    before = nginx_fetches(nginx_work, path)
    push_new_post(t, blog, curl, app, "hosted, https remote")
    t.check(nginx_fetches(nginx_work, path) > before, "hosted: the pull after the webhook went through nginx")
    counters = app.stop_with_counters()
    got = {name: counters.get(name, 0) for name in ("blog.pulls", "blog.pulls_failed", "blog.renders")}
    t.check(got == {"blog.pulls": 2, "blog.pulls_failed": 0, "blog.renders": 2},
            "hosted: two pulls over https (boot, webhook), none failed, two renders", f"{got}")


def part_pvh(t, nginx_work, nginx_port, certs):
    image = pvh_image(certs)
    http_port, https_port = free_port(), free_port()
    blog = SampleBlog(t, nginx_work.parent / "pvh", f"https://localhost:{https_port}/")
    path = "/pvh/served/blog.git"
    append = f"--remote=https://10.0.2.2:{nginx_port}{path} --webhook-path={HOOK} --webhook-secret={SECRET}"
    guest = boot_pvh(t, image, append, http_port, https_port, "blog-pvh")
    guest.wait_serving(blog.head(), PVH_BOOT_TIMEOUT)
    t.check(nginx_fetches(nginx_work, path) >= 2, "pvh: the clone from 10.0.2.2 went through nginx")
    curl = Curl(f"https://localhost:{https_port}", "--cacert", str(certs / "ca.pem"))
    status, headers, _ = curl("/")
    t.check(status == 200 and headers.get("strict-transport-security", "").startswith("max-age="),
            "pvh: / over HTTPS with HSTS", f"{status} {headers}")
    check_everything(t, blog, curl, "pvh, https remote")
    t.run_part(lambda t: screenshots(t, curl, certs, f"https://localhost:{https_port}"))
    push_new_post(t, blog, curl, guest, "pvh, https remote")
    stop_pvh(t, guest)


def screenshot(t, certs, url, name, width, height, *options):
    """Chromium's screenshot of `url` at width x height, saved as NAME.png in the log directory; its Image."""
    path = t.log_dir / f"{name}.png"
    path.unlink(missing_ok=True)
    command = chromium_support.command(t.log_dir / f"chromium-profile-{name}", certs / "tls" / "server.pem",
                                       f"--window-size={width},{height}", "--hide-scrollbars",
                                       "--virtual-time-budget=5000", f"--screenshot={path}", *options, url)
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=CHROMIUM_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise TestFailure(f"chromium did not finish {url} within {CHROMIUM_TIMEOUT} s")
    (t.log_dir / f"chromium-{name}.log").write_text(result.stdout + result.stderr)
    t.require(path.is_file(), f"chromium: a screenshot of {url} ({width}x{height})",
              f"exit {result.returncode}: {result.stderr[-400:]}")
    image = png.read(path)
    t.require((image.width, image.height) == (width, height), f"{name}.png is {width}x{height}",
              f"{image.width}x{image.height}")
    return image


def check_style(t, image, style, name):
    """The page in the blog's style, not an error page: its background fills most of it, its link colour
    and text in its text colour are there."""
    counts = image.counts()
    most = counts.most_common(1)[0][0]
    t.check(most == style["bg"] and image.pixel(0, 0) == style["bg"],
            f"{name}: the style's background {style['bg']} is the most common colour and the corner's",
            f"most common {most}, corner {image.pixel(0, 0)}")
    t.check(counts[style["accent"]] >= 50, f"{name}: links in the accent colour {style['accent']}",
            f"{counts[style['accent']]} pixels")
    # Glyphs are antialiased: their cores are the text colour, their edges near it.
    near = sum(count for colour, count in counts.items()
               if all(abs(a - b) <= 0x30 for a, b in zip(colour, style["fg"])))
    t.check(counts[style["fg"]] >= 100 and near >= 1000,
            f"{name}: text ({counts[style['fg']]} pixels of {style['fg']}, {near} near it)")
    return counts


def check_image(t, counts, name):
    """Each colour of the sample image covers at least 90% of its area in the image."""
    expected = png.read(IMAGE).counts()
    shown = {colour: counts[colour] for colour in expected}
    t.check(all(shown[colour] >= 0.9 * area for colour, area in expected.items()),
            f"{name}: the image's colours cover its area", f"{shown} for {dict(expected)}")


def check_table(t, image, style, name):
    """The table's borders: horizontal lines in the rule colour that start right of the header's rule
    (the table sits in main's padding), one above each of its rows and one below."""
    lines = image.runs(style["rule"], 60)
    t.require(lines, f"{name}: horizontal lines in the rule colour {style['rule']}")
    left = min(x for _, x in lines)
    table = [y for y, x in lines if x > left + 5]
    rows = len(re.findall(r"^\|", (ROOT / "examples" / "blog" / "sample" / ARTICLE).read_text(), re.M)) - 1
    t.check(len(table) == rows + 1, f"{name}: the table's {rows} rows have their {rows + 1} borders drawn",
            f"lines at {lines}")


def screenshots(t, curl, certs, base):
    schemes = style_colours()
    style = schemes["light"]
    for path in ("/", "/" + ARTICLE):
        status, headers, _ = curl(path)
        t.require(status == 200 and headers.get("content-type", "").startswith("text/html"),
                  f"curl: {path} → 200 HTML", f"{status} {headers.get('content-type')}")

    index = screenshot(t, certs, base + "/", "index", WIDE, 1400)
    check_style(t, index, style, "index")

    article = screenshot(t, certs, base + "/" + ARTICLE, "article", WIDE, 2000)
    counts = check_style(t, article, style, "article")
    h1 = sample_h1_colour()
    t.check(counts[h1] >= 50, f"article: the h1 in the repository's style.css colour {h1}", f"{counts[h1]} pixels")
    check_table(t, article, style, "article")
    check_image(t, counts, "article")

    # Chromium's dark mode makes prefers-color-scheme dark: the style's dark colours instead.
    dark = screenshot(t, certs, base + "/" + ARTICLE, "article-dark", WIDE, 2000, "--force-dark-mode")
    check_image(t, check_style(t, dark, schemes["dark"], "article, dark scheme"), "article, dark scheme")
    check_table(t, dark, schemes["dark"], "article, dark scheme")

    narrow = screenshot(t, certs, base + "/" + ARTICLE, "article-narrow", NARROW, 3000)
    counts = check_style(t, narrow, style, "article at 400 px")
    check_image(t, counts, "article at 400 px")
    for side, (first, last) in (("left", (0, MARGIN)), ("right", (-MARGIN, 0))):
        edge = narrow.columns(first, last)
        other = {colour: count for colour, count in edge.items() if colour not in (style["bg"], style["rule"])}
        t.check(not other, f"article at 400 px: the {side} {MARGIN} columns hold only the background and rules "
                           "(the column narrows, nothing overflows)", f"{dict(list(other.items())[:5])}")


def test(t):
    for tool in ("nginx", "fcgiwrap", "chromium"):
        if not shutil.which(tool):
            raise TestFailure(f"{tool} is not installed (scripts/setup installs it)")
    certs = make_certs()
    work = t.log_dir / "work"
    nginx_work = work / "nginx"
    # One nginx for both parts: each part's bare repository is under work/PART/served/.
    _, https_port = start_git_nginx(t, nginx_work, work, certs)
    t.run_part(lambda t: part_hosted(t, nginx_work, https_port, certs))
    t.run_part(lambda t: part_pvh(t, nginx_work, https_port, certs))


if __name__ == "__main__":
    harness.main(test, needs_root=False)
