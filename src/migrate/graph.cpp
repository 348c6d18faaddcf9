#include "pangeo_forge/migrate/graph.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <functional>
#include <optional>

#include "pangeo_forge/error.hpp"
#include "support/text.hpp"

namespace pangeo_forge::migrate {
namespace {

using detail::joined;

std::string file_of(const Revision& revision) {
    return revision.path.empty() ? "revision " + revision.id : revision.path.filename().string();
}

bool is_number(const std::string& text) {
    return !text.empty() &&
           std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isdigit(c) != 0; });
}

// "REV+N" / "REV-N" / "+N" / "-N" / "head-N" / "label@head+N", split at the last sign.
struct Relative {
    std::string base;    // empty: from the database's revision
    bool down = false;   // '-'
    std::string digits;  // N as written: not yet known to fit a number
};

std::optional<Relative> split_relative(const std::string& spec) {
    auto sign = spec.find_last_of("+-");
    if (sign == std::string::npos || !is_number(spec.substr(sign + 1))) return std::nullopt;
    return Relative{spec.substr(0, sign), spec[sign] == '-', spec.substr(sign + 1)};
}

// "+N", "current+N", "label@+N": counted from the database's revisions.
bool counted_from_current(const Relative& relative) {
    return relative.base.empty() || relative.base == "current" || relative.base.back() == '@';
}

// "label@base": the label, or none when `spec` is something else.
std::optional<std::string> label_at_base(const std::string& spec) {
    const std::string suffix = "@base";
    if (spec.size() <= suffix.size() || spec.compare(spec.size() - suffix.size(), suffix.size(), suffix) != 0) {
        return std::nullopt;
    }
    return spec.substr(0, spec.size() - suffix.size());
}

std::string revisions_counted(std::size_t count) {
    return std::to_string(count) + (count == 1 ? " revision" : " revisions");
}

}  // namespace

int RevisionGraph::step_count(const std::string& spec, const std::string& digits) const {
    // A walk moves to a new revision (or to base) at each step, so no more steps than
    // revisions can succeed; the bound also keeps N within an int, whatever was typed.
    unsigned long long count = 0;
    auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), count);
    if (error != std::errc() || end != digits.data() + digits.size() || count > revisions_.size()) {
        throw MigrationError("'" + spec + "' moves " + digits + " steps, but the history has " +
                             revisions_counted(revisions_.size()) + ": use at most " +
                             std::to_string(revisions_.size()) +
                             " steps, or name the revision to go to (`pangeo-forge db history` lists them)");
    }
    return static_cast<int>(count);
}

RevisionGraph RevisionGraph::load(const std::filesystem::path& folder) {
    std::filesystem::path versions = std::filesystem::is_directory(folder / "versions") ? folder / "versions" : folder;
    if (!std::filesystem::is_directory(versions)) {
        throw MigrationError("there is no migrations folder at " + folder.string() +
                             ": pass --migrations with the folder that holds the revision files");
    }
    std::vector<std::filesystem::path> files;
    for (const auto& entry : std::filesystem::directory_iterator(versions)) {
        if (entry.is_regular_file() && entry.path().extension() == ".json") files.push_back(entry.path());
    }
    std::sort(files.begin(), files.end());
    std::vector<Revision> revisions;
    for (const auto& file : files) revisions.push_back(load_revision_file(file));
    return RevisionGraph(std::move(revisions), versions);
}

RevisionGraph::RevisionGraph(std::vector<Revision> revisions, std::filesystem::path folder)
    : folder_(std::move(folder)) {
    std::map<std::string, std::string> labels;
    for (auto& revision : revisions) {
        auto [it, inserted] = revisions_.emplace(revision.id, revision);
        if (!inserted) {
            throw MigrationError("revision " + revision.id + " is defined twice, in " + file_of(it->second) +
                                 " and in " + file_of(revision) + ": give one of them a new id");
        }
        for (const auto& label : revision.branch_labels) {
            auto [owner, fresh] = labels.emplace(label, revision.id);
            if (!fresh) {
                throw MigrationError("branch label '" + label + "' is on both " + owner->second + " and " +
                                     revision.id + ": a label names one branch");
            }
        }
    }
    check_references();
    check_acyclic();
}

