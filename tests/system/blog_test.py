#!/usr/bin/env python3
"""examples/blog on the sample blog (scripts/make-sample-blog) against git's
own daemon on loopback, hosted with --net=socket, plain HTTP:

  - started before the remote answers: every page is 503 with a short HTML
    page and Retry-After; once `git daemon` starts, the head is rendered and
    served, and the file without a header (TODO) is named in the log;
  - a crawler follows every link from `/` (pages, styles, images, the feed)
    and finds none broken; every HTML page validates with html5lib in strict
    mode; every article is reached;
  - each article page shows its title (escaped: the title with <, & and
    quotes is the h1's text), author (linked to author_url when given),
    tags, and the created date `git log --reverse --diff-filter=A` gives;
  - `/`, `/tags`, each `/tags/TAG`, each category list exactly the right
    articles, newest created first; an unknown tag is 404;
  - the redirect file answers 301 to its target;
  - `/atom` through feedparser: the feed's id and title, 10 entries newest
    first, Canopy's entry ids, published/updated as git log gives them,
    absolute links that resolve;
  - a push that adds a post, edits one and deletes another, then a signed
    webhook: the new post served, the edited one with its new text and
    updated date, the deleted one 404, the lists and feed follow, entry ids
    unchanged, the ETags of untouched articles unchanged;
  - a push announced by forged webhooks (wrong signature, wrong token,
    malformed, none): 401 each and no pull; the counters agree at the end;
  - a response held back by a client that does not read finishes byte-exact
    from the old snapshot after a push and webhook swapped in a new one;
  - a push that breaks a post's header: the old version stays served (same
    ETag) and the log names the file.
The daemon and the app are stopped by PID at the end, also on failure.
pvh (QEMU with user networking, TCG, no root): the image, built with the test
certificate and --index-page=Posts baked in, clones the sample from `git
daemon` on the host at 10.0.2.2; the same checks over HTTPS (curl --cacert
through hostfwd), HSTS, HTTP's 301; a push and a signed webhook serve a new post.
Environment: MORGANA_BLOG (hosted binary; default: built by ./morgana for
hosted, preset hosted-asan), MORGANA_BLOG_PVH (the pvh image; default: built
by ./morgana with build/test-certs-blog crunched in as tls and ca, the same
image blog_browser_test.py boots).
"""

import calendar
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.parse
import uuid
import xml.etree.ElementTree

import harness

try:
    import feedparser
    import html5lib
except ImportError:
    # Debian's python3-feedparser and python3-html5lib (scripts/setup), when python3 is not Debian's.
    sys.path.append("/usr/lib/python3/dist-packages")
    import feedparser
    import html5lib

from git_site_test import FORGERIES, FORGES, Curl, Process, boot_pvh, check_in_flight, git, payload, stop_pvh
from git_wire_test import GIT_ENV, free_port, start_daemon
from harness import ROOT

SECRET = "s3cret:the-webhook/shared+secret"
HOOK = "/hooks/push"
BOOT_TIMEOUT = 60
PULL_TIMEOUT = 60
PVH_BOOT_TIMEOUT = 120
# A test CA and a certificate for localhost, 127.0.0.1 and 10.0.2.2 (the host as a guest on QEMU's user
# networking sees it), kept between runs so that the pvh image, which crunches it in, is not rebuilt each time;
# shared with blog_browser_test.
CERTS = ROOT / "build" / "test-certs-blog"
XHTML = "{http://www.w3.org/1999/xhtml}"
# Every line that ends a pull: a new head, the same head, or a failure.
PULL_ENDED = re.compile(r"blog (?:info|warn|error): (?:serving [0-9a-f]{40} \(|pulled: |pull from .* failed|"
                        r"cannot serve )")


