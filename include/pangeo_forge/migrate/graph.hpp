#pragma once
// The revision graph: the revision files of a folder, checked as a whole (no duplicate
// ids, no unknown down_revision, no cycle), with its heads, bases, branch points and
// merge points, and the resolution of targets ("head", "heads", "base", "current", an id or
// a unique prefix of one, a branch label, "+N", "-N", "current+N", "REV+N", "REV-N", "head-N",
// "label@head", "label@head-N", "label@base", "label@+N", "label@-N") into the plans that
// upgrade and downgrade follow, as Alembic reads them. N is at most the number of revisions.
//
// A branch label names a branch: the labelled revision, what it builds on and what builds
// on it (following down_revision, as Alembic does). "label@+N" and "label@-N" move that
// branch only, from where the database has it.
//
// Thread safety: a loaded RevisionGraph is immutable; const use from many threads is safe.

#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "pangeo_forge/migrate/revision.hpp"

namespace pangeo_forge::migrate {

class RevisionGraph {
public:
    // Reads every *.json file of `folder` (or of its versions/ subfolder when it has one).
    // Throws MigrationError naming the file for anything wrong.
    static RevisionGraph load(const std::filesystem::path& folder);

    // Throws MigrationError for duplicate ids, unknown down_revision or depends_on, a cycle.
    explicit RevisionGraph(std::vector<Revision> revisions, std::filesystem::path folder = {});

    const std::filesystem::path& folder() const { return folder_; }
    bool contains(const std::string& id) const { return revisions_.count(id) != 0; }
    const Revision& get(const std::string& id) const;
    std::size_t size() const { return revisions_.size(); }

    std::vector<std::string> heads() const;          // no revision builds on them
    std::vector<std::string> bases() const;          // they build on nothing
    std::vector<std::string> branch_points() const;  // more than one revision builds on them
    std::vector<std::string> children(const std::string& id) const;
    // The branch labels `id` carries: its own and those of the revisions below it, sorted
    // (Alembic shows a revision above a labelled one under that label too).
    std::vector<std::string> branch_names(const std::string& id) const;

    // Every revision, each after all it builds on and depends on; ties by id.
    std::vector<std::string> topological_order() const;

    // `ids` and all they build on or depend on, transitively.
    std::set<std::string> ancestry(const std::vector<std::string>& ids) const;

    // Whether resolving `spec` needs the database's revisions: "current", or a step counted
    // from them ("+1", "-2", "current+1", "label@-1").
    static bool reads_current(const std::string& spec);

    // One revision from an id, a unique id prefix or a branch label.
    std::string resolve_revision(const std::string& spec) const;

    // The heads the database should hold after moving to `spec`, given the heads it holds
    // now. "base" and "label@base" resolve to none.
    std::vector<std::string> resolve_target(const std::string& spec, const std::vector<std::string>& current) const;

    // The revisions upgrade (or downgrade) applies (undoes), in order, to move a database at
    // `current` to `spec`. An upgrade refuses a step count down from the database ("-1",
    // "current-1", "label@-1"), naming downgrade. Downgrading to "label@base" undoes that branch down to nothing and
    // whatever builds on it, and leaves independent histories alone.
    std::vector<std::string> upgrade_plan_to(const std::string& spec, const std::vector<std::string>& current) const;
    std::vector<std::string> downgrade_plan_to(const std::string& spec, const std::vector<std::string>& current) const;

    // The heads after stamping `targets` on a database at `current`: each target replaces
    // the heads on its line (below or above it), the other branches' heads stay, as
    // Alembic's stamp does. No targets (base): none.
    std::vector<std::string> heads_after_stamp(const std::vector<std::string>& current,
                                               const std::vector<std::string>& targets) const;
    // The same for the target `spec` names; "label@base" clears that branch's heads only.
    std::vector<std::string> heads_after_stamp_to(const std::string& spec, const std::vector<std::string>& current) const;

    // The revisions to apply, in order, to go from `current` heads to `target` heads.
    std::vector<std::string> upgrade_plan(const std::vector<std::string>& current,
                                          const std::vector<std::string>& target) const;
    // The revisions to undo, in order, to go from `current` heads down to `target` heads.
    std::vector<std::string> downgrade_plan(const std::vector<std::string>& current,
                                            const std::vector<std::string>& target) const;

    // The heads after applying (or undoing) one revision on top of `heads`.
    std::vector<std::string> heads_after_upgrade(const std::vector<std::string>& heads, const std::string& id) const;
    std::vector<std::string> heads_after_downgrade(const std::vector<std::string>& heads,
                                                   const std::string& id) const;

private:
    void check_references() const;
    void check_acyclic() const;
    // `steps` revisions up (positive) or down (negative) from `from` ("" is below the bases);
    // up, only through revisions of `branch` when one is given.
    std::string step(const std::string& from, int steps, const std::set<std::string>* branch = nullptr) const;
    // The revision `label`'s branch holds: its revisions, and where the database has it.
    std::set<std::string> branch_of(const std::string& label) const;
    std::string branch_position(const std::string& label, const std::set<std::string>& branch,
                                const std::vector<std::string>& current) const;
    // `ids` and what they build on, transitively, with or without depends_on.
    std::set<std::string> below(const std::vector<std::string>& ids, bool with_dependencies) const;
    // Following down_revision only, as a branch does.
    std::set<std::string> lineage(const std::string& id) const;
    std::set<std::string> descendants(const std::string& id) const;
    // N of a relative target, as written in `spec`; throws MigrationError naming `spec` when it
    // exceeds the number of revisions (and so whatever an int holds).
    int step_count(const std::string& spec, const std::string& digits) const;
    std::string single_head(const std::string& what) const;

    std::filesystem::path folder_;
    std::map<std::string, Revision> revisions_;
};

}  // namespace pangeo_forge::migrate
