#pragma once
// The `db` verbs as library functions, as Alembic's command.py: each takes a Context (the
// revision graph and the database it works on) and returns what a face prints or converts
// (steps, revisions, lines, differences, warnings), never printing. The command line and
// the Python module only parse their arguments and show these values, so the parsers they
// share live here too: a dialect name, an offline range, a history range that needs the
// database's current revision.
//
// Errors: ConfigError (a bad option value, naming the option; no database to work on; a
// bad URL, naming where it came from; new revisions for an installed copy of the bundled
// migrations), MigrationError (an unknown revision, several heads, a failed revision, a
// revision file that cannot be read), UnreachableError (the database cannot be reached or
// opened, or a read-only verb was pointed at a SQLite file that does not exist; naming where
// the URL came from), DatabaseError (a statement the database failed).
//
// The *_json() functions give each verb's result in the documented shape of `--json`
// (README, "The command"): snake_case fields, stable.
// Thread safety: a Context is used by one thread at a time; the functions hold no state.

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "pangeo_forge/db/database.hpp"
#include "pangeo_forge/migrate/autogenerate.hpp"
#include "pangeo_forge/migrate/commands.hpp"
#include "pangeo_forge/migrate/diff.hpp"
#include "pangeo_forge/migrate/graph.hpp"
#include "pangeo_forge/migrate/lint.hpp"
#include "pangeo_forge/migrate/migrator.hpp"
#include "pangeo_forge/migrate/verify.hpp"
#include "pangeo_forge/schema/schema.hpp"

namespace pangeo_forge::migrate {

// The revision files in `folder`; an empty folder means the bundled migrations.
RevisionGraph load_migrations(const std::filesystem::path& folder = {});

namespace command {

// Where the database URL came from, so that a message about it can say where to fix it.
enum class UrlOrigin { option, environment, default_url };

// "--url", "DATABASE_URL", "the default".
std::string to_string(UrlOrigin origin);

// How a run treats a database in use (LiveOptions), as the command line gave it. What it
// leaves out comes from the URL's query (?lock_timeout=5s&lock_retries=3&statement_timeout=1min),
// then from the environment (PANGEO_FORGE_LOCK_TIMEOUT, PANGEO_FORGE_STATEMENT_TIMEOUT,
// PANGEO_FORGE_LOCK_RETRIES), then from LiveOptions' defaults.
struct LiveSettings {
    std::optional<std::string> lock_timeout;       // a duration: "2s", "500ms", "1min", "0"
    std::optional<std::string> statement_timeout;  // likewise
    std::optional<std::string> lock_retries;       // a count
    bool online = true;                            // false: --no-online
    // What a message about a bad value calls the setting: the option (--lock-timeout) or the
    // keyword argument (lock_timeout) of a face that takes them so.
    enum class Names { options, keywords } names = Names::options;

    bool operator==(const LiveSettings& other) const {
        return lock_timeout == other.lock_timeout && statement_timeout == other.statement_timeout &&
               lock_retries == other.lock_retries && online == other.online && names == other.names;
    }
};

// Where the commands find the database and the migrations.
struct Config {
    std::string database_url = db::default_database_url;
    UrlOrigin url_origin = UrlOrigin::default_url;
    std::filesystem::path migrations;  // empty: the bundled migrations
    LiveSettings live;

    bool operator==(const Config& other) const {
        return database_url == other.database_url && url_origin == other.url_origin && migrations == other.migrations &&
               live == other.live;
    }
};

// "2s", "500ms", "1.5s", "2min": from 1 ms to a day, or "0" for no limit. Throws ConfigError
// naming `source` (the option, URL key or variable the text came from) and the forms it takes.
std::chrono::milliseconds parse_duration(const std::string& text, const std::string& source);

// The LiveOptions of `settings` over `url` (the URL's query, then the environment, then the
// defaults fill what the settings leave out). Throws ConfigError naming where a bad value
// came from.
LiveOptions live_options(const LiveSettings& settings, const std::string& url);

// DATABASE_URL when it is set, else db::default_database_url; the bundled migrations.
Config config_from_environment();

// What the verbs work on: the revision graph and, for the verbs that need one, the database.
// Opened from a Config, both are opened on first use (the graph-only verbs never connect)
// and owned; the database gets one connection. Over a graph and a database the caller
// holds (the Python module's Migrations), the database is borrowed and must outlive the
// Context; it may be null, and then the verbs that need one throw ConfigError.
class Context {
public:
    explicit Context(Config config);
    Context(std::shared_ptr<const RevisionGraph> graph, db::Database* database);
    ~Context();
    Context(const Context&) = delete;
    Context& operator=(const Context&) = delete;

    // How a verb opens the database the Config names: a verb that writes may create a
    // SQLite file (an upgrade on a new file is how a database starts); one that only reads
    // refuses a path where there is none (UnreachableError), rather than leave an empty file.
    enum class Open { may_create, existing };

