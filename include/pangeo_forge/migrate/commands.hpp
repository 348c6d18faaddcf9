#pragma once
// The read-only views of the migration history (history, heads, branches, show) as the
// lines the command prints, and the authoring commands (revision, merge) that write new
// revision files. Upgrade, downgrade, stamp and current are Migrator's.
//
// Thread safety: the views are pure functions of the graph; the authoring commands write files,
// one caller at a time per folder.

#include <optional>
#include <string>
#include <vector>

#include "pangeo_forge/migrate/graph.hpp"

namespace pangeo_forge::migrate {

// The ids of the revisions in `range`, newest first (see history() for the range forms).
std::vector<std::string> history_revisions(const RevisionGraph& graph, const std::string& range = "",
                                           const std::vector<std::string>& current = {});

// One line per revision, newest first, as Alembic prints them, branch names first:
//   "70bcddc9fffa -> 0499cef6b57a (head) (current), remove api keys"
//   "bbbb00000002, cccc00000002 -> dddd00000001 (alpha, beta) (head) (mergepoint), merge"
// `range` is "A:B" (either side may be empty, or any target: "base", "head", "current",
// "-2" counted from current, ...); empty for all. A range that runs down or across
// branches is refused, saying why.
// `current` is what the database holds, for the (current) marks and the "current" range end.
// Verbose adds each revision's parent, file, date and branch labels.
std::vector<std::string> history(const RevisionGraph& graph, const std::string& range = "",
                                 const std::vector<std::string>& current = {}, bool verbose = false);

// "0499cef6b57a (head)", "dddd00000001 (alpha, beta) (head)"; verbose adds the message.
std::vector<std::string> heads(const RevisionGraph& graph, bool verbose = false);

// Each branch point and the revisions that build on it.
std::vector<std::string> branches(const RevisionGraph& graph);

// The revisions `spec` names for show: an id, a unique prefix, a label, "head", "heads",
// "base" (the bases), "current" (what the database holds), "label@head", a relative target.
std::vector<std::string> show_revisions(const RevisionGraph& graph, const std::string& spec,
                                        const std::vector<std::string>& current = {});

// Everything about the revisions `spec` names (see show_revisions), and their operations.
std::vector<std::string> show(const RevisionGraph& graph, const std::string& spec,
                              const std::vector<std::string>& current = {});

// Lines for `current`: each head the database holds, marked "(head)" when it is one of
// the migrations' heads.
std::vector<std::string> current_lines(const RevisionGraph& graph, const std::vector<std::string>& current);

// How a new revision joins the history, as Alembic's `revision` options say it.
struct RevisionOptions {
    // What it builds on: an id, a unique prefix, a branch label, "label@head", "head", or
    // "base" (a new base, for an independent branch). None: the single head.
    std::optional<std::string> head;
    // Allow `head` to be a revision something already builds on: a new branch from the middle.
    bool splice = false;
    std::vector<std::string> branch_labels;  // each new to the history, without '@'
    std::vector<std::string> depends_on;     // ids, prefixes or labels; written as ids
    std::optional<std::string> rev_id;       // 1 to 32 of [0-9a-zA-Z_]; none: a fresh id

    bool operator==(const RevisionOptions& other) const {
        return head == other.head && splice == other.splice && branch_labels == other.branch_labels &&
               depends_on == other.depends_on && rev_id == other.rev_id;
    }
};

// The down_revisions a new revision gets under `options`. Throws MigrationError for several
// heads and no `head`, an unknown revision, or a `head` that is no head without `splice`.
std::vector<std::string> new_revision_parents(const RevisionGraph& graph, const RevisionOptions& options = {});

// Writes a revision into the graph's folder on the parents new_revision_parents() gives
// (a base, for an empty history) and returns it: empty, unless given operations and notes.
// Throws MigrationError as new_revision_parents() does, for a branch label or a rev_id the
// history holds already, and a depends_on it does not know; ConfigError for a rev_id or
// label that is malformed.
Revision create_revision(const RevisionGraph& graph, const std::string& message, const RevisionOptions& options,
                         std::vector<Operation> upgrade = {}, std::vector<Operation> downgrade = {},
                         std::vector<std::string> notes = {});
// The same on the single head, with a fresh id.
Revision create_revision(const RevisionGraph& graph, const std::string& message,
                         std::vector<Operation> upgrade = {}, std::vector<Operation> downgrade = {},
                         std::vector<std::string> notes = {});

// Writes a merge revision whose down_revision lists `revisions` and returns it.
Revision create_merge(const RevisionGraph& graph, const std::vector<std::string>& revisions,
                      const std::string& message);

// Writes `revision` into the graph's folder under revision_file_name(); refuses to
// overwrite a file. Returns the path written.
std::filesystem::path write_revision(const RevisionGraph& graph, Revision& revision);

}  // namespace pangeo_forge::migrate
