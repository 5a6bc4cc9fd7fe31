#include "morgana/git/path_history.h"

#include <algorithm>
#include <deque>
#include <functional>
#include <queue>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "morgana/git/tree_walk.h"

namespace morgana::git {

namespace {

using PathId = std::uint32_t;

WallClock::time_point wall_time(std::int64_t seconds) { return WallClock::time_point{std::chrono::seconds{seconds}}; }

// A set of path ids: the ids listed, or (complement) every id but those.
// The set that follows first parents is "every path but the few sent down
// other parents", so it stays small however many paths the tree has.
struct PathSet {
  bool complement = false;
  std::vector<PathId> ids; // sorted

  [[nodiscard]] bool empty() const { return !complement && ids.empty(); }
  [[nodiscard]] bool contains(PathId id) const { return complement != std::ranges::binary_search(ids, id); }
};

std::vector<PathId> set_union(const std::vector<PathId>& a, const std::vector<PathId>& b) {
  std::vector<PathId> out;
  std::ranges::set_union(a, b, std::back_inserter(out));
  return out;
}
std::vector<PathId> set_difference(const std::vector<PathId>& a, const std::vector<PathId>& b) {
  std::vector<PathId> out;
  std::ranges::set_difference(a, b, std::back_inserter(out));
  return out;
}
std::vector<PathId> set_intersection(const std::vector<PathId>& a, const std::vector<PathId>& b) {
  std::vector<PathId> out;
  std::ranges::set_intersection(a, b, std::back_inserter(out));
  return out;
}

PathSet unite(const PathSet& a, const PathSet& b) {
  if (a.complement && b.complement) return {true, set_intersection(a.ids, b.ids)};
  if (a.complement) return {true, set_difference(a.ids, b.ids)};
  if (b.complement) return {true, set_difference(b.ids, a.ids)};
  return {false, set_union(a.ids, b.ids)};
}
// `set` with `ids` (sorted) added or removed.
PathSet with(const PathSet& set, const std::vector<PathId>& ids) {
  return set.complement ? PathSet{true, set_difference(set.ids, ids)} : PathSet{false, set_union(set.ids, ids)};
}
PathSet without(const PathSet& set, const std::vector<PathId>& ids) {
  return set.complement ? PathSet{true, set_union(set.ids, ids)} : PathSet{false, set_difference(set.ids, ids)};
}

using SharedSet = std::shared_ptr<const PathSet>;

bool is_empty(const SharedSet& set) { return set == nullptr || set->empty(); }
bool has(const SharedSet& set, PathId id) { return set != nullptr && set->contains(id); }
SharedSet share(PathSet set) {
  if (set.empty()) return nullptr;
  return std::make_shared<const PathSet>(std::move(set));
}
SharedSet unite(const SharedSet& a, const SharedSet& b) {
  if (is_empty(a)) return b;
  if (is_empty(b)) return a;
  return share(unite(*a, *b));
}

void sort_unique(std::vector<PathId>& ids) {
  std::ranges::sort(ids);
  auto duplicates = std::ranges::unique(ids);
  ids.erase(duplicates.begin(), duplicates.end());
}

// A commit adding a path: its dates, and its place in the walks (ranks grow
// from descendants to ancestors) to break ties as git's walk would.
struct Candidate {
  std::int64_t author_time = 0;
  std::int64_t commit_time = 0;
  std::int64_t rank = 0;
};

// git log --reverse … | head -1 takes the last commit git's walk shows: the
// oldest committer date, and of equal dates the one met later.
bool shown_later(const Candidate& a, const Candidate& b) {
  return a.commit_time != b.commit_time ? a.commit_time < b.commit_time : a.rank > b.rank;
}

// The commits that added a path, anywhere in the history walked (whatever
// the path's own simplified history): how many, and the first met.
struct Additions {
  std::uint32_t count = 0;
  Candidate first;
  bool by_merge = false; // a merge holds it while none of its parents does
};

} // namespace

struct PathHistory::State {
  struct Path {
    PathDates dates;
    Candidate created; // the commit dates.created comes from
    bool has_created = false;
    bool in_head = false;
    Additions additions;
  };

  // Every path the walked history held, by id; a deque, so the map's views stay valid.
  std::deque<std::string> names;
  std::unordered_map<std::string_view, PathId> ids;
  std::vector<Path> paths;                    // by id; may be shorter than names until a walk is applied
  std::unordered_set<ObjectId> known_commits; // every commit walked: the head and its ancestors
  std::int64_t lowest_rank = 0;
  bool shallow = false;
  std::vector<ObjectId> boundaries; // the repository's shallow commits when the history was walked