class Article:
    """What the repository says of one article: its header, and its dates from git log."""

    def __init__(self, path, header, created_day, created, updated):
        self.path = path
        self.title = header["title"]
        self.author = header["author"]
        self.author_url = header.get("author_url", "")
        self.abstract = header.get("abstract", "")
        tags = []
        for tag in header.get("tags", "").split(","):
            if tag.strip() and tag.strip() not in tags:
                tags.append(tag.strip())
        self.tags = tags
        self.created_day = created_day  # YYYY-MM-DD, as git log --format=%as gives it
        self.created = created  # seconds since the epoch
        self.updated = updated


def parse_header(text):
    """The header of an article as blog/article.h reads it, or None when the file has none."""
    lines = text.split("\n")
    if not lines or lines[0].strip(" \t\r") != "---":
        return None
    header = {}
    for line in lines[1:]:
        if line.strip(" \t\r") == "---":
            return header if header.get("title") and header.get("author") else None
        if not line.strip(" \t\r"):
            continue
        key, colon, value = line.partition(":")
        if not colon or not key.strip(" \t\r"):
            return None
        header.setdefault(key.strip(" \t\r"), value.strip(" \t\r"))
    return None


class SampleBlog:
    """scripts/make-sample-blog's repository, a bare clone of it under `base` (what the daemon serves)."""

    def __init__(self, t, work, root):
        self.source = work / "source"
        self.base = work / "served"
        self.bare = self.base / "blog.git"
        harness.run([str(ROOT / "scripts" / "make-sample-blog"), str(self.source), "--root", root])
        self.base.mkdir(parents=True)
        git("clone", "-q", "--bare", str(self.source), str(self.bare))
        git("remote", "add", "served", str(self.bare), cwd=self.source)
        self.when = 1_719_792_000  # 2024-07-01, after the sample's last commit
        self.config = {name: (self.source / ".config" / name).read_text().strip()
                       for name in ("blog_name", "index_page", "uuid", "root")}

    def write(self, path, content):
        target = self.source / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content.encode() if isinstance(content, str) else content)

    def commit(self, message, date=None):
        """Commits the working tree; without `date`, a day after the last commit made here (from 2024-07-01)."""
        if date is None:
            self.when += 86_400
            date = f"@{self.when} +0000"
        env = dict(GIT_ENV, GIT_AUTHOR_DATE=date, GIT_COMMITTER_DATE=date)
        git("add", "-A", cwd=self.source, env=env)
        git("commit", "-qm", message, cwd=self.source, env=env)

    def push(self):
        git("push", "-q", "served", "main", cwd=self.source)
        return self.head()

    def commit_and_push(self, message, date=None):
        self.commit(message, date)
        return self.push()

    def head(self):
        return git("rev-parse", "main", cwd=self.bare).decode().strip()

    def log(self, *arguments):
        return git("log", *arguments, cwd=self.bare).decode()

    def articles(self):
        """{path: Article} of main's head: every file outside .config/ and static/ with a header."""
        found = {}
        for path in git("ls-tree", "-r", "--name-only", "-z", "main", cwd=self.bare).decode().split("\0"):
            if not path or path.split("/")[0] in (".config", "static"):
                continue
            header = parse_header(git("show", f"main:{path}", cwd=self.bare).decode(errors="replace"))
            if header is None:
                continue
            created_day = self.log("--reverse", "--diff-filter=A", "--format=%as", "main", "--", path).split()[0]
            created = int(self.log("--reverse", "--diff-filter=A", "--format=%at", "main", "--", path).split()[0])
            updated = int(self.log("-1", "--format=%at", "main", "--", path).strip())
            found[path] = Article(path, header, created_day, created, updated)
        return found


def newest_first(articles):
    return [a.path for a in sorted(articles, key=lambda a: a.created, reverse=True)]


def parse_page(body):
    return html5lib.parse(body, namespaceHTMLElements=True)


def text_of(element):
    return "".join(element.itertext())


def links(document):
    """Every href and src of a page, in document order."""
    found = []
    for element in document.iter():
        for attribute in ("href", "src"):
            if element.get(attribute):
                found.append(element.get(attribute))
    return found


