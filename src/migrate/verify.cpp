#include "pangeo_forge/migrate/verify.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "pangeo_forge/db/reflect.hpp"
#include "pangeo_forge/error.hpp"
#include "pangeo_forge/migrate/autogenerate.hpp"
#include "pangeo_forge/migrate/migrator.hpp"

namespace pangeo_forge::migrate {
namespace {

using Clock = std::chrono::steady_clock;
using Check = VerifyFailure::Check;

std::string joined(const std::vector<std::string>& ids) {
    std::string out;
    for (const auto& id : ids) out += (out.empty() ? "" : ", ") + id;
    return out;
}

schema::Schema application_schema(db::Database& database) {
    auto lease = database.acquire();
    return db::reflect(*lease, engine_tables());
}

// What keeps `live` from equalling `wanted`, in autogenerate's lines; one line of its own
// for a difference compare() has no words for, so that unequal schemas never pass.
std::vector<std::string> differences(const schema::Schema& wanted, const schema::Schema& live) {
    auto lines = compare(wanted, live).differences;
    if (lines.empty() && schema::canonical(wanted) != schema::canonical(live)) {
        lines.push_back("the schemas differ in a way autogenerate does not describe: compare `pangeo-forge db reflect` "
                        "at the two revisions");
    }
    return lines;
}

VerifyFailure finding(Check check, const std::string& revision, std::string summary,
                      std::vector<std::string> details) {
    return {check, revision, std::move(summary), std::move(details)};
}

bool same_heads(std::vector<std::string> a, std::vector<std::string> b) {
    std::sort(a.begin(), a.end());
    std::sort(b.begin(), b.end());
    return a == b;
}

// Brings the database from where upgrading `revision` left it back to `heads`, the heads it
// held before. A downgrade undoes what builds on its target, on every branch: down to the
// revision's first down revision (or base), then up again to each head of before, which
// gives back what the downgrade took from the other branches (when there were several heads).
void undo(Migrator& migrator, const Revision& revision, const std::vector<std::string>& heads) {
    const auto& below = revision.down_revisions;
    migrator.downgrade(below.empty() ? std::string("base") : below.front());
    for (const auto& head : heads) migrator.upgrade(head);
    auto now = migrator.current();
    if (!same_heads(now, heads)) {
        throw MigrationError("after the downgrade the database is at " + joined(now) + ", not back at " +
                             (heads.empty() ? std::string("base") : joined(heads)));
    }
}

// Up, down, up for one revision; the finding, if any.
std::optional<VerifyFailure> verify_revision(db::Database& scratch, Migrator& migrator, const std::string& id) {
    const Revision& revision = migrator.graph().get(id);
    const auto heads_before = migrator.current();
    const auto before = application_schema(scratch);
    try {
        migrator.upgrade(id);
    } catch (const Error& error) {
        return finding(Check::upgrade, id, "revision " + id + " failed to apply", {error.what()});
    }
    try {
        undo(migrator, revision, heads_before);
    } catch (const Error& error) {
        return finding(Check::downgrade, id, "revision " + id + "'s downgrade failed", {error.what()});
    }
    auto trace = differences(before, application_schema(scratch));
    if (!trace.empty()) {
        return finding(Check::leaves_no_trace, id,
                       "revision " + id + "'s downgrade leaves a trace: after it, the database differs from the "
                       "schema before the upgrade (\"declared\" below)",
                       std::move(trace));
    }
    try {
        migrator.upgrade(id);
    } catch (const Error& error) {
        return finding(Check::upgrade_again, id, "revision " + id + " failed to apply again after its downgrade",
                       {error.what()});
    }
    return std::nullopt;
}

}  // namespace

std::unique_ptr<ScratchDatabase> ScratchDatabase::sqlite_file() {
    std::string pattern = (std::filesystem::temp_directory_path() / "pangeo_forge_verify_XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) {
        throw DatabaseError("cannot create a temporary folder in " + std::filesystem::temp_directory_path().string() +
                            " for the scratch database: set TMPDIR to a folder you can write");
    }
    std::unique_ptr<ScratchDatabase> scratch(new ScratchDatabase);
    scratch->folder_ = pattern;
    scratch->description_ = "a temporary SQLite file";
    db::DatabaseUrl url;
    url.backend = db::Backend::sqlite;
    url.database = (scratch->folder_ / "verify.db").string();
    scratch->database_ = std::make_unique<db::Database>(std::move(url), db::PoolOptions{1});
    return scratch;
}

std::unique_ptr<ScratchDatabase> ScratchDatabase::postgresql_schema(db::Database& server) {
    std::unique_ptr<ScratchDatabase> scratch(new ScratchDatabase);
    // new_revision_id(): 12 random hex digits, a valid identifier after the prefix.
    scratch->schema_name_ = "pangeo_forge_verify_" + new_revision_id();
    server.acquire()->execute("CREATE SCHEMA " + server.dialect().quote(scratch->schema_name_));
    scratch->server_ = &server;
    scratch->description_ = "the temporary schema " + scratch->schema_name_;
    db::DatabaseUrl url = server.url();
    // libpq's options parameter: the server's own options, if the URL has some, then the search path.
    const std::string search_path = "-c search_path=" + scratch->schema_name_;
    auto options = std::find_if(url.query.begin(), url.query.end(),
                                [](const auto& parameter) { return parameter.first == "options"; });
    if (options == url.query.end()) {
        url.query.emplace_back("options", search_path);
    } else {
        options->second += " " + search_path;
    }
    scratch->database_ = std::make_unique<db::Database>(std::move(url), db::PoolOptions{1});
    return scratch;
}

ScratchDatabase::~ScratchDatabase() {
    database_.reset();  // its connections closed first: a schema in use could not be dropped at once
    try {
        if (server_ != nullptr) {
            server_->acquire()->execute("DROP SCHEMA " + server_->dialect().quote(schema_name_) + " CASCADE");
        }
        if (!folder_.empty()) std::filesystem::remove_all(folder_);
    } catch (const std::exception&) {
        // A destructor cannot throw; what is left is a scratch schema or folder, named for what it is.
    }
}

std::string describe(const RevisionVerified& verified) {
    char duration[32];
    std::snprintf(duration, sizeof duration, "%.1f ms", verified.duration.count());
    return verified.revision + " " + verified.message + ": up, down, up (" + duration + ")";
}

std::string to_string(Check check) {
    switch (check) {
        case Check::one_head: return "one_head";
        case Check::upgrade: return "upgrade";
        case Check::downgrade: return "downgrade";
        case Check::leaves_no_trace: return "leaves_no_trace";
        case Check::upgrade_again: return "upgrade_again";
        case Check::declared_schema: return "declared_schema";
    }
    return "one_head";
}

nlohmann::json verified_json(const Verified& verified) {
    nlohmann::json revisions = nlohmann::json::array();
    for (const auto& revision : verified.revisions) {
        revisions.push_back({{"revision", revision.revision},
                             {"down_revisions", revision.down_revisions},
                             {"message", revision.message},
                             {"duration_ms", revision.duration.count()}});
    }
    nlohmann::json failure = nullptr;
    if (verified.failure) {
        failure = {{"check", to_string(verified.failure->check)},
                   {"revision", verified.failure->revision.empty() ? nlohmann::json(nullptr)
                                                                   : nlohmann::json(verified.failure->revision)},
                   {"summary", verified.failure->summary},
                   {"details", verified.failure->details}};
    }
    return {{"ok", verified.ok()},
            {"heads", verified.heads},
            {"revisions", revisions},
            {"declared_schema_checked", verified.declared_schema_checked},
            {"failure", failure}};
}

Verified verify(db::Database& scratch, const RevisionGraph& graph, const std::optional<schema::Schema>& declared,
                const VerifyProgress& progress) {
    Verified verified;
    verified.heads = graph.heads();
    if (verified.heads.size() != 1) {
        verified.failure = finding(
            Check::one_head, "",
            "the history has " + std::to_string(verified.heads.size()) + " heads" +
                (verified.heads.empty() ? std::string(": it holds no revision")
                                        : " (" + joined(verified.heads) +
                                              "): join them with `pangeo-forge db merge heads -m MESSAGE`"),
            {});
        return verified;
    }
    Migrator migrator(scratch, graph);
    for (const auto& id : graph.topological_order()) {
        auto start = Clock::now();
        if (auto found = verify_revision(scratch, migrator, id)) {
            verified.failure = std::move(found);
            return verified;
        }
        const Revision& revision = graph.get(id);
        verified.revisions.push_back({id, revision.down_revisions, revision.message, Clock::now() - start});
        if (progress) progress(verified.revisions.back());
    }
    if (!declared) return verified;
    verified.declared_schema_checked = true;
    auto drift = differences(*declared, application_schema(scratch));
    if (!drift.empty()) {
        verified.failure = finding(Check::declared_schema, "",
                                   "at head (" + verified.heads.front() +
                                       ") the database differs from the declared schema",
                                   std::move(drift));
    }
    return verified;
}

}  // namespace pangeo_forge::migrate