    const RevisionGraph& graph();
    // Throws ConfigError when there is none to work on; UnreachableError (naming where the
    // URL came from) when it cannot be reached or opened.
    db::Database& database(Open open = Open::may_create);
    // A database is open, or a Config names one to open.
    bool has_database() const;
    // Called with each warning as soon as a verb finds it, before the verb goes on (so a
    // face can show it even when the verb then fails); the verb also returns it.
    void on_warning(std::function<void(const std::string&)> warn) { warn_ = std::move(warn); }
    void warn(const std::string& warning) const {
        if (warn_) warn_(warning);
    }
    // Called before a revision is tried again after a lock wait ran out.
    void on_retry(std::function<void(const RetryReport&)> notify) { retry_ = std::move(notify); }
    // The LiveOptions of the Config's settings, or of those given with use_live_settings()
    // (a face over a borrowed database), over the database's URL (live_options()).
    LiveOptions live_options() const;
    void use_live_settings(LiveSettings settings) { live_settings_ = std::move(settings); }

    // The URL of a database named by the Config and not opened yet.
    std::optional<std::string> database_url() const;
    // Where the URL came from, when the Context was opened from a Config.
    std::optional<UrlOrigin> url_origin() const;

private:
    std::optional<Config> config_;
    std::shared_ptr<const RevisionGraph> graph_;
    std::unique_ptr<db::Database> owned_;
    db::Database* database_ = nullptr;
    std::function<void(const std::string&)> warn_;
    std::function<void(const RetryReport&)> retry_;
    std::optional<LiveSettings> live_settings_;

    friend Migrator migrator_for(Context& context, Open open);
};

// The Migrator of a verb that runs revisions on the Context's database, with its
// LiveOptions and retry notices.
Migrator migrator_for(Context& context, Context::Open open = Context::Open::may_create);

// --- parsers the faces share ---------------------------------------------------------

// "sqlite" or "postgresql". Anything else is a ConfigError naming `option` ("--dialect",
// "dialect") and the names it takes.
db::Dialect parse_dialect(const std::string& name, const std::string& option);

// An offline run goes from `from` to `to`.
struct OfflineRange {
    std::string from;
    std::string to;

    bool operator==(const OfflineRange& other) const { return from == other.from && to == other.to; }
};

// "A:B" for offline mode; a bare "B", or an empty A, starts where the direction starts:
// "base" for an upgrade, "heads" for a downgrade.
OfflineRange parse_offline_range(const std::string& text, StepReport::Direction direction);

// A history range ("A:B"), or a show target, that names "current" or counts from it ("-2",
// "+1", "label@-1") needs the database's revisions; any other does not connect.
bool range_needs_current(const std::string& range);

// Refuses (ConfigError) to write new revisions into the graph's folder when it is an
// installed copy of pangeo_forge's own migrations (the Python package's, or
// share/pangeo_forge/migrations): they would be lost on the next install, and no database
// elsewhere has them. The source tree's migrations/ and PANGEO_FORGE_MIGRATIONS are written.
void refuse_installed_migrations(Context& context);

// --- the verbs -------------------------------------------------------------------------

struct Info {
    std::string url;  // redacted: no password
    std::optional<UrlOrigin> url_origin;  // none: the caller opened the database
    std::string backend;
    std::string server_version;
};
// Reads a database that exists (Context::Open::existing).
Info info(Context& context);

// What upgrade and downgrade did: the steps in order (empty when there was nothing to do),
// where the database is afterwards, and one warning per applied revision file that changed
// since it was applied.
struct Moved {
    std::vector<StepReport> steps;
    std::vector<std::string> current;
    std::vector<std::string> warnings;
};
// {"steps": [{"direction", "revision", "from", "to", "message", "duration_ms"}], "current", "warnings"}
nlohmann::json moved_json(const Moved& moved);
// `progress` is called after each step, on the calling thread.
Moved upgrade(Context& context, const std::string& target, const Progress& progress = {});
Moved downgrade(Context& context, const std::string& target, const Progress& progress = {});

// The SQL script that moves a database along `range`, without touching one.
std::string offline_sql(Context& context, StepReport::Direction direction, const OfflineRange& range,
                        const db::Dialect& dialect);
// The dialect named (parse_dialect() with `option`), else the database's when the context
// has one, else SQLite.
db::Dialect offline_dialect(Context& context, const std::optional<std::string>& name, const std::string& option);

// The revisions the database is at, the lines `current` prints for them (each marked
// "(head)" when it is one), and the changed-file warnings. `migrated`: the version table
// exists, so no heads means "downgraded to base", not "never migrated".
struct Current {
    std::vector<std::string> heads;
    std::vector<std::string> lines;
    std::vector<std::string> warnings;
    bool migrated = false;
    std::optional<PartlyApplied> partly_applied;  // a revision a stopped run left half done
};
// Reads a database that exists (Context::Open::existing).
Current current(Context& context);
// {"heads", "revisions": [revision objects], "at_head", "migrated", "warnings",
//  "partly_applied": null or {"revision", "direction", "steps_done"}}
nlohmann::json current_json(const RevisionGraph& graph, const Current& current);
// Writes the version table without migrating (purge: whatever it held); returns where the
// database is then.
Current stamp(Context& context, const std::string& target, bool purge = false);

// Revision ids newest first, and the lines that show them. When the verb read the
// database: the revisions it is at, and the changed-file warnings.
struct Listing {
    std::vector<std::string> revisions;
    std::vector<std::string> lines;
    std::optional<std::vector<std::string>> current;
    std::vector<std::string> warnings;
};
// `range` as migrate::history() takes it. Reads the database (one that exists) only when
// range_needs_current() or `indicate_current` (Alembic's -i: mark the (current) revisions).
Listing history(Context& context, const std::string& range = "", bool verbose = false,
                bool indicate_current = false);
// {"revisions": [revision objects, newest first]}, each with "is_current" when the
// database was read, and "warnings" then.
nlohmann::json listing_json(const RevisionGraph& graph, const Listing& listing);
Listing heads(Context& context, bool verbose = false);
// Each branch point and the revisions that build on it.
std::vector<std::string> branches(Context& context);

struct Shown {
    std::vector<Revision> revisions;
    std::vector<std::string> lines;
};
// The revisions `spec` names (see migrate::show_revisions()); reads the database (one that
// exists) only when range_needs_current(spec).
Shown show(Context& context, const std::string& spec);
// {"revisions": [...]}: each revision object with "upgrade" and "downgrade", the operations
// as the file holds them.
nlohmann::json shown_json(const RevisionGraph& graph, const Shown& shown);

// {"revision", "down_revisions", "branch_labels", "depends_on", "message", "create_date",
//  "path", "is_head", "is_base", "is_branch_point", "is_merge_point"} and, given the
// database's revisions, "is_current".
nlohmann::json revision_json(const RevisionGraph& graph, const std::string& id,
                             const std::optional<std::vector<std::string>>& current = std::nullopt);

// Writes an empty revision where `options` put it (by default on the single head) and
// returns it. The Context's graph is the one before: open another to see the new file.
// Each authoring verb refuses an installed copy of the migrations (refuse_installed_migrations()).
Revision revision(Context& context, const std::string& message, const RevisionOptions& options = {});
// Writes what the database lacks of `declared`; see migrate::autogenerate(). The database
// must be at the revision the new one builds on (new_revision_parents()): at head, or at the
// revision `options.head` names.
Autogenerated autogenerate_revision(Context& context, const schema::Schema& declared, const std::string& message,
                                    bool allow_empty = false, const RevisionOptions& options = {});
// Writes a revision joining `revisions` (ids, prefixes, labels, or "heads").
Revision merge(Context& context, const std::vector<std::string>& revisions, const std::string& message);

// What `check` found: `differences` is what keeps the database from being at head and
// matching the declared schema (empty when it does); where it is; changed-file warnings.
struct Checked {
    std::vector<std::string> differences;
    std::vector<std::string> current;
    std::vector<std::string> heads;
    std::vector<std::string> warnings;