def main_list(document):
    """The article links a list page shows in <main> (each article's h2), in order, as paths without '/'."""
    main = document.find(f".//{XHTML}main")
    if main is None:
        return None
    return [a.get("href").lstrip("/") for h2 in main.iter(f"{XHTML}h2") for a in h2.iter(f"{XHTML}a")]


def crawl(t, curl, label):
    """Follows every same-site link from '/'; returns {path: (status, headers, body)} of what it fetched."""
    seen, queue, fetched, broken, invalid = {"/"}, ["/"], {}, [], []
    while queue:
        path = queue.pop(0)
        status, headers, body = curl(path)
        fetched[path] = (status, headers, body)
        if status == 301:
            target = urllib.parse.urlsplit(headers.get("location", ""))
            if target.netloc and target.netloc != urllib.parse.urlsplit(curl.base_url).netloc:
                continue
            targets = [target.path]
        elif status != 200:
            broken.append(f"{path} → {status}")
            continue
        elif not headers.get("content-type", "").startswith("text/html"):
            continue
        else:
            try:
                html5lib.HTMLParser(strict=True).parse(body)
            except html5lib.html5parser.ParseError as error:
                invalid.append(f"{path}: {error}")
            targets = []
            for link in links(parse_page(body)):
                url = urllib.parse.urlsplit(urllib.parse.urljoin(path, link))
                if url.scheme in ("", "http") and url.netloc in ("", urllib.parse.urlsplit(curl.base_url).netloc):
                    targets.append(url.path)
        for target in targets:
            if target not in seen:
                seen.add(target)
                queue.append(target)
    t.check(not broken, f"{label}: the crawler finds no broken link among {len(fetched)} fetched", f"{broken}")
    t.check(not invalid, f"{label}: every HTML page validates with html5lib (strict)", f"{invalid[:3]}")
    return fetched


def check_articles(t, blog, curl, articles, label):
    """Each article page: title as the h1's text, author (and link), tags, created date; HTML5."""
    for article in articles.values():
        status, headers, body = curl("/" + urllib.parse.quote(article.path))
        if not t.check(status == 200, f"{label}: /{article.path} → 200", f"{status}"):
            continue
        document = parse_page(body)
        h1 = [text_of(h) for h in document.iter(f"{XHTML}h1")]
        t.check(article.title in h1, f"{label}: /{article.path} shows its title {article.title!r}", f"{h1}")
        text = text_of(document.find(f".//{XHTML}article"))
        t.check(article.author in text and article.created_day in text,
                f"{label}: /{article.path} shows its author and created date {article.created_day}",
                text[:300])
        if article.author_url:
            anchors = {a.get("href"): text_of(a) for a in document.iter(f"{XHTML}a")}
            t.check(anchors.get(article.author_url) == article.author, f"{label}: /{article.path} links its author")
        tag_links = [text_of(a) for a in document.iter(f"{XHTML}a") if a.get("href", "").startswith("/tags/")]
        t.check(tag_links == article.tags, f"{label}: /{article.path} shows its tags {article.tags}", f"{tag_links}")
        t.check(headers.get("last-modified") == time.strftime("%a, %d %b %Y %H:%M:%S GMT",
                                                               time.gmtime(article.updated)),
                f"{label}: /{article.path} Last-Modified is its updated date", headers.get("last-modified"))
    escaped = [a for a in articles.values() if set("<&\"") <= set(a.title)]
    t.check(bool(escaped), f"{label}: the sample has a title with <, & and quotes (checked as the h1's text)")


