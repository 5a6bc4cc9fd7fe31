#!/usr/bin/env python3
"""examples/static-site and examples/blog as Xen PVH guests (Xen 4.17 nested in QEMU,
tests/system/xen_support.py), each created from the .xl that `./morgana deploy --format xen`
writes, unchanged; both in one Xen boot, checked from dom0 with curl over HTTPS:

  - static-site, configured as static_site_test.py's pvh part (the same image: the test
    certificate crunched in, --tls=443 --port=80), its address overridden in the .xl's
    extra =: every file of the sample site byte-exact (dom0 runs sha256sum -c on a list of the
    host's sums), each with HSTS; plain HTTP answers 301 to the same URL over HTTPS;
  - the blog, configured as the seed configured Canopy (scripts/demo's line: --remote,
    --index-page=Posts, --name="full stack engineer", --tls=443 --port=80, the certificate
    crunched in), its address from dom0's dnsmasq: it clones scripts/make-sample-blog's
    repository from `git daemon` on the host, through dom0 (socat on 10.0.0.1:9418 to the host
    at 10.0.2.2 on QEMU's user networking) and serves the head; /, every article, the lists,
    the tags and /atom fetched by dom0's curl come back and get blog_test.py's checks (titles,
    authors, dates from git log, the lists' order, the feed through feedparser); HSTS, and
    HTTP's 301 to HTTPS.

Both certificates name DNS names (static-site.test, blog.test) that dom0's curl resolves
with --resolve: the blog's address is leased, not known before the run. Logs:
build/system-tests/xen_site_test/."""

import hashlib
import urllib.parse

import harness
import xen_support
from blog_test import SampleBlog, check_articles, check_feed, check_lists, parse_page
from git_wire_test import start_daemon
from harness import ROOT
from static_site_test import CERTS, HOST, SITE, parse_response, site_files

STATIC_ADDRESS = "10.0.0.120"  # outside dnsmasq's 10.0.0.2-99: the blog leases one of those
BLOG_HOST = "blog.test"
BLOG_NAME = "full stack engineer"
BLOG_CERTS = ROOT / "build" / "test-certs-xen"
GIT_RELAY_PORT = 9418  # dom0's, on xenbr0: what the blog's --remote names
QEMU_HOST = "10.0.2.2"  # the host as dom0 sees it on QEMU's user networking
GUEST_TIMEOUT = 900  # s: a boot, and the blog's clone and render, nested under TCG on a loaded host


class Fetched:
    """Responses dom0's curl wrote (curl -D - -o -), looked up by path like git_site_test.Curl's calls, so that
    blog_test's checks read them; a path dom0 was not asked to fetch fails the test."""

    def __init__(self, result, paths, directory):
        self.base_url = f"https://{BLOG_HOST}"
        self.responses = {}
        for number, path in enumerate(paths):
            raw = result.files.get(f"{directory}/{number}", b"")
            self.responses[canonical(path)] = parse_response(raw) if raw else None

    def __call__(self, path):
        if canonical(path) not in self.responses:
            raise harness.TestFailure(f"dom0 was not asked to fetch {path}")
        response = self.responses[canonical(path)]
        if response is None:
            raise harness.TestFailure(f"dom0's curl got no response for {path}")
        return response


def canonical(path):
    return urllib.parse.quote(urllib.parse.unquote(path))


def blog_paths(blog, articles):
    """What blog_test's checks fetch: the index, each folder, tag and article, /tags, an unknown tag, the feed."""
    every = list(articles.values())
    folders = sorted({a.path.split("/")[0] for a in every if "/" in a.path})
    tags = sorted({tag for a in every for tag in a.tags})
    return (["/", "/atom", "/tags", "/tags/no-such-tag"] + ["/" + f for f in folders] +
            ["/tags/" + urllib.parse.quote(tag) for tag in tags] + ["/" + urllib.parse.quote(a.path) for a in every])