  [[nodiscard]] const PathId* find(std::string_view path) const {
    auto found = ids.find(path);
    return found == ids.end() ? nullptr : &found->second;
  }
  PathId intern(std::string_view path) {
    if (const auto* id = find(path)) return *id;
    auto id = static_cast<PathId>(names.size());
    names.emplace_back(path);
    ids.emplace(std::string_view(names.back()), id);
    return id;
  }
  // Forgets the names interned after the first `count` (a walk that failed).
  void truncate(std::size_t count) {
    while (names.size() > count) {
      ids.erase(std::string_view(names.back()));
      names.pop_back();
    }
  }
};

namespace {

using State = PathHistory::State;

// One walk over commits from some starting commits, each with the head paths
// whose last-modified chain passes there (`pending`) and the paths whose
// simplified history passes there (`flow`). Results go to `last_modified`
// (author dates of the commits that end chains) and `created` (the best
// commit adding each path), or, for commits where the walk stops (known
// commits of an earlier walk), to `arrivals`.
class Walk {
public:
  struct Start {
    ObjectId commit;
    SharedSet pending;
    SharedSet flow;
  };
  struct Arrival {
    ObjectId commit;
    SharedSet pending;
    SharedSet flow;
  };

  // `stop`: commits not walked (their arrivals are reported). `new_commits`:
  // the walk covers commits no walk has seen, whose additions are counted.
  Walk(Repository& repository, State& state, const std::unordered_set<ObjectId>* stop, bool new_commits,
       PathHistory::Stats& stats)
      : m_repository(repository), m_state(state), m_stop(stop), m_new_commits(new_commits), m_stats(stats) {}

  [[nodiscard]] Result<void> run(const std::vector<Start>& starts, std::int64_t& lowest_rank);

  std::unordered_map<PathId, std::int64_t> last_modified;
  std::unordered_map<PathId, Candidate> created;
  std::unordered_map<PathId, Additions> additions; // in new commits only
  std::vector<Arrival> arrivals;                   // every stop commit reached, with what reached it (maybe nothing)
  std::vector<ObjectId> walked;
  bool shallow = false;

private:
  struct Node {
    ObjectId id;
    ObjectId tree;
    std::int64_t commit_time = 0;
    std::int64_t author_time = 0;
    std::vector<ObjectId> parent_ids;   // as the commit names them, until collected
    std::vector<std::uint32_t> parents; // the nodes of those held
    std::uint32_t waiting = 0;          // children not processed yet
    bool stop = false;
    bool cut = false; // parents beyond a shallow boundary or not held
    SharedSet pending;
    SharedSet flow;
  };

  [[nodiscard]] Result<std::uint32_t> node_for(const ObjectId& id);
  [[nodiscard]] Result<void> collect(const std::vector<Start>& starts);
  [[nodiscard]] Result<void> process(Node& node, std::int64_t rank);
  // The paths a diff touches: each changed path and every known path that is
  // a directory above it (a pathspec names a directory's files too).
  void touched(const std::vector<Change>& changes, std::vector<PathId>& all, std::vector<PathId>& added);
  void end_chain(PathId id, const Node& node) { last_modified.emplace(id, node.author_time); }
  void add_candidate(PathId id, const Node& node, std::int64_t rank);
  void count_addition(PathId id, const Node& node, std::int64_t rank);
  void send(std::uint32_t parent, const SharedSet& pending, const SharedSet& flow);