def check_lists(t, blog, curl, articles, label):
    """The index, each category, /tags and each tag page list exactly the right articles, newest first."""
    every = list(articles.values())
    index_page = blog.config["index_page"]
    expected_pages = {"/": newest_first(a for a in every if a.path.startswith(index_page + "/"))}
    folders = {a.path.split("/")[0] for a in every if "/" in a.path}
    for folder in folders:
        expected_pages["/" + folder] = newest_first(a for a in every if a.path.startswith(folder + "/"))
    tags = sorted({tag for a in every for tag in a.tags})
    for tag in tags:
        expected_pages["/tags/" + urllib.parse.quote(tag)] = newest_first(a for a in every if tag in a.tags)
    for path, expected in expected_pages.items():
        status, _, body = curl(path)
        listed = main_list(parse_page(body)) if status == 200 else None
        t.check(listed == expected, f"{label}: {path} lists {len(expected)} articles, newest first",
                f"{status}: {listed} != {expected}")
    status, _, body = curl("/tags")
    main = parse_page(body).find(f".//{XHTML}main")
    listed = [a.get("href") for a in main.iter(f"{XHTML}a")] if main is not None else []
    t.check(status == 200 and sorted(listed) == ["/tags/" + urllib.parse.quote(tag) for tag in tags]
            and len(set(listed)) == len(listed), f"{label}: /tags lists every tag once ({len(tags)})",
            f"{status} {listed}")
    status, _, _ = curl("/tags/no-such-tag")
    t.check(status == 404, f"{label}: an unknown tag → 404", f"{status}")


def canopy_id(created, blog_uuid):
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S-00:00", time.gmtime(created))
    return "urn:uuid:" + str(uuid.uuid5(uuid.uuid5(uuid.NAMESPACE_DNS, stamp), blog_uuid))


def check_feed(t, blog, curl, articles, label):
    """/atom through feedparser; returns {article path: entry id}."""
    status, headers, body = curl("/atom")
    t.require(status == 200, f"{label}: /atom → 200", f"{status}")
    try:
        xml.etree.ElementTree.fromstring(body)
        well_formed = True
    except xml.etree.ElementTree.ParseError:
        well_formed = False
    t.check(well_formed and "atom" in headers.get("content-type", ""), f"{label}: /atom is well-formed Atom XML",
            headers.get("content-type"))
    feed = feedparser.parse(body)
    root = blog.config["root"].rstrip("/")
    t.check(feed.feed.get("id") == "urn:uuid:" + blog.config["uuid"] and
            feed.feed.get("title") == blog.config["blog_name"], f"{label}: the feed's id and title",
            f"{feed.feed.get('id')} {feed.feed.get('title')}")
    head_date = int(blog.log("-1", "--format=%at", "main").strip())
    t.check(calendar.timegm(feed.feed.updated_parsed) == head_date, f"{label}: the feed's updated is the head's date")
    expected = sorted(articles.values(), key=lambda a: a.created, reverse=True)[:10]
    links_seen = [entry.get("link", "") for entry in feed.entries]
    t.check(links_seen == [f"{root}/{a.path}" for a in expected],
            f"{label}: the feed has the {len(expected)} newest articles, newest first, with absolute links",
            f"{links_seen}")
    ids = {}
    for entry, article in zip(feed.entries, expected):
        ids[article.path] = entry.id
        t.check(entry.title == article.title and entry.get("author") == article.author,
                f"{label}: the entry for {article.path} has its title and author", f"{entry.title} {entry.get('author')}")
        t.check(calendar.timegm(entry.published_parsed) == article.created and
                calendar.timegm(entry.updated_parsed) == article.updated,
                f"{label}: the entry for {article.path} has git log's dates",
                f"{entry.get('published')} {entry.get('updated')}")
        t.check(entry.id == canopy_id(article.created, blog.config["uuid"]),
                f"{label}: the entry for {article.path} has Canopy's id", entry.id)
        t.check(sorted(tag.term for tag in entry.get("tags", [])) == sorted(article.tags),
                f"{label}: the entry for {article.path} has its tags as categories")
        if entry.get("link", "").startswith(root + "/"):
            status, _, _ = curl(entry.link[len(root):])
            t.check(status == 200, f"{label}: {entry.link} resolves", f"{status}")
    return ids


