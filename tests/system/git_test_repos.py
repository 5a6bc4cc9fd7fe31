"""Test repositories made with git itself, for the git client's system tests.

make_rich_repository(work) builds, deterministically (fixed dates, content
from a seeded random generator), a bare repository `repo.git` holding:

  - a history of a few hundred commits on main with merges of side branches,
    renames and deletions, written with `git fast-import` (fast);
  - text files, a binary file rewritten now and then, a 10 MB file (changed
    once, so that a 10 MB delta exists), empty files, executables (100755),
    symlinks (one dangling), a submodule entry (gitlink, no .gitmodules),
    paths with spaces and non-ASCII characters, a file that grows by a line
    in every commit (long delta chains);
  - a commit whose root tree is empty, and a subtree entry pointing at the
    empty tree (made with `git mktree`: fast-import drops empty trees);
  - annotated tags;
  - later stages under refs/stages/: +1, +10 and +1,000 commits on top of
    main, and a rewritten history (the +1,000 head's grandparent plus two
    other commits), to move a branch to, as a push or force-push would;
  - everything repacked with `git repack -adf --depth=4095 --window=250`.

The expected views come from git: listing() is `git ls-tree -r` with paths
unquoted (core.quotePath off), blob_digest() hashes every blob of a commit's
tree in listing order as tests/git_repo_app's --blob-digest does.
"""

import hashlib
import random
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from git_wire_test import GIT_ENV, git

EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
BIG_FILE_SIZE = 10 << 20
BASE_COMMITS = 300
STAGES = (("plus1", 1), ("plus10", 10), ("plus1000", 1000))
START_TIME = 1_600_000_000


@dataclass
class RichRepository:
    bare: Path                                  # the served repository
    head: str                                   # main's commit
    stages: dict = field(default_factory=dict)  # name -> commit: plus1, plus10, plus1000, rewritten
    tags: list = field(default_factory=list)    # annotated tag names

    def move(self, branch, commit):
        """Points refs/heads/BRANCH at `commit`, as a push (or force-push) would."""
        git("update-ref", f"refs/heads/{branch}", commit, cwd=self.bare)

    def listing(self, commit):
        return listing(self.bare, commit)

    def blob_digest(self, commit):
        return blob_digest(self.bare, commit)

    def commit_count(self, commit):
        return int(git("rev-list", "--count", commit, cwd=self.bare).stdout.decode().strip())


def listing(repository, commit):
    """`git ls-tree -r COMMIT` with paths as raw bytes (decoded as UTF-8), as git_repo_app prints them."""
    return git("-c", "core.quotePath=off", "ls-tree", "-r", commit, cwd=repository).stdout.decode()


def blob_digest(repository, commit):
    """(blobs, bytes, sha256 hex) of every blob of COMMIT's tree, in `git ls-tree -r` order."""
    entries = git("ls-tree", "-r", "-z", commit, cwd=repository).stdout.split(b"\0")
    ids = [entry.split(b"\t")[0].split()[2] for entry in entries if entry and entry.split()[1] == b"blob"]
    batch = git("cat-file", "--batch", cwd=repository, stdin=b"".join(i + b"\n" for i in ids)).stdout
    digest, total, position = hashlib.sha256(), 0, 0
    for _ in ids:
        header_end = batch.index(b"\n", position)
        size = int(batch[position:header_end].split()[2])
        digest.update(batch[header_end + 1:header_end + 1 + size])
        total += size
        position = header_end + 1 + size + 1
    return len(ids), total, digest.hexdigest()


def quote(path):
    """A fast-import path, always C-quoted (a space in R's source path needs it)."""
    return '"' + path.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