def dom0_script(static_site, blog, git_port):
    """Starts both guests, relays git:// to the host, and fetches what the checks read into /results."""
    static_curl = (f"curl -sS --http1.1 --max-time 60 --cacert /xen/static-site-ca.pem "
                   f"--resolve {HOST}:443:{STATIC_ADDRESS} --resolve {HOST}:80:{STATIC_ADDRESS}")
    return f"""
ip -4 address show eth0 >/results/eth0 2>&1
socat -d -d TCP-LISTEN:{GIT_RELAY_PORT},fork,reuseaddr TCP:{QEMU_HOST}:{git_port} 2>/results/git-relay.log &
guest_start {static_site.name} {static_site.config_path}
guest_start {blog.name} {blog.config_path}

guest_console {static_site.name} 'serving on' {GUEST_TIMEOUT} || echo "static-site never served"
mkdir -p /tmp/site
while read -r sum name; do
  mkdir -p "/tmp/site/$(dirname "$name")"
  {static_curl} -D /tmp/headers -o "/tmp/site/$name" "https://{HOST}/$name" 2>>/results/static-curl.log
  echo "$name $(grep -ci '^strict-transport-security: max-age=31536000' /tmp/headers)" >>/results/static-hsts
done </xen/site.sha256
(cd /tmp/site && sha256sum -c /xen/site.sha256) >/results/static-sums 2>&1
{static_curl} -D /results/static-redirect -o /dev/null 'http://{HOST}/css/site.css?v=2' 2>>/results/static-curl.log

address=$(guest_address {blog.name} {GUEST_TIMEOUT}) && echo "$address" >/results/blog-address
guest_console {blog.name} 'serving [0-9a-f]{{40}} \\(' {GUEST_TIMEOUT} || echo "the blog never served a head"
blog_curl="curl -sS --http1.1 --max-time 60 --cacert /xen/blog-ca.pem --resolve {BLOG_HOST}:443:$address"
blog_curl="$blog_curl --resolve {BLOG_HOST}:80:$address"
mkdir -p /results/blog
number=0
while read -r path; do
  $blog_curl -D - -o - "https://{BLOG_HOST}$path" >"/results/blog/$number" 2>>/results/blog-curl.log
  number=$((number + 1))
done </xen/blog-paths
$blog_curl -D /results/blog-redirect -o /dev/null 'http://{BLOG_HOST}/Posts/Welcome' 2>>/results/blog-curl.log

xl destroy {static_site.name} && guest_wait {static_site.name}
xl destroy {blog.name} && guest_wait {blog.name}
"""


def check_static_site(t, result):
    console = result.guest_console("static-site")
    t.check(f"serving on {STATIC_ADDRESS}" in console, "static-site serves on the address the .xl's extra = gives",
            console[-1500:])
    sums = result.text("/results/static-sums")
    names = site_files()
    for name in names:
        t.check(f"{name}: OK\n" in sums, f"static-site: /{name} byte-exact over HTTPS (dom0's sha256sum -c)",
                sums + result.text("/results/static-curl.log")[-800:])
    hsts = dict(line.split(" ", 1) for line in result.text("/results/static-hsts").splitlines())
    t.check(all(hsts.get(name) == "1" for name in names), f"static-site: each of the {len(names)} files has HSTS",
            f"{hsts}")
    status, headers, _ = parse_response(result.files.get("/results/static-redirect", b"HTTP/1.1 000 none\r\n\r\n"))
    t.check(status == 301 and headers.get("location") == f"https://{HOST}/css/site.css?v=2",
            "static-site: plain HTTP → 301 to the same URL over HTTPS", f"{status} {headers.get('location')}")


