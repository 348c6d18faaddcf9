#pragma once
// Verification of a history of revisions, as pytest-alembic's built-in tests do it but in
// the engine: on an empty database, every revision in topological order is applied, undone
// and applied again. Each downgrade must leave no trace (the schema after it equals the
// schema before the upgrade), the history must have one head, and at the end the schema
// must equal the declared one, when there is one.
//
// verify() works on a database the caller gives, which should be empty; ScratchDatabase
// makes one beside the user's database and removes it afterwards, so that the user's own
// tables are never touched.
//
// Errors: verify() reports what it finds about the revisions in its result (a revision
// that fails to apply is a finding, not an exception); ScratchDatabase throws
// DatabaseError when it cannot make the scratch database.
// Thread safety: one thread at a time on a ScratchDatabase; verify() holds no state.

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "pangeo_forge/db/database.hpp"
#include "pangeo_forge/migrate/graph.hpp"
#include "pangeo_forge/schema/schema.hpp"

namespace pangeo_forge::migrate {

// A database made for one run and removed when this goes, also after a failure.
class ScratchDatabase {
public:
    // A SQLite file in a new temporary folder, which the destructor removes.
    static std::unique_ptr<ScratchDatabase> sqlite_file();
    // A schema pangeo_forge_verify_<random> created through `server`, reached by a URL that
    // is the server's with search_path set to it; the destructor drops it (CASCADE) through
    // `server`, which must outlive this. Throws DatabaseError when the schema cannot be made.
    static std::unique_ptr<ScratchDatabase> postgresql_schema(db::Database& server);

    ~ScratchDatabase();
    ScratchDatabase(const ScratchDatabase&) = delete;
    ScratchDatabase& operator=(const ScratchDatabase&) = delete;

    db::Database& database() { return *database_; }
    // "a temporary SQLite file", "the temporary schema pangeo_forge_verify_1a2b3c4d5e6f".
    const std::string& description() const { return description_; }

private:
    ScratchDatabase() = default;

    std::unique_ptr<db::Database> database_;
    std::string description_;
    std::filesystem::path folder_;        // SQLite
    db::Database* server_ = nullptr;      // PostgreSQL
    std::string schema_name_;             // PostgreSQL
};

// One revision that was applied, undone and applied again without a finding.
struct RevisionVerified {
    std::string revision;
    std::vector<std::string> down_revisions;
    std::string message;
    std::chrono::duration<double, std::milli> duration{};
};

// "6197f9c7aff6 add bakery and feedstock: up, down, up (12.4 ms)".
std::string describe(const RevisionVerified& verified);

// The first finding, after which verify() stops.
struct VerifyFailure {
    enum class Check {
        one_head,          // the history has no head or several
        upgrade,           // a revision failed to apply
        downgrade,         // a revision failed to undo
        leaves_no_trace,   // a revision's downgrade did not give back the schema before its upgrade
        upgrade_again,     // a revision failed to apply after its downgrade
        declared_schema,   // at the end, the schema differs from the declared one
    };
    Check check = Check::one_head;
    std::string revision;  // the revision at fault; empty for one_head and declared_schema
    // "revision 1c0ffee00001's downgrade leaves a trace", "the history has 2 heads (...): ...".
    std::string summary;
    // One line per difference (autogenerate's lines, seen from the database), or the error.
    std::vector<std::string> details;
};

// "one_head", "upgrade", "downgrade", "leaves_no_trace", "upgrade_again", "declared_schema".
std::string to_string(VerifyFailure::Check check);

struct Verified {
    std::vector<std::string> heads;
    std::vector<RevisionVerified> revisions;  // those that passed, in the order checked
    bool declared_schema_checked = false;     // a declared schema was given, and the walk got to it
    std::optional<VerifyFailure> failure;     // none: every check passed

    bool ok() const { return !failure; }
};
// {"ok", "heads", "revisions": [{"revision", "down_revisions", "message", "duration_ms"}],
//  "declared_schema_checked", "failure": null or {"check", "revision", "summary", "details"}}
nlohmann::json verified_json(const Verified& verified);

using VerifyProgress = std::function<void(const RevisionVerified&)>;

// Runs the checks on `scratch`, an empty database. A history without exactly one head is a
// finding before anything runs (several heads cannot all be verified against one declared
// schema: merge them first). `declared` is what the schema must equal at the end; with none
// that check is left out. (The schema a folder's revision files describe is no substitute:
// it differs from what a database reflects where a backend adds to it, as SQLite makes an
// INTEGER PRIMARY KEY auto-increment.) `progress` is called after each revision that
// passed, on the calling thread.
Verified verify(db::Database& scratch, const RevisionGraph& graph, const std::optional<schema::Schema>& declared,
                const VerifyProgress& progress = {});

}  // namespace pangeo_forge::migrate