class Stream:
    """A git fast-import stream. Between run()s, marks are gone: a ref's head is kept as its commit id."""

    def __init__(self, rng):
        self.rng = rng
        self.parts = []
        self.next_mark = 1
        self.time = START_TIME
        self.heads = {}     # ref -> mark or commit id of its last commit
        self.started = set()  # refs that have a commit in this run

    def mark(self):
        self.next_mark += 1
        return f":{self.next_mark - 1}"

    def blob(self, data):
        mark = self.mark()
        self.parts.append(f"blob\nmark {mark}\ndata {len(data)}\n".encode() + data + b"\n")
        return mark

    @staticmethod
    def data(text):
        encoded = text.encode()
        return f"data {len(encoded)}\n".encode() + encoded + b"\n"

    def commit(self, ref, message, changes, parent=None, merge=None, deleteall=False):
        """`changes`: (path, mode, ref) to write, (path, None, None) to delete, (old, "R", new) to rename.
        The commit's first parent is `parent`'s head, else the ref's own."""
        mark = self.mark()
        self.time += 600 + self.rng.randrange(600)
        zone = self.rng.choice(["+0000", "+0200", "-0700", "+0530"])
        lines = [f"commit {ref}", f"mark {mark}",
                 f"author Morgana Tëst <author@morgana.invalid> {self.time} {zone}",
                 f"committer Morgana Test <committer@morgana.invalid> {self.time + 60} +0000"]
        self.parts.append(("\n".join(lines) + "\n").encode() + self.data(message))
        lines = []
        if parent or (ref not in self.started and ref in self.heads):
            lines.append(f"from {self.heads[parent or ref]}")
        if merge:
            lines.append(f"merge {self.heads[merge]}")
        if deleteall:
            lines.append("deleteall")
        for path, mode, data in changes:
            if mode is None:
                lines.append(f"D {quote(path)}")
            elif mode == "R":
                lines.append(f"R {quote(path)} {quote(data)}")
            else:
                lines.append(f"M {mode} {data} {quote(path)}")
        self.parts.append(("\n".join(lines) + "\n\n").encode() if lines else b"\n")
        self.started.add(ref)
        self.heads[ref] = mark
        return mark

    def tag(self, name, target, message):
        self.time += 60
        self.parts.append(f"tag {name}\nfrom {target}\ntagger Morgana Test <tagger@morgana.invalid> {self.time} "
                          f"+0000\n".encode() + self.data(message))

    def run(self, repository):
        """Feeds the stream to git fast-import; refs written then resolve to commit ids."""
        stream = b"".join(self.parts) + b"done\n"
        self.parts = []
        result = subprocess.run(["git", "fast-import", "--quiet", "--done"], cwd=repository, env=GIT_ENV,
                                input=stream, capture_output=True, timeout=300)
        if result.returncode != 0:
            raise RuntimeError(f"git fast-import failed: {result.stderr.decode(errors='replace')}")
        for ref in self.started:
            self.heads[ref] = rev_parse(repository, ref)
        self.started = set()


def rev_parse(repository, name):
    return git("rev-parse", name, cwd=repository).stdout.decode().strip()


class Content:
    """Seeded file contents."""

    WORDS = ("git", "pack", "delta", "tree", "blob", "commit", "morgana", "unikernel", "señal", "日本",
             "zlib", "sha1", "ref", "merge", "rename")

    def __init__(self, rng):
        self.rng = rng

    def text(self, lines):
        return "".join(" ".join(self.rng.choice(self.WORDS) for _ in range(self.rng.randrange(1, 12))) + "\n"
                       for _ in range(lines)).encode()

    def edit(self, data):
        lines = data.decode().splitlines(keepends=True)
        for _ in range(self.rng.randrange(1, 4)):
            position = self.rng.randrange(len(lines) + 1)
            if lines and self.rng.random() < 0.4:
                del lines[min(position, len(lines) - 1)]
            else:
                lines.insert(position, self.text(1).decode())
        return "".join(lines).encode()