def check_everything(t, blog, curl, label):
    articles = blog.articles()
    fetched = crawl(t, curl, label)
    reached = [path for path in articles if "/" + urllib.parse.quote(path) in fetched]
    t.check(len(reached) == len(articles), f"{label}: the crawler reached all {len(articles)} articles",
            f"{sorted(set(articles) - set(reached))}")
    check_articles(t, blog, curl, articles, label)
    check_lists(t, blog, curl, articles, label)
    return articles, check_feed(t, blog, curl, articles, label)


def etags(curl, articles):
    return {path: curl("/" + urllib.parse.quote(path))[1].get("etag") for path in articles}


def signed_webhook(t, curl, head, what):
    body = payload(head)
    t.check(curl.post(HOOK, body, FORGES[0][1](body)) == 202, f"{what}: the signed webhook → 202")


def hosted_binary():
    if os.environ.get("MORGANA_BLOG"):
        return os.environ["MORGANA_BLOG"]
    return harness.build_app("examples/blog", "hosted", preset="hosted-asan")


def make_certs():
    """CERTS, made when missing or when the leaf does not name 10.0.2.2 as make-test-certs now does (an iPAddress
    only: older ones also had it as a DNS name, which hid a client that checks DNS names only); ca/ holds only the
    CA, as the app's store "ca" (every *.pem in it is an anchor)."""
    leaf = CERTS / "tls" / "server.pem"
    with harness.locked(CERTS.with_name(CERTS.name + ".lock")):  # blog_browser_test may be making them too
        names = subprocess.run(["openssl", "x509", "-in", str(leaf), "-noout", "-ext", "subjectAltName"],
                               capture_output=True, text=True).stdout if leaf.is_file() else ""
        if "IP Address:10.0.2.2" not in names or "DNS:10.0.2.2" in names:
            shutil.rmtree(CERTS, ignore_errors=True)  # an older one: made again below
    harness.test_certs(CERTS.name, "10.0.2.2")
    with harness.locked(CERTS.with_name(CERTS.name + ".lock")):
        if not (CERTS / "ca" / "ca.pem").is_file():
            (CERTS / "ca").mkdir(exist_ok=True)
            shutil.copy(CERTS / "ca.pem", CERTS / "ca" / "ca.pem")
    return CERTS


def pvh_image(certs):
    """The pvh image with the test certificate and CA crunched in (an https remote needs the CA), HTTPS on 443."""
    if os.environ.get("MORGANA_BLOG_PVH"):
        return os.environ["MORGANA_BLOG_PVH"]
    return harness.build_app("examples/blog", "pvh", "--crunch", f"tls={certs / 'tls'}", "--crunch",
                             f"ca={certs / 'ca'}", "--", "--tls=443", "--port=80", "--index-page=Posts")