def check_blog(t, result, sample, articles, paths):
    console = result.guest_console("blog")
    address = result.text("/results/blog-address").strip()
    t.check(address.startswith("10.0.0.") and f"serving on {address}" in console,
            "blog: serves on the address dnsmasq leased it", f"lease {address!r}; {console[-1500:]}")
    t.require(f"serving {sample.head()} (" in console,
              "blog: cloned the sample's head over git:// through dom0's relay and serves it",
              console[-2500:] + result.text("/results/git-relay.log")[-800:])
    fetched = Fetched(result, paths, "/results/blog")
    status, headers, body = fetched("/")
    titles = [e.text for e in parse_page(body).iter("{http://www.w3.org/1999/xhtml}title")] if status == 200 else []
    t.check(status == 200 and any(BLOG_NAME in title for title in titles),
            f"blog: / over HTTPS → 200, titled with --name {BLOG_NAME!r}", f"{status} {titles}")
    t.check(headers.get("strict-transport-security", "").startswith("max-age=31536000"), "blog: / has HSTS",
            f"{headers}")
    check_articles(t, sample, fetched, articles, "Xen blog")
    check_lists(t, sample, fetched, articles, "Xen blog")
    check_feed(t, sample, fetched, articles, "Xen blog")
    status, headers, _ = parse_response(result.files.get("/results/blog-redirect", b"HTTP/1.1 000 none\r\n\r\n"))
    t.check(status == 301 and headers.get("location") == f"https://{BLOG_HOST}/Posts/Welcome",
            "blog: plain HTTP → 301 to HTTPS", f"{status} {headers.get('location')}")


def test(t):
    harness.test_certs(CERTS.name)
    harness.test_certs(BLOG_CERTS.name, BLOG_HOST)
    # static_site_test.py's pvh configuration, so that the two tests (in different lanes of scripts/test) build
    # the same image; the address is the .xl's, a boot argument that overrides the baked one.
    static_site = xen_support.deployed_guest("examples/static-site", "--crunch", f"tls={CERTS / 'tls'}", "--",
                                             "--tls=443", "--port=80", "--ipv4=10.0.0.2/24",
                                             boot_arguments=[f"--ipv4={STATIC_ADDRESS}/24"])
    blog = xen_support.deployed_guest("examples/blog", "--memory", "256", "--crunch", f"tls={BLOG_CERTS / 'tls'}",
                                      "--", f"--remote=git://10.0.0.1:{GIT_RELAY_PORT}/blog.git",
                                      "--index-page=Posts", f"--name={BLOG_NAME}", "--tls=443", "--port=80")
    t.check("extra = \"\"" in blog.config and f'--name="{BLOG_NAME}"' in blog.config,
            "blog: deploy's .xl boots the configured image with its settings baked in", blog.config)

    sample = SampleBlog(t, t.log_dir / "blog", f"https://{BLOG_HOST}/")
    articles = sample.articles()
    paths = blog_paths(sample, articles)
    git_port = harness.free_port()
    start_daemon(t, sample.base, git_port)
    sums = "".join(f"{hashlib.sha256((SITE / name).read_bytes()).hexdigest()}  {name}\n" for name in site_files())
    files = {"/xen/site.sha256": sums.encode(), "/xen/blog-paths": "".join(p + "\n" for p in paths).encode(),
             "/xen/static-site-ca.pem": CERTS / "ca.pem", "/xen/blog-ca.pem": BLOG_CERTS / "ca.pem"}
    # dom0 gets its NIC on QEMU's user networking (the way to the host's git daemon) only when a port is forwarded:
    # one nobody uses, to dom0's discard port.
    result = xen_support.run_xen(t, dom0_script(static_site, blog, git_port), guests=[static_site, blog], files=files,
                                 forwards=[(harness.free_port(), 9)])
    t.check(result.status == 0, "dom0: the script ran to its end", result.run_log()[-1500:])
    t.run_part(lambda t: check_static_site(t, result))
    t.run_part(lambda t: check_blog(t, result, sample, articles, paths))


if __name__ == "__main__":
    harness.main(test, needs_root=False)