class History:
    """Writes the commits: a model of each line of history's files (path -> (mode, data)), so that
    edits, renames, deletions and merges are emitted consistently."""

    def __init__(self, stream, content, rng):
        self.stream = stream
        self.content = content
        self.rng = rng
        self.number = 0

    def write(self, files, path, mode, data):
        files[path] = (mode, data)
        return (path, mode, self.stream.blob(data))

    def changelog(self, files):
        """CHANGELOG grown by a line, as every commit of main does: a long delta chain."""
        self.number += 1
        return self.write(files, "CHANGELOG", "100644", files["CHANGELOG"][1] + f"change {self.number}\n".encode())

    def changes(self, files, with_changelog=True):
        """A commit's worth of changes to `files`: edits, and now and then a deletion, a rename (into a
        directory with a space or a non-ASCII name), a new file or a rewritten binary file."""
        rng = self.rng
        changes = [self.changelog(files)] if with_changelog else []
        number = self.number
        sources = sorted(p for p in files if p.startswith("src/"))
        for path in rng.sample(sources, rng.randrange(1, 4)):
            changes.append(self.write(files, path, "100644", self.content.edit(files[path][1])))
        action = rng.random()
        path = rng.choice(sources)
        if action < 0.08 and len(sources) > 20:
            del files[path]
            changes.append((path, None, None))
        elif action < 0.16:
            target = rng.choice(["src/moved", "src/moved again", "src/déplacé"]) + f"/n{number}-{Path(path).name}"
            files[target] = files.pop(path)
            changes.append((path, "R", target))
        elif action < 0.24:
            changes.append(self.write(files, f"src/module{rng.randrange(8)}/new{number}.c", "100644",
                                      self.content.text(20)))
        elif action < 0.28:
            changes.append(self.write(files, "assets/image.bin", "100644", rng.randbytes(65536)))
        return changes

    def commit(self, ref, files, message=None, **options):
        changes = self.changes(files)
        return self.stream.commit(ref, message or f"commit {self.number}\n\nbody of commit {self.number}\n",
                                  changes, **options)

    def merge_side_branch(self, main):
        """A side branch of three commits from main, one more commit on main, then main merges the side
        branch: its edits, new files, deletions and renames applied to main."""
        side_ref = f"refs/heads/side{self.number}"
        base = dict(main)
        side = dict(main)
        self.stream.commit(side_ref, f"start {side_ref}", self.changes(side, with_changelog=False),
                           parent="refs/heads/main")
        for _ in range(2):
            self.stream.commit(side_ref, "on the side", self.changes(side, with_changelog=False))
        self.commit("refs/heads/main", main, "main alongside")
        merged = [self.changelog(main)]
        for path in sorted(set(base) | set(side)):
            if side.get(path) == base.get(path):
                continue  # the side branch left it alone: main's version stays
            if path not in side:
                if path in main:
                    del main[path]
                    merged.append((path, None, None))
            else:
                merged.append(self.write(main, path, *side[path]))
        self.stream.commit("refs/heads/main", f"Merge branch '{side_ref}'", merged, merge=side_ref)


def initial_files(content, rng):
    """path -> (mode, data) of the first commit."""
    files = {"README.md": ("100644", b"# a test repository\n" + content.text(40)),
             "CHANGELOG": ("100644", b"changes\n"),
             "empty": ("100644", b""),
             "docs/empty.txt": ("100644", b""),
             "bin/run.sh": ("100755", b"#!/bin/sh\necho run\n"),
             "bin/build tool.sh": ("100755", b"#!/bin/sh\nexit 0\n"),
             "link": ("120000", b"README.md"),
             "docs/dangling": ("120000", b"../nowhere/at all"),
             "dir with spaces/file name.txt": ("100644", content.text(5)),
             "ñandú/日本語.md": ("100644", content.text(8)),
             "ñandú/émigré ü.txt": ("100644", content.text(3)),
             "assets/image.bin": ("100644", rng.randbytes(65536))}
    for number in range(60):
        files[f"src/module{number // 10}/file{number}.c"] = ("100644", content.text(rng.randrange(5, 80)))
    return files