void RevisionGraph::check_references() const {
    for (const auto& [id, revision] : revisions_) {
        for (const auto& down : revision.down_revisions) {
            if (!contains(down)) {
                throw MigrationError(file_of(revision) + ": down_revision '" + down +
                                     "' is not a revision in this folder; fix the id or restore that file");
            }
        }
        for (const auto& dependency : revision.depends_on) {
            if (!contains(dependency)) {
                throw MigrationError(file_of(revision) + ": depends_on '" + dependency +
                                     "' is not a revision in this folder");
            }
        }
    }
}

void RevisionGraph::check_acyclic() const {
    // Depth-first search; a revision met again while still on the path closes a cycle.
    enum class Mark { unvisited, on_path, done };
    std::map<std::string, Mark> marks;
    std::vector<std::string> path;
    std::function<void(const std::string&)> visit = [&](const std::string& id) {
        marks[id] = Mark::on_path;
        path.push_back(id);
        const auto& revision = revisions_.at(id);
        std::vector<std::string> below = revision.down_revisions;
        below.insert(below.end(), revision.depends_on.begin(), revision.depends_on.end());
        for (const auto& next : below) {
            if (marks[next] == Mark::on_path) {
                auto start = std::find(path.begin(), path.end(), next);
                std::vector<std::string> cycle(start, path.end());
                cycle.push_back(next);
                throw MigrationError("the revisions form a cycle: " + joined(cycle, " -> ") +
                                     "; one down_revision must point elsewhere");
            }
            if (marks[next] == Mark::unvisited) visit(next);
        }
        path.pop_back();
        marks[id] = Mark::done;
    };
    for (const auto& [id, revision] : revisions_) {
        if (marks[id] == Mark::unvisited) visit(id);
    }
}

const Revision& RevisionGraph::get(const std::string& id) const {
    auto it = revisions_.find(id);
    if (it == revisions_.end()) {
        throw MigrationError("there is no revision " + id + " in " + folder_.string() +
                             "; `pangeo-forge db history` lists them");
    }
    return it->second;
}

std::vector<std::string> RevisionGraph::children(const std::string& id) const {
    std::vector<std::string> out;
    for (const auto& [child, revision] : revisions_) {
        const auto& downs = revision.down_revisions;
        if (std::find(downs.begin(), downs.end(), id) != downs.end()) out.push_back(child);
    }
    return out;
}

std::vector<std::string> RevisionGraph::heads() const {
    std::vector<std::string> out;
    for (const auto& [id, revision] : revisions_) {
        if (children(id).empty()) out.push_back(id);
    }
    return out;
}

std::vector<std::string> RevisionGraph::bases() const {
    std::vector<std::string> out;
    for (const auto& [id, revision] : revisions_) {
        if (revision.down_revisions.empty()) out.push_back(id);
    }
    return out;
}

std::vector<std::string> RevisionGraph::branch_points() const {
    std::vector<std::string> out;
    for (const auto& [id, revision] : revisions_) {
        if (children(id).size() > 1) out.push_back(id);
    }
    return out;
}

std::vector<std::string> RevisionGraph::topological_order() const {
    std::map<std::string, int> waiting;  // how many revisions each still waits for
    std::map<std::string, std::vector<std::string>> above;
    for (const auto& [id, revision] : revisions_) {
        waiting[id];
        for (const auto& below : revision.down_revisions) {
            ++waiting[id];
            above[below].push_back(id);
        }
        for (const auto& below : revision.depends_on) {
            ++waiting[id];
            above[below].push_back(id);
        }
    }
    std::set<std::string> ready;
    for (const auto& [id, count] : waiting) {
        if (count == 0) ready.insert(id);
    }
    std::vector<std::string> order;
    while (!ready.empty()) {
        std::string id = *ready.begin();
        ready.erase(ready.begin());
        order.push_back(id);
        for (const auto& next : above[id]) {
            if (--waiting[next] == 0) ready.insert(next);
        }
    }
    return order;
}

std::set<std::string> RevisionGraph::ancestry(const std::vector<std::string>& ids) const { return below(ids, true); }