  Repository& m_repository;
  State& m_state;
  const std::unordered_set<ObjectId>* m_stop;
  bool m_new_commits;
  PathHistory::Stats& m_stats;
  std::vector<Node> m_nodes;
  std::unordered_map<ObjectId, std::uint32_t> m_index;
};

Result<std::uint32_t> Walk::node_for(const ObjectId& id) {
  auto found = m_index.find(id);
  if (found != m_index.end()) return found->second;
  auto read = TRY(m_repository.read_commit(id));
  Node node{.id = id,
            .tree = read.commit.tree,
            .commit_time = read.commit.committer.time,
            .author_time = read.commit.author.time};
  node.stop = m_stop != nullptr && m_stop->contains(id);
  if (!node.stop) node.parent_ids = std::move(read.commit.parents);
  auto index = static_cast<std::uint32_t>(m_nodes.size());
  m_nodes.push_back(std::move(node));
  m_index.emplace(id, index);
  return index;
}

Result<void> Walk::collect(const std::vector<Start>& starts) {
  std::vector<std::uint32_t> queue;
  for (const auto& start : starts) {
    auto before = m_nodes.size();
    auto index = TRY(node_for(start.commit));
    auto& node = m_nodes[index];
    node.pending = unite(node.pending, start.pending);
    node.flow = unite(node.flow, start.flow);
    if (m_nodes.size() != before) queue.push_back(index);
  }
  const auto& boundaries = m_repository.shallow();
  for (std::size_t next = 0; next < queue.size(); ++next) {
    auto index = queue[next];
    if (m_nodes[index].stop) continue;
    auto id = m_nodes[index].id;
    auto parents = std::move(m_nodes[index].parent_ids);
    if (std::ranges::binary_search(boundaries, id)) {
      m_nodes[index].cut = true;
      continue;
    }
    for (const auto& parent : parents) {
      // A parent not held lies beyond a boundary the server drew.
      if (!m_repository.store().contains(parent)) {
        m_nodes[index].cut = true;
        continue;
      }
      auto before = m_nodes.size();
      auto parent_index = TRY(node_for(parent));
      if (m_nodes.size() != before) queue.push_back(parent_index);
      m_nodes[index].parents.push_back(parent_index);
      ++m_nodes[parent_index].waiting;
    }
    // A boundary keeps no parents at all, as git grafts it.
    if (m_nodes[index].cut) {
      for (auto parent : m_nodes[index].parents) --m_nodes[parent].waiting;
      m_nodes[index].parents.clear();
    }
  }
  return {};
}

void Walk::touched(const std::vector<Change>& changes, std::vector<PathId>& all, std::vector<PathId>& added) {
  all.clear();
  added.clear();
  for (const auto& change : changes) {
    std::string_view path = change.path;
    auto id = m_state.intern(path);
    all.push_back(id);
    if (change.kind == ChangeKind::added) added.push_back(id);
    for (auto slash = path.rfind('/'); slash != std::string_view::npos; slash = path.rfind('/', slash - 1)) {
      if (const auto* above = m_state.find(path.substr(0, slash))) {
        all.push_back(*above);
        if (change.kind == ChangeKind::added) added.push_back(*above);
      }
      if (slash == 0) break;
    }
  }
  sort_unique(all);
  sort_unique(added);
}

void Walk::add_candidate(PathId id, const Node& node, std::int64_t rank) {
  Candidate candidate{.author_time = node.author_time, .commit_time = node.commit_time, .rank = rank};
  auto [found, inserted] = created.emplace(id, candidate);
  if (!inserted && shown_later(candidate, found->second)) found->second = candidate;
}

void Walk::count_addition(PathId id, const Node& node, std::int64_t rank) {
  if (!m_new_commits) return;
  auto& counted = additions[id];
  if (counted.count++ == 0)
    counted.first = {.author_time = node.author_time, .commit_time = node.commit_time, .rank = rank};
}

void Walk::send(std::uint32_t parent, const SharedSet& pending, const SharedSet& flow) {
  auto& node = m_nodes[parent];
  node.pending = unite(node.pending, pending);
  node.flow = unite(node.flow, flow);
}

Result<void> Walk::process(Node& node, std::int64_t rank) {
  ++m_stats.commits_walked;
  walked.push_back(node.id);
  const auto& pending = node.pending;
  const auto& flow = node.flow;
  // New commits are diffed even when no path's history passes there, to
  // count every path's additions (see increment()).
  if (!m_new_commits && is_empty(pending) && is_empty(flow)) return {};

  if (node.parents.empty()) {
    // A root (or a shallow boundary, which git treats as one): every path it holds is added here.
    if (node.cut) shallow = true;
    return walk_tree(m_repository, node.tree, [&](std::string_view path, const TreeEntry&) -> Result<void> {
      std::vector<Change> change{{.path = std::string(path), .kind = ChangeKind::added}};
      std::vector<PathId> all;
      std::vector<PathId> added;
      touched(change, all, added);
      for (auto id : all) {
        if (has(pending, id)) end_chain(id, node);
        if (has(flow, id)) add_candidate(id, node, rank);
        count_addition(id, node, rank);
      }
      return {};
    });
  }

  std::vector<PathId> all;
  std::vector<PathId> added;
  if (node.parents.size() == 1) {
    ++m_stats.trees_diffed;
    auto changes = TRY(m_repository.diff_trees(m_nodes[node.parents[0]].tree, node.tree));
    touched(changes, all, added);
    std::vector<PathId> ended;
    for (auto id : all) {
      if (has(pending, id)) ended.push_back(id);
    }
    for (auto id : ended) end_chain(id, node);
    for (auto id : added) {
      if (has(flow, id)) add_candidate(id, node, rank);
      count_addition(id, node, rank);
    }
    send(node.parents[0], ended.empty() ? pending : share(without(*pending, ended)), flow);
    return {};
  }

  // A merge: a path the same as in some parent follows only the first such
  // parent; one that differs from every parent ends its chain here, and its
  // history goes on into every parent. Merges add nothing (git shows them no diff).
  std::vector<std::vector<PathId>> differs(node.parents.size());
  std::vector<PathId> any;
  std::vector<PathId> added_to_all;
  for (std::size_t i = 0; i < node.parents.size(); ++i) {
    ++m_stats.trees_diffed;
    auto changes = TRY(m_repository.diff_trees(m_nodes[node.parents[i]].tree, node.tree));
    touched(changes, differs[i], added);
    any = set_union(any, differs[i]);
    added_to_all = i == 0 ? added : set_intersection(added_to_all, added);
  }
  if (m_new_commits) {
    for (auto id : added_to_all) additions[id].by_merge = true;
  }
  std::vector<PathId> first_pending_removed;
  std::vector<PathId> first_flow_removed;
  std::vector<std::vector<PathId>> other_pending(node.parents.size());
  std::vector<std::vector<PathId>> other_flow(node.parents.size());
  for (auto id : any) {
    std::size_t same = 0;
    while (same < node.parents.size() && std::ranges::binary_search(differs[same], id)) ++same;
    if (same == 0) continue; // follows the first parent, as paths the merge did not touch
    bool in_pending = has(pending, id);
    bool in_flow = has(flow, id);
    if (same == node.parents.size()) {
      if (in_pending) {
        end_chain(id, node);
        first_pending_removed.push_back(id);
      }
      if (in_flow) {
        for (std::size_t i = 1; i < node.parents.size(); ++i) other_flow[i].push_back(id);
      }
      continue;
    }
    if (in_pending) {
      first_pending_removed.push_back(id);
      other_pending[same].push_back(id);
    }
    if (in_flow) {
      first_flow_removed.push_back(id);
      other_flow[same].push_back(id);
    }
  }
  send(node.parents[0], first_pending_removed.empty() ? pending : share(without(*pending, first_pending_removed)),
       first_flow_removed.empty() ? flow : share(without(*flow, first_flow_removed)));
  for (std::size_t i = 1; i < node.parents.size(); ++i) {
    send(node.parents[i], share({false, std::move(other_pending[i])}), share({false, std::move(other_flow[i])}));
  }
  return {};
}

Result<void> Walk::run(const std::vector<Start>& starts, std::int64_t& lowest_rank) {
  TRY(collect(starts));
  // Children before parents; of the commits ready, the latest committer
  // date first (ties in the order met), as git's own walk goes.
  auto later_first = [this](std::uint32_t a, std::uint32_t b) {
    const auto& x = m_nodes[a];
    const auto& y = m_nodes[b];
    return x.commit_time != y.commit_time ? x.commit_time < y.commit_time : a > b;
  };
  std::priority_queue<std::uint32_t, std::vector<std::uint32_t>, decltype(later_first)> ready(later_first);
  for (std::uint32_t i = 0; i < m_nodes.size(); ++i) {
    if (m_nodes[i].waiting == 0) ready.push(i);
  }
  auto base = lowest_rank - static_cast<std::int64_t>(m_nodes.size());
  std::int64_t order = 0;
  while (!ready.empty()) {
    auto index = ready.top();
    ready.pop();
    auto& node = m_nodes[index];
    if (node.stop) {
      arrivals.push_back({node.id, node.pending, node.flow});
    } else {
      TRY(process(node, base + order++));
      for (auto parent : node.parents) {
        if (--m_nodes[parent].waiting == 0) ready.push(parent);
      }
    }
    node.pending = nullptr;
    node.flow = nullptr;
  }
  lowest_rank = base;
  return {};
}

} // namespace

PathHistory::PathHistory() = default;
PathHistory::PathHistory(PathHistory&&) noexcept = default;
PathHistory& PathHistory::operator=(PathHistory&&) noexcept = default;
PathHistory::~PathHistory() = default;

const PathDates* PathHistory::find(std::string_view path) const {
  if (m_state == nullptr) return nullptr;
  const auto* id = m_state->find(path);
  if (id == nullptr || *id >= m_state->paths.size() || !m_state->paths[*id].in_head) return nullptr;
  return &m_state->paths[*id].dates;
}

bool PathHistory::shallow() const { return m_state != nullptr && m_state->shallow; }

namespace {

void apply_candidate(State::Path& path, const Candidate& candidate) {
  if (path.has_created && !shown_later(candidate, path.created)) return;
  path.has_created = true;
  path.created = candidate;
  path.dates.created = wall_time(candidate.author_time);
}

void add_additions(Additions& total, const Additions& more) {
  if (total.count == 0) total.first = more.first;
  total.count += more.count;
  total.by_merge = total.by_merge || more.by_merge;
}

// From scratch: every commit from `head`, every path its history held.
Result<std::unique_ptr<State>> compute(Repository& repository, const ObjectId& head, PathHistory::Stats& stats) {
  auto state = std::make_unique<State>();
  auto read = TRY(repository.read_commit(head));
  PathSet pending;
  TRY(walk_tree(repository, read.commit.tree, [&](std::string_view path, const TreeEntry&) -> Result<void> {
    pending.ids.push_back(state->intern(path));
    return {};
  }));
  auto head_paths = pending.ids;
  Walk walk(repository, *state, nullptr, true, stats);
  TRY(walk.run({{head, share(std::move(pending)), share({true, {}})}}, state->lowest_rank));
  state->paths.resize(state->names.size());
  for (auto id : head_paths) state->paths[id].in_head = true;
  for (auto [id, time] : walk.last_modified) state->paths[id].dates.last_modified = wall_time(time);
  for (const auto& [id, candidate] : walk.created) apply_candidate(state->paths[id], candidate);
  for (const auto& [id, counted] : walk.additions) state->paths[id].additions = counted;
  state->known_commits.insert(walk.walked.begin(), walk.walked.end());
  state->shallow = walk.shallow;
  state->boundaries = repository.shallow();
  stats.paths_updated = head_paths.size();
  return state;
}

} // namespace

Result<bool> PathHistory::increment(Repository& repository, const ObjectId& head, Stats& stats) {
  auto& state = *m_state;
  auto names_before = state.names.size();
  // Back to an ancestor of the previous head: its paths' histories were never walked on their own.
  if (state.known_commits.contains(head)) return false;
  // A fetch that moved the shallow boundaries cut (or lengthened) the history walked before.
  if (state.boundaries != repository.shallow()) return false;
  auto old_commit = TRY(repository.read_commit(*m_head));
  auto new_commit = TRY(repository.read_commit(head));
  ++stats.trees_diffed;
  auto head_changes = TRY(repository.diff_trees(old_commit.commit.tree, new_commit.commit.tree));
  std::vector<PathId> removed;
  std::vector<PathId> added;
  for (const auto& change : head_changes) {
    auto id = state.intern(change.path);
    if (change.kind == ChangeKind::deleted) removed.push_back(id);
    if (change.kind == ChangeKind::added) added.push_back(id);
  }
  sort_unique(removed);
  sort_unique(added);
  PathSet head_paths;
  for (PathId id = 0; id < state.paths.size(); ++id) {
    if (state.paths[id].in_head) head_paths.ids.push_back(id);
  }
  head_paths = with(without(head_paths, removed), added);

  auto lowest_rank = state.lowest_rank;
  Walk walk(repository, state, &state.known_commits, true, stats);
  TRY(walk.run({{head, share(head_paths), share({true, {}})}}, lowest_rank));
  auto at_old_head = std::ranges::find(walk.arrivals, *m_head, &Walk::Arrival::commit);
  if (at_old_head == walk.arrivals.end()) return false; // a force-push
  // Chains that reached the previous head keep its answers; they carry the
  // head's content, so the path must have been a head path there.
  if (at_old_head->pending != nullptr) {
    for (auto id : at_old_head->pending->ids) {
      if (id >= state.paths.size() || !state.paths[id].in_head) return false;
    }
  }
  // Histories that went into older commits by another way (a branch forked
  // before the previous head) are walked from there, for those paths only,
  // unless what that walk would find is known already: every commit of the
  // old history was diffed, so each path's additions there were counted. A
  // path none added has no creation below; one added once, held (not as a
  // directory) where its history enters, and never brought by a merge alone
  // was created by that one addition (going back from a commit holding it,
  // some parent holds it too, until the commit adding it).
  std::vector<Walk::Start> escaped;
  std::unordered_map<PathId, Candidate> found_below;
  auto old_paths = static_cast<PathId>(names_before);
  for (const auto& arrival : walk.arrivals) {
    if (arrival.commit == *m_head) continue;
    SharedSet flow;
    if (!is_empty(arrival.flow) && arrival.flow->complement) {
      PathSet old_flow = *arrival.flow;
      for (PathId id = old_paths; id < state.names.size(); ++id) old_flow.ids.push_back(id);
      sort_unique(old_flow.ids);
      flow = share(std::move(old_flow));
    } else if (!is_empty(arrival.flow)) {
      auto tree = TRY(repository.read_commit(arrival.commit)).commit.tree;
      PathSet unknown;
      for (auto id : arrival.flow->ids) {
        if (id >= old_paths || id >= state.paths.size() || state.paths[id].additions.count == 0) continue;
        const auto& additions = state.paths[id].additions;
        if (additions.count == 1 && !additions.by_merge) {
          auto mode = TRY(find_mode(repository, tree, state.names[id]));
          if (mode && *mode != TreeMode::directory) {
            found_below.emplace(id, additions.first);
            continue;
          }
        }
        unknown.ids.push_back(id);
      }
      flow = share(std::move(unknown));
    }
    if (!is_empty(arrival.pending) || !is_empty(flow)) escaped.push_back({arrival.commit, arrival.pending, flow});
  }
  Walk deeper(repository, state, nullptr, false, stats);
  if (!escaped.empty()) TRY(deeper.run(escaped, lowest_rank));

  // Nothing below fails: the state changes only now.
  state.paths.resize(state.names.size());
  // The head paths whose dates change, for the stats: each id once, with its dates before.
  std::vector<PathId> touched_ids;
  std::vector<PathDates> before;
  std::unordered_set<PathId> seen;
  auto touch = [&](PathId id) {
    if (!seen.insert(id).second) return;
    touched_ids.push_back(id);
    before.push_back(state.paths[id].dates);
  };
  for (auto id : removed) state.paths[id].in_head = false;
  for (auto id : added) {
    touch(id);
    state.paths[id].in_head = true;
  }
  for (const auto* results : {&walk, &deeper}) {
    for (auto [id, time] : results->last_modified) {
      touch(id);
      state.paths[id].dates.last_modified = wall_time(time);
    }
  }
  // A path whose history no longer reaches the previous head loses what was found there.
  const auto& reached = at_old_head->flow;
  auto forget = [&](PathId id) {
    if (has(reached, id) || !state.paths[id].has_created) return;
    touch(id);
    state.paths[id].has_created = false;
    state.paths[id].dates.created = {};
  };
  if (reached != nullptr && reached->complement) {
    for (auto id : reached->ids) {
      if (id < state.paths.size()) forget(id);
    }
  } else {
    for (PathId id = 0; id < state.paths.size(); ++id) forget(id);
  }
  for (const auto* found : {&walk.created, &deeper.created, &found_below}) {
    for (const auto& [id, candidate] : *found) {
      touch(id);
      apply_candidate(state.paths[id], candidate);
    }
  }
  for (const auto& [id, counted] : walk.additions) add_additions(state.paths[id].additions, counted);
  for (std::size_t i = 0; i < touched_ids.size(); ++i) {
    const auto& path = state.paths[touched_ids[i]];
    bool differs = path.dates.last_modified != before[i].last_modified || path.dates.created != before[i].created;
    if (path.in_head && (differs || std::ranges::binary_search(added, touched_ids[i]))) ++stats.paths_updated;
  }
  state.known_commits.insert(walk.walked.begin(), walk.walked.end());
  state.shallow = state.shallow || walk.shallow || deeper.shallow;
  state.lowest_rank = lowest_rank;
  return true;
}

Result<void> PathHistory::update(Repository& repository, const ObjectId& head) {
  Stats stats;
  if (m_state != nullptr && m_head == head) {
    m_stats = stats;
    return {};
  }
  if (m_state != nullptr && m_head) {
    auto names = m_state->names.size();
    auto incremented = increment(repository, head, stats);
    if (!incremented) m_state->truncate(names);
    if (!incremented) return std::unexpected(incremented.error());
    if (*incremented) {
      m_head = head;
      m_stats = stats;
      return {};
    }
    m_state->truncate(names);
  }
  m_state = TRY(compute(repository, head, stats));
  m_head = head;
  m_stats = stats;
  return {};
}

} // namespace morgana::git
