"""A generated Canopy blog repository for bench/blog.py: POSTS articles of 2-5 KB of
markdown (headings, paragraphs, lists, code, links, a header with tags and an abstract)
in three categories, one dated commit per article, then one commit editing one article
(the refresh measured). Written with `git fast-import` (seconds for a thousand commits)
into a bare repository, packed as `git gc` would. The same seed gives the same commits.
"""

import random
import subprocess
from pathlib import Path

CATEGORIES = (("Posts", 7), ("Notes", 2), ("Talks", 1))  # (folder, weight); the index lists Posts
TAGS = ("unikernels", "mirage", "ocaml", "c++", "networking", "tcp", "tls", "git", "markdown", "performance",
        "memory", "qemu", "xen", "security", "testing", "http", "dns", "benchmarks", "design", "tools")
WORDS = ("the", "a", "stack", "packet", "buffer", "coroutine", "image", "boot", "memory", "request", "server",
         "client", "commit", "tree", "blob", "render", "page", "feed", "cache", "digest", "event", "loop", "timer",
         "socket", "frame", "window", "segment", "handshake", "certificate", "key", "store", "value", "path",
         "history", "date", "and", "of", "to", "in", "with", "is", "for", "on", "that", "it", "as", "without",
         "every", "one", "small", "fast", "slow", "simple", "whole", "each", "new", "old", "first", "last")
START = 1_600_000_000  # 2020-09-13: the first commit's date; one article a day after it
DAY = 86_400
AUTHOR = "Ada Lovelace <ada@example.org>"
BLOG_UUID = "6c0f6c4e-3b1a-4e8e-9a57-2f1c8d0b7e21"


def sentence(rng):
    words = [rng.choice(WORDS) for _ in range(rng.randint(6, 16))]
    return " ".join(words).capitalize() + "."


def paragraph(rng):
    return " ".join(sentence(rng) for _ in range(rng.randint(3, 6)))


def body(rng, size):
    """Markdown of about `size` bytes."""
    parts = []
    while sum(len(p) + 2 for p in parts) < size:
        kind = rng.random()
        if kind < 0.1:
            parts.append("## " + sentence(rng)[:-1])
        elif kind < 0.2:
            parts.append("\n".join(f"- {sentence(rng)}" for _ in range(rng.randint(2, 5))))
        elif kind < 0.27:
            parts.append("```\n" + "\n".join(f"let {rng.choice(WORDS)} = {rng.randint(0, 999)};"
                                             for _ in range(rng.randint(2, 6))) + "\n```")
        else:
            text = paragraph(rng)
            if rng.random() < 0.3:
                text += f" See [the {rng.choice(WORDS)} notes](https://example.org/{rng.randint(1, 99)})."
            if rng.random() < 0.3:
                text += f" It takes `{rng.choice(WORDS)}()` and **{rng.choice(WORDS)}**."
            parts.append(text)
    return "\n\n".join(parts) + "\n"


def article(rng, number):
    title = f"{sentence(rng)[:-1][:60]} ({number})"
    tags = rng.sample(TAGS, rng.randint(1, 4))
    header = (f"---\ntitle: {title}\nauthor: Ada Lovelace\nauthor_url: https://example.org/ada\n"
              f"abstract: {sentence(rng)}\ntags: {', '.join(tags)}\n---\n")
    return header + f"# {title}\n\n" + body(rng, rng.randint(2000, 5000))


def data(text):
    raw = text.encode()
    return b"data %d\n" % len(raw) + raw + b"\n"


def commit(stream, mark, when, message, files):
    stream += b"commit refs/heads/main\nmark :%d\n" % mark
    for role in ("author", "committer"):
        stream += f"{role} {AUTHOR} {when} +0000\n".encode()
    stream += data(message)
    if mark > 1:
        stream += b"from :%d\n" % (mark - 1)
    for path, text in files:
        stream += f"M 100644 inline {path}\n".encode() + data(text)


def generate(bare, posts, seed=20261207, root="http://127.0.0.1/"):
    """Makes `bare` (which must not exist) the repository; returns {"articles": [paths, oldest first],
    "changed": the path the last commit edits, "head": its id, "base": its parent's}."""
    rng = random.Random(seed)
    stream = bytearray()
    config = [(".config/blog_name", "A generated blog\n"), (".config/index_page", "Posts\n"),
              (".config/uuid", BLOG_UUID + "\n"), (".config/root", root + "\n"),
              ("static/css/style.css", "body { max-width: 48em; margin: auto; }\n")]
    commit(stream, 1, START, "Start the blog", config)
    folders = [name for name, weight in CATEGORIES for _ in range(weight)]
    paths, texts = [], {}
    for number in range(1, posts + 1):
        path = f"{rng.choice(folders)}/Article-{number:04d}"
        texts[path] = article(rng, number)
        paths.append(path)
        commit(stream, number + 1, START + number * DAY, f"Article {number}", [(path, texts[path])])
    # The refresh: an article from the middle of the history gets an update paragraph.
    changed = paths[len(paths) // 2]
    texts[changed] += "\n**Update:** " + paragraph(rng) + "\n"
    commit(stream, posts + 2, START + (posts + 1) * DAY, f"Update {changed}", [(changed, texts[changed])])
    Path(bare).parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["git", "init", "-q", "--bare", "--initial-branch=main", str(bare)], check=True)
    subprocess.run(["git", "fast-import", "--quiet"], input=bytes(stream), cwd=bare, check=True)
    subprocess.run(["git", "gc", "-q"], cwd=bare, check=True)
    head = subprocess.run(["git", "rev-parse", "main", "main^"], cwd=bare, check=True, capture_output=True,
                          text=True).stdout.split()
    return {"articles": paths, "changed": changed, "head": head[0], "base": head[1]}