std::set<std::string> RevisionGraph::below(const std::vector<std::string>& ids, bool with_dependencies) const {
    std::set<std::string> seen;
    std::vector<std::string> pending(ids.begin(), ids.end());
    while (!pending.empty()) {
        std::string id = pending.back();
        pending.pop_back();
        if (!seen.insert(id).second) continue;
        const auto& revision = get(id);
        pending.insert(pending.end(), revision.down_revisions.begin(), revision.down_revisions.end());
        if (with_dependencies) pending.insert(pending.end(), revision.depends_on.begin(), revision.depends_on.end());
    }
    return seen;
}

bool RevisionGraph::reads_current(const std::string& spec) {
    if (spec == "current") return true;
    auto relative = split_relative(spec);
    return relative && counted_from_current(*relative);
}

std::string RevisionGraph::resolve_revision(const std::string& spec) const {
    if (spec.empty()) {
        throw MigrationError("an empty revision names nothing: give an id, a unique prefix of one or a branch label");
    }
    if (contains(spec)) return spec;
    for (const auto& [id, revision] : revisions_) {
        const auto& labels = revision.branch_labels;
        if (std::find(labels.begin(), labels.end(), spec) != labels.end()) return id;
    }
    std::vector<std::string> matches;
    for (const auto& [id, revision] : revisions_) {
        if (id.rfind(spec, 0) == 0) matches.push_back(id);
    }
    if (matches.size() == 1 && !spec.empty()) return matches.front();
    if (matches.size() > 1) {
        throw MigrationError("'" + spec + "' is the start of several revisions (" + joined(matches) +
                             "): give more of the id");
    }
    throw MigrationError("there is no revision '" + spec + "' in " + folder_.string() +
                         "; `pangeo-forge db history` lists them");
}

std::string RevisionGraph::single_head(const std::string& what) const {
    auto all = heads();
    if (all.size() == 1) return all.front();
    if (all.empty()) throw MigrationError("there are no revisions in " + folder_.string());
    throw MigrationError("the migrations have " + std::to_string(all.size()) + " heads (" + joined(all) +
                         "), so '" + what + "' is ambiguous: name one of them, use 'heads' to move every branch, "
                         "or join them with `pangeo-forge db merge -m MESSAGE " + joined(all, " ") + "`");
}

std::string RevisionGraph::step(const std::string& from, int steps, const std::set<std::string>* branch) const {
    auto within = [&](std::vector<std::string> ids) {
        if (branch != nullptr) {
            ids.erase(std::remove_if(ids.begin(), ids.end(), [&](const std::string& id) { return !branch->count(id); }),
                      ids.end());
        }
        return ids;
    };
    std::string at = from;
    for (int i = 0; i < std::abs(steps); ++i) {
        std::vector<std::string> next;
        if (steps > 0) {
            next = within(at.empty() ? bases() : children(at));
        } else {
            if (at.empty()) throw MigrationError("cannot go " + std::to_string(-steps) + " steps below the base");
            // Down, a merge forks even within a branch, as Alembic finds the walk ambiguous.
            next = get(at).down_revisions;
            if (next.empty()) next.push_back("");
        }
        if (next.empty()) {
            throw MigrationError("cannot go " + std::to_string(steps) + " steps from " +
                                 (from.empty() ? std::string("base") : from) + ": the history ends at " + at);
        }
        if (next.size() > 1) {
            throw MigrationError("the way from " + (at.empty() ? std::string("base") : at) +
                                 " forks (" + joined(next) + "): name the revision to go to instead");
        }
        at = next.front();
    }
    return at;
}

std::set<std::string> RevisionGraph::lineage(const std::string& id) const { return below({id}, false); }

std::set<std::string> RevisionGraph::descendants(const std::string& id) const {
    std::set<std::string> seen;
    std::vector<std::string> pending{id};
    while (!pending.empty()) {
        std::string next = pending.back();
        pending.pop_back();
        if (!seen.insert(next).second) continue;
        auto above = children(next);
        pending.insert(pending.end(), above.begin(), above.end());
    }
    return seen;
}

std::vector<std::string> RevisionGraph::branch_names(const std::string& id) const {
    std::set<std::string> names;
    for (const auto& below : lineage(id)) {
        const auto& labels = get(below).branch_labels;
        names.insert(labels.begin(), labels.end());
    }
    return {names.begin(), names.end()};
}

std::set<std::string> RevisionGraph::branch_of(const std::string& label) const {
    std::string labelled = resolve_revision(label);
    auto branch = lineage(labelled);
    auto above = descendants(labelled);
    branch.insert(above.begin(), above.end());
    return branch;
}