def part_hosted(t):
    binary = hosted_binary()
    work = t.log_dir / "hosted"
    daemon_port, http_port = free_port(), free_port()
    blog = SampleBlog(t, work, f"http://127.0.0.1:{http_port}/")
    app = Process(t, [binary, "--net=socket", f"--port={http_port}", "--tls=0",
                      f"--remote=git://127.0.0.1:{daemon_port}/blog.git", f"--webhook-path={HOOK}",
                      f"--webhook-secret={SECRET}"], "blog")
    curl = Curl(f"http://127.0.0.1:{http_port}")

    app.wait_for(r"blog warn: nothing to serve yet; pulling again in", BOOT_TIMEOUT)
    status, headers, body = curl("/")
    t.check(status == 503 and headers.get("retry-after", "").isdigit() and
            headers.get("content-type", "").startswith("text/html") and b"<html" in body,
            "before the remote answers: 503 with a short HTML page and Retry-After", f"{status} {headers}")
    t.check(curl("/Posts/Welcome")[0] == 503, "before the remote answers: an article is 503 too")

    start_daemon(t, blog.base, daemon_port)
    app.wait_serving(blog.head(), BOOT_TIMEOUT)
    boot_failures = len(re.findall(r"nothing to serve yet", app.log()))
    t.check(re.search(r"blog warn: TODO: skipped", app.log()) is not None,
            "the file without a header (TODO) is skipped and named in the log")
    status, headers, _ = curl("/Hello")
    t.check(status == 301 and headers.get("location", "").endswith("/Posts/Welcome"),
            "the redirect file /Hello → 301 /Posts/Welcome", f"{status} {headers.get('location')}")

    articles, ids = check_everything(t, blog, curl, "first head")
    t.check(len(articles) > 10, f"the sample has more articles ({len(articles)}) than the feed shows (10)")
    before = etags(curl, articles)

    # Added, edited, deleted; then a signed webhook.
    blog.write("Posts/Deploying", "---\ntitle: Deploying to Xen\nauthor: Grace Hopper\nabstract: xl create.\n"
                                  "tags: unikernels, xen\n---\n# Deploying\n\nThe image boots under `xl create`.\n")
    welcome = (blog.source / "Posts" / "Welcome").read_text()
    blog.write("Posts/Welcome", welcome + "\nEdited after the move: welcome again.\n")
    (blog.source / "Posts" / "Static-files").unlink()
    head = blog.commit_and_push("Deploying; Welcome edited; Static files removed", "2024-06-10T10:00:00+00:00")
    signed_webhook(t, curl, head, "add, edit, delete")
    app.wait_serving(head, PULL_TIMEOUT)
    status, _, body = curl("/Posts/Deploying")
    t.check(status == 200 and b"Deploying to Xen" in body, "after the push: the new post is served", f"{status}")
    status, headers, body = curl("/Posts/Welcome")
    t.check(status == 200 and b"welcome again" in body and b"updated <time datetime=\"2024-06-10\"" in body,
            "after the push: the edited post shows its new text and updated date", f"{status}")
    t.check(curl("/Posts/Static-files")[0] == 404, "after the push: the deleted post is 404")
    new_articles, new_ids = check_everything(t, blog, curl, "after add, edit, delete")
    kept = {path: entry for path, entry in ids.items() if path in new_ids}
    t.check(all(new_ids[path] == entry for path, entry in kept.items()) and len(kept) >= 8,
            f"the feed's entry ids are unchanged across the refresh ({len(kept)} entries in both)")
    untouched = [path for path in articles if path in new_articles and path != "Posts/Welcome"]
    after = etags(curl, untouched)
    changed = [path for path in untouched if after[path] != before[path]]
    t.check(not changed, f"the ETags of the {len(untouched)} untouched articles are unchanged", f"{changed}")

    # Forged webhooks announce a push: 401 each, nothing pulled.
    blog.write("Posts/Webhooks", (blog.source / "Posts" / "Webhooks").read_text() + "\nNot served yet.\n")
    head = blog.commit_and_push("Webhooks edited, announced by forgeries first", "2024-06-12T10:00:00+00:00")
    since = len(app.log())
    for what, sign in FORGERIES:
        body = payload(head)
        t.check(curl.post(HOOK, body, sign(body)) == 401, f"a webhook with {what} → 401")
    t.check(b"Not served yet" not in curl("/Posts/Webhooks")[2], "after the forged webhooks, the old post is served")
    signed_webhook(t, curl, head, "after the forgeries")
    app.wait_serving(head, PULL_TIMEOUT)
    ended = len(PULL_ENDED.findall(app.log()[since:]))
    t.check(ended == 1, "the forged webhooks pulled nothing: one pull ended after them, the signed one's",
            f"{ended}")
    t.check(b"Not served yet" in curl("/Posts/Webhooks")[2], "then the signed webhook serves the edit")

    check_in_flight(t, blog, app, curl, http_port, path="static/huge.bin")

    # A header broken: the old version stays, the log names the file.
    benchmarks_etag = curl("/Posts/Benchmarks")[1].get("etag")
    text = (blog.source / "Posts" / "Benchmarks").read_text()
    blog.write("Posts/Benchmarks", text.replace("title: Benchmarks\n", "").replace("A page", "BROKEN A page"))
    head = blog.commit_and_push("Benchmarks: the title lost")  # dated after the in-flight commits
    since = len(app.log())
    signed_webhook(t, curl, head, "a broken header")
    app.wait_for(rf"blog info: serving {head}|blog error: cannot serve {head}", PULL_TIMEOUT)
    status, headers, body = curl("/Posts/Benchmarks")
    t.check(status == 200 and b"BROKEN" not in body and headers.get("etag") == benchmarks_etag,
            "a post whose header broke: the old version is still served", f"{status} {headers.get('etag')}")
    t.check("Posts/Benchmarks" in app.log()[since:], "a post whose header broke: the log names the file",
            app.log()[since:][-600:])

    counters = app.stop_with_counters()
    # Webhooks accepted: add/edit/delete, after the forgeries, two in flight, the broken header.
    expected = {"http.webhook_accepted": 5, "http.webhook_refused": len(FORGERIES),
                "blog.pulls": boot_failures + 1 + 5, "blog.pulls_failed": boot_failures, "blog.renders": 1 + 5}
    got = {name: counters.get(name, 0) for name in expected}
    t.check(got == expected, "the counters agree: refused webhooks counted, no pull for them", f"{got} != {expected}")


