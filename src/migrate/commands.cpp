#include "pangeo_forge/migrate/commands.hpp"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <optional>

#include <nlohmann/json.hpp>

#include "pangeo_forge/error.hpp"
#include "support/text.hpp"

namespace pangeo_forge::migrate {
namespace {

using detail::joined;

bool contains(const std::vector<std::string>& ids, const std::string& id) {
    return std::find(ids.begin(), ids.end(), id) != ids.end();
}

// " (alpha, beta)": the branches a revision is on, as Alembic shows them before its marks.
std::string branch_names(const RevisionGraph& graph, const std::string& id) {
    auto names = graph.branch_names(id);
    return names.empty() ? "" : " (" + joined(names) + ")";
}

std::string marks(const RevisionGraph& graph, const std::string& id, const std::vector<std::string>& current) {
    std::string out;
    if (graph.children(id).empty()) out += " (head)";
    if (contains(current, id)) out += " (current)";
    if (graph.children(id).size() > 1) out += " (branchpoint)";
    if (graph.get(id).down_revisions.size() > 1) out += " (mergepoint)";
    return out;
}

// "<base> -> 81c7d27bde71 (head), initial migration"
std::string summary(const RevisionGraph& graph, const std::string& id, const std::vector<std::string>& current) {
    const Revision& revision = graph.get(id);
    std::string below = revision.down_revisions.empty() ? "<base>" : joined(revision.down_revisions);
    return below + " -> " + id + branch_names(graph, id) + marks(graph, id, current) + ", " + revision.message;
}

std::vector<std::string> details(const RevisionGraph& graph, const std::string& id,
                                 const std::vector<std::string>& current) {
    const Revision& revision = graph.get(id);
    const bool merge = revision.down_revisions.size() > 1;
    std::vector<std::string> lines{
        "Rev: " + id + marks(graph, id, current),
        (merge ? "Merges: " : "Parent: ") +
            (revision.down_revisions.empty() ? std::string("<base>") : joined(revision.down_revisions))};
    if (!revision.depends_on.empty()) lines.push_back("Also depends on: " + joined(revision.depends_on));
    if (auto above = graph.children(id); above.size() > 1) lines.push_back("Branches into: " + joined(above));
    if (auto names = graph.branch_names(id); !names.empty()) lines.push_back("Branch names: " + joined(names));
    if (!revision.path.empty()) lines.push_back("Path: " + revision.path.string());
    if (!revision.create_date.empty()) lines.push_back("Create Date: " + revision.create_date);
    lines.push_back("");
    lines.push_back("    " + revision.message);
    lines.push_back("");
    return lines;
}

// The heads a range end names.
std::vector<std::string> range_end(const RevisionGraph& graph, const std::string& spec,
                                   const std::vector<std::string>& current, bool lower) {
    if (spec.empty()) return lower ? std::vector<std::string>{} : graph.heads();
    if (spec == "current") return current;
    return graph.resolve_target(spec, current);
}

// A range runs up one line: every lower end below (or at) an upper one. Anything else
// would list nothing, which reads as "no revisions" rather than as a mistake.
void check_runs_up(const RevisionGraph& graph, const std::string& range, const std::vector<std::string>& lower,
                   const std::vector<std::string>& upper) {
    auto below_upper = graph.ancestry(upper);
    for (const auto& id : lower) {
        if (below_upper.count(id)) continue;
        auto colon = range.find(':');
        std::string start = range.substr(0, colon), end = range.substr(colon + 1);
        std::string why = upper.empty() ? end + " is the base"
                          : graph.ancestry({id}).count(upper.front()) ? end + " is below " + start
                                                                      : start + " and " + end + " are on different branches";
        throw MigrationError("the history range " + range + " lists nothing: " + why +
                             ". A range runs from an older revision up to a newer one on the same line" +
                             (why.find("below") != std::string::npos ? " (" + end + ":" + start + ")" : std::string()));
    }
}

}  // namespace

std::vector<std::string> history_revisions(const RevisionGraph& graph, const std::string& range,
                                           const std::vector<std::string>& current) {
    std::set<std::string> shown;
    if (range.empty()) {
        for (const auto& id : graph.topological_order()) shown.insert(id);
    } else {
        auto colon = range.find(':');
        if (colon == std::string::npos) {
            throw MigrationError("a history range is START:END (either may be left out), not '" + range + "'");
        }
        auto lower = range_end(graph, range.substr(0, colon), current, true);
        auto upper = range_end(graph, range.substr(colon + 1), current, false);
        check_runs_up(graph, range, lower, upper);
        // What lies between: below an upper end and at or above a lower one.
        for (const auto& id : graph.ancestry(upper)) {
            auto below = graph.ancestry({id});
            if (std::all_of(lower.begin(), lower.end(), [&](const std::string& start) { return below.count(start); })) {
                shown.insert(id);
            }
        }
    }
    std::vector<std::string> newest_first;
    auto order = graph.topological_order();
    for (auto it = order.rbegin(); it != order.rend(); ++it) {
        if (shown.count(*it)) newest_first.push_back(*it);
    }
    return newest_first;
}

std::vector<std::string> history(const RevisionGraph& graph, const std::string& range,
                                 const std::vector<std::string>& current, bool verbose) {
    std::vector<std::string> lines;
    for (const auto& id : history_revisions(graph, range, current)) {
        if (verbose) {
            auto block = details(graph, id, current);
            lines.insert(lines.end(), block.begin(), block.end());
        } else {
            lines.push_back(summary(graph, id, current));
        }
    }
    return lines;
}

std::vector<std::string> heads(const RevisionGraph& graph, bool verbose) {
    std::vector<std::string> lines;
    for (const auto& id : graph.heads()) {
        lines.push_back(id + branch_names(graph, id) + " (head)" + (verbose ? ", " + graph.get(id).message : ""));
    }
    return lines;
}

std::vector<std::string> branches(const RevisionGraph& graph) {
    std::vector<std::string> lines;
    for (const auto& id : graph.branch_points()) {
        lines.push_back(id + " (branchpoint), " + graph.get(id).message);
        for (const auto& child : graph.children(id)) {
            lines.push_back("    -> " + child + branch_names(graph, child) + marks(graph, child, {}) + ", " +
                            graph.get(child).message);
        }
    }
    return lines;
}

std::vector<std::string> show_revisions(const RevisionGraph& graph, const std::string& spec,
                                        const std::vector<std::string>& current) {
    if (spec == "base") return graph.bases();
    auto ids = graph.resolve_target(spec, current);
    if (ids.empty()) {
        throw MigrationError("'" + spec + "' names no revision: the database has none applied");
    }
    return ids;
}

std::vector<std::string> show(const RevisionGraph& graph, const std::string& spec,
                              const std::vector<std::string>& current) {
    std::vector<std::string> lines;
    for (const auto& id : show_revisions(graph, spec, current)) {
        if (!lines.empty()) lines.push_back("");
        auto block = details(graph, id, current);
        lines.insert(lines.end(), block.begin(), block.end());
        const Revision& revision = graph.get(id);
        lines.push_back("Upgrade:");
        for (const auto& operation : revision.upgrade) lines.push_back("    " + describe(operation));
        lines.push_back("Downgrade:");
        for (const auto& operation : revision.downgrade) lines.push_back("    " + describe(operation));
    }
    return lines;
}

std::vector<std::string> current_lines(const RevisionGraph& graph, const std::vector<std::string>& current) {
    std::vector<std::string> lines;
    auto all_heads = graph.heads();
    for (const auto& id : current) {
        std::string line = id + (contains(all_heads, id) ? " (head)" : "");
        if (graph.contains(id)) line += ", " + graph.get(id).message;
        lines.push_back(line);
    }
    return lines;
}

std::filesystem::path write_revision(const RevisionGraph& graph, Revision& revision) {
    if (graph.folder().empty()) throw MigrationError("the revision graph has no folder to write to");
    std::filesystem::path path = graph.folder() / revision_file_name(revision);
    if (std::filesystem::exists(path)) throw MigrationError(path.string() + " exists already; not overwriting it");
    std::string text = revision_file_text(revision);
    std::ofstream file(path, std::ios::binary);
    file << text;
    if (!file.flush()) throw MigrationError("cannot write " + path.string());
    revision.path = path;
    revision.checksum = revision_checksum(text);
    return path;
}

namespace {

// What the revision file's JSON can hold (its writer refuses other bytes only once it writes).
bool is_utf8(const std::string& text) {
    try {
        (void)nlohmann::json(text).dump();
        return true;
    } catch (const nlohmann::json::type_error&) {
        return false;
    }
}

// A new revision on top of `down_revisions`, written to the folder.
Revision write_new_revision(const RevisionGraph& graph, std::vector<std::string> down_revisions,
                            const std::string& message, std::vector<Operation> upgrade = {},
                            std::vector<Operation> downgrade = {}, std::vector<std::string> notes = {},
                            const RevisionOptions& options = {}) {
    if (!is_utf8(message)) throw ConfigError("the revision message is not valid UTF-8: write it in UTF-8");
    Revision revision;
    revision.id = options.rev_id.value_or(new_revision_id());
    revision.down_revisions = std::move(down_revisions);
    revision.branch_labels = options.branch_labels;
    for (const auto& spec : options.depends_on) {
        std::string id = graph.resolve_revision(spec);
        if (!contains(revision.depends_on, id)) revision.depends_on.push_back(id);
    }
    revision.message = message;
    revision.create_date = revision_timestamp_now();
    revision.upgrade = std::move(upgrade);
    revision.downgrade = std::move(downgrade);
    revision.notes = std::move(notes);
    write_revision(graph, revision);
    return revision;
}

// The words a target means by themselves: a revision or label so named could not be reached.
bool is_target_word(const std::string& name) {
    return name == "head" || name == "heads" || name == "base" || name == "current";
}

// The revision that carries `label`, or none.
std::optional<std::string> labelled_by(const RevisionGraph& graph, const std::string& label) {
    for (const auto& id : graph.topological_order()) {
        if (contains(graph.get(id).branch_labels, label)) return id;
    }
    return std::nullopt;
}

// Alembic's ids fit its version table's VARCHAR(32); the file name and the (current) marks
// want nothing but word characters.
void check_rev_id(const RevisionGraph& graph, const std::string& id) {
    bool word = !id.empty() && id.size() <= 32 && std::all_of(id.begin(), id.end(), [](unsigned char c) {
        return std::isalnum(c) || c == '_';
    });
    if (!word) {
        throw ConfigError("the revision id '" + id + "' is not valid: use 1 to 32 letters, digits or underscores");
    }
    if (is_target_word(id)) {
        throw ConfigError("the revision id '" + id + "' is a word of targets (head, heads, base, current): choose "
                          "another id, or leave it out for a fresh one");
    }
    if (graph.contains(id)) {
        throw MigrationError("there is a revision " + id + " already (" + graph.get(id).path.string() +
                             "): choose another id, or leave it out for a fresh one");
    }
    if (auto owner = labelled_by(graph, id)) {
        throw MigrationError("the revision id '" + id + "' is the branch label of " + *owner +
                             ": choose another id, or leave it out for a fresh one");
    }
}

void check_branch_label(const RevisionGraph& graph, const std::string& label) {
    if (!is_utf8(label)) throw ConfigError("a branch label is not valid UTF-8: write the label in UTF-8");
    if (label.empty() || label.find('@') != std::string::npos || label.find(':') != std::string::npos ||
        is_target_word(label)) {
        throw ConfigError("the branch label '" + label + "' is not valid: a label is a non-empty name without '@' "
                          "or ':', and not head, heads, base or current (targets write label@head)");
    }
    // "v1-2" as a target is v1 two steps down: such a label could not be named by itself.
    if (auto sign = label.find_last_of("+-"); sign != std::string::npos && sign + 1 < label.size() &&
                                              std::all_of(label.begin() + sign + 1, label.end(),
                                                          [](unsigned char c) { return std::isdigit(c); })) {
        throw ConfigError("the branch label '" + label + "' reads as a step ('" + label.substr(0, sign) + "' " +
                          label.substr(sign) + "): choose a label that does not end in +N or -N");
    }
    if (auto owner = labelled_by(graph, label)) {
        throw MigrationError("the branch label '" + label + "' is taken by revision " + *owner +
                             ": choose another label");
    }
    if (graph.contains(label)) {
        throw MigrationError("the branch label '" + label + "' is a revision id: choose another label");
    }
}

}  // namespace

std::vector<std::string> new_revision_parents(const RevisionGraph& graph, const RevisionOptions& options) {
    if (!options.head) {
        auto all_heads = graph.heads();
        if (all_heads.size() > 1) {
            throw MigrationError("the migrations have " + std::to_string(all_heads.size()) + " heads (" +
                                 joined(all_heads) + "): pass --head to say which to build on, or join them first "
                                 "with `pangeo-forge db merge -m MESSAGE " + joined(all_heads, " ") + "`");
        }
        return all_heads;
    }
    if (*options.head == "base") return {};
    auto named = graph.resolve_target(*options.head, {});
    if (named.size() != 1) {
        throw MigrationError("--head '" + *options.head + "' names " + std::to_string(named.size()) +
                             " revisions: name one to build on");
    }
    const std::string& id = named.front();
    auto children = graph.children(id);
    if (!children.empty() && !options.splice) {
        throw MigrationError("revision " + id + " is not a head (" + joined(children) +
                             " builds on it): add --splice to start a new branch from it, or build on a head");
    }
    return named;
}

Revision create_revision(const RevisionGraph& graph, const std::string& message, const RevisionOptions& options,
                         std::vector<Operation> upgrade, std::vector<Operation> downgrade,
                         std::vector<std::string> notes) {
    if (options.rev_id) check_rev_id(graph, *options.rev_id);
    for (std::size_t i = 0; i < options.branch_labels.size(); ++i) {
        check_branch_label(graph, options.branch_labels[i]);
        for (std::size_t j = 0; j < i; ++j) {
            if (options.branch_labels[j] == options.branch_labels[i]) {
                throw ConfigError("the branch label '" + options.branch_labels[i] + "' is given twice");
            }
        }
    }
    return write_new_revision(graph, new_revision_parents(graph, options), message, std::move(upgrade),
                              std::move(downgrade), std::move(notes), options);
}

Revision create_revision(const RevisionGraph& graph, const std::string& message, std::vector<Operation> upgrade,
                         std::vector<Operation> downgrade, std::vector<std::string> notes) {
    return create_revision(graph, message, RevisionOptions{}, std::move(upgrade), std::move(downgrade),
                           std::move(notes));
}

Revision create_merge(const RevisionGraph& graph, const std::vector<std::string>& revisions,
                      const std::string& message) {
    std::vector<std::string> ids;
    for (const auto& spec : revisions) {
        auto named = spec == "heads" ? graph.heads() : std::vector<std::string>{graph.resolve_revision(spec)};
        for (const auto& id : named) {
            if (!contains(ids, id)) ids.push_back(id);
        }
    }
    if (ids.size() < 2) throw MigrationError("a merge joins two or more revisions; name them, or say 'heads'");
    for (const auto& id : ids) {
        for (const auto& other : ids) {
            if (other != id && graph.ancestry({other}).count(id)) {
                throw MigrationError("revision " + id + " is below " + other + " already: merge only heads of branches");
            }
        }
    }
    return write_new_revision(graph, ids, message);
}

}  // namespace pangeo_forge::migrate