std::string RevisionGraph::branch_position(const std::string& label, const std::set<std::string>& branch,
                                           const std::vector<std::string>& current) const {
    std::set<std::string> applied;
    for (const auto& id : ancestry(current)) {
        if (branch.count(id)) applied.insert(id);
    }
    std::vector<std::string> tops;
    for (const auto& id : applied) {
        auto above = children(id);
        if (std::none_of(above.begin(), above.end(), [&](const std::string& child) { return applied.count(child); })) {
            tops.push_back(id);
        }
    }
    if (tops.size() > 1) {
        throw MigrationError("the database holds branch " + label + " at several revisions (" + joined(tops) +
                             "): name the revision to go to");
    }
    return tops.empty() ? "" : tops.front();
}

std::vector<std::string> RevisionGraph::resolve_target(const std::string& spec,
                                                       const std::vector<std::string>& current) const {
    if (spec == "heads") return heads();
    if (spec == "head") return {single_head(spec)};
    if (spec == "base") return {};
    if (spec == "current") return current;
    if (auto label = label_at_base(spec)) {
        resolve_revision(*label);  // a label that names nothing is refused here too
        return {};
    }
    if (auto at = spec.find("@head"); at != std::string::npos && at + 5 == spec.size()) {
        // The head of the branch that holds the label.
        std::string labelled = resolve_revision(spec.substr(0, at));
        std::vector<std::string> reachable;
        for (const auto& head : heads()) {
            if (ancestry({head}).count(labelled)) reachable.push_back(head);
        }
        if (reachable.size() != 1) {
            throw MigrationError("branch " + spec.substr(0, at) + " has " + std::to_string(reachable.size()) +
                                 " heads (" + joined(reachable) + "): name one");
        }
        return reachable;
    }
    if (auto relative = split_relative(spec)) {
        int steps = step_count(spec, relative->digits) * (relative->down ? -1 : 1);
        std::string from;
        if (!relative->base.empty() && relative->base.back() == '@') {
            // "label@+N": that branch moves, from where the database has it.
            std::string label = relative->base.substr(0, relative->base.size() - 1);
            auto branch = branch_of(label);
            std::string to = step(branch_position(label, branch, current), steps, &branch);
            return to.empty() ? std::vector<std::string>{} : std::vector<std::string>{to};
        }
        if (relative->base.empty() || relative->base == "current") {
            if (current.size() > 1) {
                throw MigrationError("the database is at several heads (" + joined(current) +
                                     "), so '" + spec + "' is ambiguous: name the revision to go to");
            }
            from = current.empty() ? "" : current.front();
        } else {
            // A revision, a label, head, base or label@head: whatever names one place.
            auto starts = resolve_target(relative->base, current);
            if (starts.size() > 1) {
                throw MigrationError("'" + relative->base + "' in '" + spec + "' is several revisions (" +
                                     joined(starts) + "): count from one of them");
            }
            from = starts.empty() ? "" : starts.front();
        }
        std::string to = step(from, steps);
        return to.empty() ? std::vector<std::string>{} : std::vector<std::string>{to};
    }
    return {resolve_revision(spec)};
}

std::vector<std::string> RevisionGraph::upgrade_plan(const std::vector<std::string>& current,
                                                     const std::vector<std::string>& target) const {
    auto have = ancestry(current);
    auto want = ancestry(target);
    std::vector<std::string> plan;
    for (const auto& id : topological_order()) {
        if (want.count(id) && !have.count(id)) plan.push_back(id);
    }
    return plan;
}

std::vector<std::string> RevisionGraph::downgrade_plan(const std::vector<std::string>& current,
                                                       const std::vector<std::string>& target) const {
    auto have = ancestry(current);
    auto keep = ancestry(target);
    for (const auto& id : target) {
        if (!have.count(id)) {
            throw MigrationError("revision " + id + " is not below the database's revision (" + joined(current) +
                                 "): use upgrade to go there");
        }
    }
    // Undo what stands above the target, not other branches: with a target, only the
    // revisions that build on it (down to base, everything).
    auto above_target = [&](const std::string& id) {
        if (target.empty()) return true;
        auto below = ancestry({id});
        return std::any_of(target.begin(), target.end(), [&](const std::string& t) { return below.count(t) != 0; });
    };
    std::vector<std::string> plan;
    auto order = topological_order();
    for (auto it = order.rbegin(); it != order.rend(); ++it) {
        if (have.count(*it) && !keep.count(*it) && above_target(*it)) plan.push_back(*it);
    }
    return plan;
}