def make_rich_repository(work, seed=1234):
    """Builds WORK/repo.git (bare, repacked); returns a RichRepository."""
    rng = random.Random(seed)
    content = Content(rng)
    bare = Path(work) / "repo.git"
    git("init", "-q", "--bare", "-b", "main", str(bare))
    stream = Stream(rng)
    history = History(stream, content, rng)
    main_ref = "refs/heads/main"
    main = initial_files(content, rng)
    everything = [(path, mode, None) for path, (mode, _) in main.items()]
    stream.commit(main_ref, "first", [history.write(main, path, mode, data) for path, mode, data in
                                      ((p, m, main[p][1]) for p, m, _ in everything)])
    stream.commit(main_ref, "an empty root tree", [], deleteall=True)
    stream.commit(main_ref, "everything back", [history.write(main, path, mode, main[path][1])
                                                for path, mode, _ in everything])
    stream.run(bare)

    # A subtree entry naming the empty tree: fast-import cannot write one, but keeps it once there.
    tree = git("ls-tree", main_ref, cwd=bare).stdout + f"040000 tree {EMPTY_TREE}\tempty dir\n".encode()
    tree_id = git("mktree", cwd=bare, stdin=tree).stdout.decode().strip()
    stream.time += 600
    dates = f"{stream.time} +0000"
    commit = git("commit-tree", tree_id, "-p", main_ref, "-m", "an empty subtree", cwd=bare,
                 env={"GIT_AUTHOR_DATE": dates, "GIT_COMMITTER_DATE": dates}).stdout.decode().strip()
    git("update-ref", main_ref, commit, cwd=bare)
    stream.heads[main_ref] = commit

    big = rng.randbytes(BIG_FILE_SIZE)
    tags = []
    while history.number < BASE_COMMITS:
        if history.number == 20:
            stream.commit(main_ref, "a 10 MB file", [history.changelog(main)] +
                          [history.write(main, "assets/big.bin", "100644", big)])
        elif history.number == 150:
            changed = bytearray(big)
            for position in rng.sample(range(BIG_FILE_SIZE), 8):
                changed[position] ^= 0xFF
            stream.commit(main_ref, "the 10 MB file changed", [history.changelog(main)] +
                          [history.write(main, "assets/big.bin", "100644", bytes(changed))])
        elif history.number == 30:
            gitlink = hashlib.sha1(b"a commit of another repository").hexdigest()
            main["vendor/lib"] = ("160000", None)
            stream.commit(main_ref, "a submodule", [history.changelog(main)] + [("vendor/lib", "160000", gitlink)])
        elif history.number % 40 == 0:
            history.merge_side_branch(main)
        else:
            mark = history.commit(main_ref, main)
            if history.number % 100 == 0:
                tags.append(f"v{history.number // 100}.0")
                stream.tag(tags[-1], mark, f"version {history.number // 100}.0\n")
    stream.run(bare)
    for ref in [r for r in stream.heads if r.startswith("refs/heads/side")]:
        git("update-ref", "-d", ref, cwd=bare)  # merged; only main is a branch

    repository = RichRepository(bare, stream.heads[main_ref], tags=tags)
    previous = main_ref
    for name, count in STAGES:
        ref = f"refs/stages/{name}"
        stream.heads[ref] = stream.heads[previous]
        for number in range(count):
            if number == count - 2:
                before_last_two = dict(main)
            history.commit(ref, main)
        stream.run(bare)
        repository.stages[name] = stream.heads[ref]
        previous = ref
    # History rewritten: the last two commits dropped, two others in their place.
    ref = "refs/stages/rewritten"
    stream.heads[ref] = rev_parse(bare, f"{stream.heads[previous]}~2")
    for number in range(2):
        history.commit(ref, before_last_two, f"rewritten {number}")
    stream.run(bare)
    repository.stages["rewritten"] = stream.heads[ref]
    git("repack", "-adfq", "--depth=4095", "--window=250", cwd=bare)
    return repository