    bool ok() const { return differences.empty(); }
};
// Reads a database that exists (Context::Open::existing).
Checked check(Context& context, const schema::Schema& declared);
// {"ok", "current", "heads", "differences", "warnings"}
nlohmann::json checked_json(const Checked& checked);

// The database's tables (the engine's own left out); reads a database that exists.
schema::Schema reflect(Context& context);

// What `verify` found, and where it ran: "a temporary SQLite file", "the temporary schema
// pangeo_forge_verify_1a2b3c4d5e6f on postgresql://forge:***@host/forge".
struct VerifyRun {
    std::string scratch;
    Verified verified;
};
// Runs migrate::verify() on a scratch database beside the Context's: a temporary SQLite file
// for a SQLite URL (the file the URL names is never opened, and need not exist), a temporary
// schema on the server for a PostgreSQL one, removed afterwards whatever happened. The
// user's own tables are never touched. `declared`: see migrate::verify(). Throws ConfigError
// for a bad URL (naming where it came from), UnreachableError when the server cannot be
// reached, DatabaseError when the scratch schema cannot be created.
VerifyRun verify(Context& context, const std::optional<schema::Schema>& declared,
                 const VerifyProgress& progress = {});
// verified_json() with "scratch".
nlohmann::json verify_run_json(const VerifyRun& run);

// The operations that turn the schema of the database at `url_a` into that of the one at
// `url_b`; see migrate::diff(). Both must exist: a SQLite path with no file is an
// UnreachableError. A bad URL is a ConfigError, one that cannot be reached an
// UnreachableError, each naming URL_A or URL_B.
DatabaseDiff diff(const std::string& url_a, const std::string& url_b);

// --- lint ------------------------------------------------------------------------------

// The lint of the revisions `range` names (see migrate::lint(): empty for all, "A:B", or one
// revision), on the dialect named (parse_dialect() with `option`), else PostgreSQL: what a
// live database goes through. Reads no database: a range that counts from the database's
// current revision is a ConfigError.
LintReport lint(Context& context, const std::string& range, const std::optional<std::string>& dialect,
                const std::string& option);
// The findings of a revision `autogenerate_revision()` just wrote, on PostgreSQL.
LintedRevision lint_written(Context& context, const Revision& revision);

}  // namespace command
}  // namespace pangeo_forge::migrate