std::vector<std::string> RevisionGraph::upgrade_plan_to(const std::string& spec,
                                                        const std::vector<std::string>& current) const {
    auto relative = split_relative(spec);
    if (relative && relative->down && step_count(spec, relative->digits) > 0 && counted_from_current(*relative)) {
        // Steps down from where the database is: an upgrade would find nothing to do and say so,
        // hiding the mistake (Alembic refuses it too).
        throw MigrationError("'" + spec + "' goes down from where the database is: use `pangeo-forge db downgrade " +
                             spec + "`");
    }
    auto targets = resolve_target(spec, current);
    return upgrade_plan(current, targets);
}

std::vector<std::string> RevisionGraph::downgrade_plan_to(const std::string& spec,
                                                          const std::vector<std::string>& current) const {
    auto targets = resolve_target(spec, current);
    auto label = label_at_base(spec);
    if (!label) return downgrade_plan(current, targets);
    // Everything applied that stands on the labelled revision's line, down to its base.
    auto line = lineage(resolve_revision(*label));
    auto applied = ancestry(current);
    std::vector<std::string> plan;
    auto order = topological_order();
    for (auto it = order.rbegin(); it != order.rend(); ++it) {
        if (!applied.count(*it)) continue;
        auto below = ancestry({*it});
        if (std::any_of(below.begin(), below.end(), [&](const std::string& id) { return line.count(id) != 0; })) {
            plan.push_back(*it);
        }
    }
    return plan;
}

std::vector<std::string> RevisionGraph::heads_after_stamp_to(const std::string& spec,
                                                             const std::vector<std::string>& current) const {
    auto targets = resolve_target(spec, current);
    auto label = label_at_base(spec);
    if (!label) return heads_after_stamp(current, targets);
    // That branch goes to nothing; the heads of the others stay, as Alembic's stamp keeps them.
    auto branch = branch_of(*label);
    std::vector<std::string> heads;
    for (const auto& head : current) {
        if (!branch.count(head)) heads.push_back(head);
    }
    return heads;
}

std::vector<std::string> RevisionGraph::heads_after_stamp(const std::vector<std::string>& current,
                                                          const std::vector<std::string>& targets) const {
    std::vector<std::string> heads;
    if (targets.empty()) return heads;
    for (const auto& head : current) {
        bool on_a_target_line = std::any_of(targets.begin(), targets.end(), [&](const std::string& target) {
            return ancestry({target}).count(head) != 0 || ancestry({head}).count(target) != 0;
        });
        if (!on_a_target_line) heads.push_back(head);
    }
    for (const auto& target : targets) {
        if (std::find(heads.begin(), heads.end(), target) == heads.end()) heads.push_back(target);
    }
    return heads;
}

std::vector<std::string> RevisionGraph::heads_after_upgrade(const std::vector<std::string>& heads,
                                                            const std::string& id) const {
    const auto& downs = get(id).down_revisions;
    std::vector<std::string> out;
    for (const auto& head : heads) {
        if (std::find(downs.begin(), downs.end(), head) == downs.end()) out.push_back(head);
    }
    out.push_back(id);
    return out;
}

std::vector<std::string> RevisionGraph::heads_after_downgrade(const std::vector<std::string>& heads,
                                                              const std::string& id) const {
    std::vector<std::string> out;
    for (const auto& head : heads) {
        if (head != id) out.push_back(head);
    }
    // The revisions below come back as heads, except those another head builds on.
    for (const auto& down : get(id).down_revisions) out.push_back(down);
    std::vector<std::string> heads_only;
    for (const auto& head : out) {
        bool below_another = std::any_of(out.begin(), out.end(), [&](const std::string& other) {
            return other != head && ancestry({other}).count(head) != 0;
        });
        if (!below_another && std::find(heads_only.begin(), heads_only.end(), head) == heads_only.end()) {
            heads_only.push_back(head);
        }
    }
    return heads_only;
}

}  // namespace pangeo_forge::migrate