def part_refusals(t):
    binary = hosted_binary()
    for arguments, what in [([], "no --remote"),
                            (["--remote=git://127.0.0.1:9/blog.git", f"--webhook-path={HOOK}"],
                             "a webhook path without a secret")]:
        result = subprocess.run([binary, "--net=socket", "--port=0", "--tls=0", *arguments], capture_output=True,
                                timeout=60)
        t.check(result.returncode == 2, f"refused at boot with status 2: {what}", f"{result.returncode}")


def part_pvh(t):
    """The pvh image in QEMU (user networking, no root): cloned from git daemon on the host at 10.0.2.2, the
    whole blog checked over HTTPS (the test CA) with HSTS and HTTP's 301, then a push and a signed webhook."""
    certs = make_certs()
    image = pvh_image(certs)
    work = t.log_dir / "pvh"
    daemon_port, http_port, https_port = free_port(), free_port(), free_port()
    blog = SampleBlog(t, work, f"https://localhost:{https_port}/")
    start_daemon(t, blog.base, daemon_port)
    append = f"--remote=git://10.0.2.2:{daemon_port}/blog.git --webhook-path={HOOK} --webhook-secret={SECRET}"
    guest = boot_pvh(t, image, append, http_port, https_port, "blog-pvh")
    guest.wait_serving(blog.head(), PVH_BOOT_TIMEOUT)
    curl = Curl(f"https://localhost:{https_port}", "--cacert", str(certs / "ca.pem"))
    status, headers, _ = curl("/")
    t.check(status == 200 and headers.get("strict-transport-security", "").startswith("max-age=31536000"),
            "pvh: / over HTTPS with HSTS", f"{status} {headers}")
    status, headers, _ = Curl(f"http://localhost:{http_port}")("/Posts/Welcome")
    t.check(status == 301 and headers.get("location", "").startswith("https://localhost"),
            "pvh: plain HTTP → 301 to HTTPS", f"{status} {headers.get('location')}")
    check_everything(t, blog, curl, "pvh over HTTPS")
    blog.write("Posts/Deploying", "---\ntitle: Deploying to Xen\nauthor: Grace Hopper\n---\nxl create.\n")
    head = blog.commit_and_push("Deploying", "2024-06-10T10:00:00+00:00")
    signed_webhook(t, curl, head, "pvh")
    guest.wait_serving(head, PULL_TIMEOUT)
    t.check(b"Deploying to Xen" in curl("/Posts/Deploying")[2], "pvh: after a push and a signed webhook, the new post")
    stop_pvh(t, guest)


def test(t):
    t.run_part(part_refusals)
    t.run_part(part_hosted)
    t.run_part(part_pvh)


if __name__ == "__main__":
    harness.main(test, needs_root=False)
