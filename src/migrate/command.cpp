#include "pangeo_forge/migrate/command.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>

#include "pangeo_forge/db/reflect.hpp"
#include "pangeo_forge/error.hpp"

namespace pangeo_forge::migrate {

RevisionGraph load_migrations(const std::filesystem::path& folder) {
    return RevisionGraph::load(folder.empty() ? bundled_migrations() : folder);
}

namespace command {

std::string to_string(UrlOrigin origin) {
    switch (origin) {
        case UrlOrigin::option: return "--url";
        case UrlOrigin::environment: return "DATABASE_URL";
        case UrlOrigin::default_url: return "the default";
    }
    return "the default";
}

Config config_from_environment() {
    Config config;
    const char* value = std::getenv("DATABASE_URL");
    if (value != nullptr && *value != '\0') {
        config.database_url = value;
        config.url_origin = UrlOrigin::environment;
    }
    return config;
}

Context::Context(Config config) : config_(std::move(config)) {}

std::chrono::milliseconds parse_duration(const std::string& text, const std::string& source) {
    auto refuse = [&]() -> std::chrono::milliseconds {
        throw ConfigError(source + " is '" + text + "', which is no duration: give a number and its unit, as 2s, "
                          "500ms or 1min (from 1ms to a day), or 0 for no limit");
    };
    std::size_t digits = 0;
    while (digits < text.size() && (std::isdigit(static_cast<unsigned char>(text[digits])) || text[digits] == '.')) {
        ++digits;
    }
    const std::string number = text.substr(0, digits), unit = text.substr(digits);
    if (number.empty() || number.find('.') != number.rfind('.') || number.front() == '.' || number.back() == '.') {
        return refuse();
    }
    double scale = unit == "ms" ? 1 : unit == "s" ? 1000 : unit == "min" ? 60'000 : unit.empty() && number == "0" ? 0 : -1;
    if (scale < 0) return refuse();
    // strtod, not stod: a number of hundreds of digits is out of range, and stod would throw
    // a bare std::out_of_range that names neither the text nor where it came from.
    const double milliseconds = std::strtod(number.c_str(), nullptr) * scale;
    if (!(milliseconds <= 86'400'000.0)) return refuse();
    // Under a millisecond would round to 0, which is no limit at all: the opposite of asking
    // for a very short wait.
    if (milliseconds > 0 && milliseconds < 1) return refuse();
    return std::chrono::milliseconds(static_cast<long long>(std::llround(milliseconds)));
}

namespace {

// The first of: the setting given, the URL's query value, the environment variable; with
// where it came from. `key` is the URL's key, the keyword argument's name, and the option's
// name with dashes.
std::optional<std::pair<std::string, std::string>> live_value(const std::optional<std::string>& given,
                                                              LiveSettings::Names names,
                                                              const std::optional<db::DatabaseUrl>& url,
                                                              const std::string& key, const char* variable) {
    if (given) {
        std::string option = key;
        if (names == LiveSettings::Names::options) {
            std::replace(option.begin(), option.end(), '_', '-');
            option = "--" + option;
        }
        return std::make_pair(*given, option);
    }
    if (auto value = url ? url->query_value(key) : std::nullopt) return std::make_pair(*value, "the URL's " + key);
    const char* value = std::getenv(variable);
    if (value != nullptr && *value != '\0') return std::make_pair(std::string(value), std::string(variable));
    return std::nullopt;
}

int parse_count(const std::string& text, const std::string& source) {
    int count = -1;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), count);
    if (error != std::errc() || end != text.data() + text.size() || count < 0 || count > 1000) {
        throw ConfigError(source + " is '" + text + "', which is no count of tries: give a whole number from 0 to 1000");
    }
    return count;
}

// The URL, if it is one: a malformed URL is reported where the database is opened, saying
// where it came from, and a verb that opens none (offline mode) must not fail on it.
std::optional<db::DatabaseUrl> url_if_valid(const std::string& url) {
    try {
        return db::parse_database_url(url);
    } catch (const ConfigError&) {
        return std::nullopt;
    }
}

// live_options() over a URL already parsed, if there is one.
LiveOptions live_options_over(const LiveSettings& settings, const std::optional<db::DatabaseUrl>& parsed) {
    LiveOptions options;
    if (auto value = live_value(settings.lock_timeout, settings.names, parsed, "lock_timeout",
                                "PANGEO_FORGE_LOCK_TIMEOUT")) {
        options.lock_timeout = parse_duration(value->first, value->second);
    }
    if (auto value = live_value(settings.statement_timeout, settings.names, parsed, "statement_timeout",
                                "PANGEO_FORGE_STATEMENT_TIMEOUT")) {
        options.statement_timeout = parse_duration(value->first, value->second);
    }
    if (auto value = live_value(settings.lock_retries, settings.names, parsed, "lock_retries",
                                "PANGEO_FORGE_LOCK_RETRIES")) {
        options.lock_retries = parse_count(value->first, value->second);
    }
    options.online = settings.online;
    return options;
}

}  // namespace

LiveOptions live_options(const LiveSettings& settings, const std::string& url) {
    return live_options_over(settings, url_if_valid(url));
}

LiveOptions Context::live_options() const {
    const LiveSettings settings = live_settings_.value_or(config_ ? config_->live : LiveSettings{});
    if (config_) return command::live_options(settings, config_->database_url);
    return live_options_over(settings, database_ != nullptr ? std::optional<db::DatabaseUrl>(database_->url())
                                                            : std::nullopt);
}

Migrator migrator_for(Context& context, Context::Open open) {
    Migrator migrator(context.database(open), context.graph(), context.live_options());
    migrator.on_retry(context.retry_);
    return migrator;
}

Context::Context(std::shared_ptr<const RevisionGraph> graph, db::Database* database)
    : graph_(std::move(graph)), database_(database) {}

Context::~Context() = default;

const RevisionGraph& Context::graph() {
    if (!graph_) graph_ = std::make_shared<const RevisionGraph>(load_migrations(config_ ? config_->migrations : ""));
    return *graph_;
}

db::Database& Context::database(Open open) {
    if (database_ != nullptr) return *database_;
    if (!config_) {
        throw ConfigError("there is no database to work on: these commands were given the migrations only; "
                          "give them a database as well");
    }
    const std::string origin = " (the URL came from " + to_string(config_->url_origin) + ")";
    db::DatabaseUrl url;
    try {
        url = db::parse_database_url(config_->database_url);
    } catch (const ConfigError& error) {
        throw ConfigError(error.what() + origin);
    }
    // Opening a SQLite path creates the file: a verb that only reads says there is none instead.
    if (open == Open::existing && url.backend == db::Backend::sqlite && !url.is_sqlite_memory() &&
        !std::filesystem::exists(url.database)) {
        throw UnreachableError("there is no SQLite database at " + url.database + origin +
                               ": check the path, or create the database with `pangeo-forge db upgrade head`");
    }
    try {
        // One connection: a command runs one statement at a time. The pool connects here, so
        // what fails here is reaching or opening the database, not a statement. A migration
        // leaves the SQLite file's journal mode as it found it.
        owned_ = std::make_unique<db::Database>(std::move(url), db::PoolOptions{1}.keeping_journal_mode());
    } catch (const ConfigError& error) {
        throw ConfigError(error.what() + origin);
    } catch (const DatabaseError& error) {
        throw UnreachableError(error.what() + origin);
    }
    database_ = owned_.get();
    return *database_;
}

std::optional<std::string> Context::database_url() const {
    if (!config_ || database_ != nullptr) return std::nullopt;
    return config_->database_url;
}

bool Context::has_database() const { return database_ != nullptr || config_.has_value(); }

std::optional<UrlOrigin> Context::url_origin() const {
    if (!config_) return std::nullopt;
    return config_->url_origin;
}

db::Dialect parse_dialect(const std::string& name, const std::string& option) {
    for (auto backend : {db::Backend::sqlite, db::Backend::postgresql}) {
        if (name == db::to_string(backend)) return db::Dialect(backend);
    }
    throw ConfigError(option + " must be sqlite or postgresql, not '" + name + "'");
}

OfflineRange parse_offline_range(const std::string& text, StepReport::Direction direction) {
    const std::string start = direction == StepReport::Direction::upgrade ? "base" : "heads";
    auto colon = text.find(':');
    if (colon == std::string::npos) return {start, text};
    std::string from = text.substr(0, colon);
    return {from.empty() ? start : from, text.substr(colon + 1)};
}

bool range_needs_current(const std::string& range) {
    auto colon = range.find(':');
    if (colon == std::string::npos) return RevisionGraph::reads_current(range);
    return RevisionGraph::reads_current(range.substr(0, colon)) ||
           RevisionGraph::reads_current(range.substr(colon + 1));
}

void refuse_installed_migrations(Context& context) {
    auto origin = bundled_migrations_origin();
    if (origin != MigrationsOrigin::python_package && origin != MigrationsOrigin::installed) return;
    const std::filesystem::path bundled = bundled_migrations();
    const std::filesystem::path& folder = context.graph().folder();
    std::error_code error;
    if (!std::filesystem::equivalent(folder, bundled, error) &&
        !std::filesystem::equivalent(folder, bundled / "versions", error)) {
        return;
    }
    throw ConfigError("the migrations at " + bundled.string() +
                      " are the installed copy of pangeo_forge's own, which new revisions must not go into: pass "
                      "--migrations DIR (in Python, Migrations(folder=DIR)) or set PANGEO_FORGE_MIGRATIONS to the "
                      "folder of your revision files");
}

Info info(Context& context) {
    db::Database& database = context.database(Context::Open::existing);
    Info result;
    result.url = db::redacted(database.url());
    result.url_origin = context.url_origin();
    result.backend = std::string(db::to_string(database.backend()));
    result.server_version = database.acquire()->server_version();
    return result;
}


namespace {

bool contains(const std::vector<std::string>& ids, const std::string& id) {
    return std::find(ids.begin(), ids.end(), id) != ids.end();
}

bool same_set(std::vector<std::string> a, std::vector<std::string> b) {
    std::sort(a.begin(), a.end());
    std::sort(b.begin(), b.end());
    return a == b;
}

// The migrator of a verb that changes or reads the version table, and the warnings about
// applied revision files that changed since. Only a verb that runs revisions reads the
// LiveOptions: `db current` must not fail on a lock timeout it never uses.
Migrator migrator_of(Context& context, std::vector<std::string>& warnings,
                     Context::Open open = Context::Open::may_create, bool runs_revisions = false) {
    Migrator migrator = runs_revisions ? migrator_for(context, open) : Migrator(context.database(open), context.graph());
    warnings = migrator.changed_files();
    for (const auto& warning : warnings) context.warn(warning);
    return migrator;
}

Moved move(Context& context, StepReport::Direction direction, const std::string& target, const Progress& progress) {
    Moved moved;
    Migrator migrator = migrator_of(context, moved.warnings, Context::Open::may_create, true);
    moved.steps = direction == StepReport::Direction::upgrade ? migrator.upgrade(target, progress)
                                                               : migrator.downgrade(target, progress);
    moved.current = migrator.current();
    return moved;
}

Current current_of(Context& context, Migrator& migrator, std::vector<std::string> warnings) {
    Current result;
    result.migrated = db::has_table(*context.database().acquire(), version_table);
    result.heads = migrator.current();
    result.lines = current_lines(migrator.graph(), result.heads);
    result.partly_applied = migrator.partly_applied();
    if (result.partly_applied) result.lines.push_back(describe(*result.partly_applied));
    result.warnings = std::move(warnings);
    return result;
}

}  // namespace

Moved upgrade(Context& context, const std::string& target, const Progress& progress) {
    return move(context, StepReport::Direction::upgrade, target, progress);
}

Moved downgrade(Context& context, const std::string& target, const Progress& progress) {
    return move(context, StepReport::Direction::downgrade, target, progress);
}

std::string offline_sql(Context& context, StepReport::Direction direction, const OfflineRange& range,
                        const db::Dialect& dialect) {
    return direction == StepReport::Direction::upgrade
               ? offline_upgrade_sql(context.graph(), range.from, range.to, dialect, context.live_options())
               : offline_downgrade_sql(context.graph(), range.from, range.to, dialect, context.live_options());
}

db::Dialect offline_dialect(Context& context, const std::optional<std::string>& name, const std::string& option) {
    if (name) return parse_dialect(*name, option);
    // From the URL alone: offline mode must not need the database, nor create a SQLite file.
    if (auto url = context.database_url()) return db::Dialect(db::parse_database_url(*url).backend);
    return context.has_database() ? context.database().dialect() : db::Dialect(db::Backend::sqlite);
}

Current current(Context& context) {
    std::vector<std::string> warnings;
    Migrator migrator = migrator_of(context, warnings, Context::Open::existing);
    return current_of(context, migrator, std::move(warnings));
}

Current stamp(Context& context, const std::string& target, bool purge) {
    std::vector<std::string> warnings;
    Migrator migrator = migrator_of(context, warnings);
    migrator.stamp(target, purge);
    return current_of(context, migrator, std::move(warnings));
}

Listing history(Context& context, const std::string& range, bool verbose, bool indicate_current) {
    Listing listing;
    if (range_needs_current(range) || indicate_current) {
        listing.current = migrator_of(context, listing.warnings, Context::Open::existing).current();
    }
    const RevisionGraph& graph = context.graph();
    const auto& current = listing.current ? *listing.current : std::vector<std::string>{};
    listing.revisions = history_revisions(graph, range, current);
    listing.lines = migrate::history(graph, range, current, verbose);
    return listing;
}

Listing heads(Context& context, bool verbose) {
    const RevisionGraph& graph = context.graph();
    return {graph.heads(), migrate::heads(graph, verbose), std::nullopt, {}};
}

std::vector<std::string> branches(Context& context) { return migrate::branches(context.graph()); }

Shown show(Context& context, const std::string& spec) {
    std::vector<std::string> current;
    if (range_needs_current(spec)) {
        current = Migrator(context.database(Context::Open::existing), context.graph()).current();
    }
    const RevisionGraph& graph = context.graph();
    Shown shown;
    for (const auto& id : show_revisions(graph, spec, current)) shown.revisions.push_back(graph.get(id));
    shown.lines = migrate::show(graph, spec, current);
    return shown;
}

Revision revision(Context& context, const std::string& message, const RevisionOptions& options) {
    refuse_installed_migrations(context);
    return create_revision(context.graph(), message, options);
}

Autogenerated autogenerate_revision(Context& context, const schema::Schema& declared, const std::string& message,
                                    bool allow_empty, const RevisionOptions& options) {
    refuse_installed_migrations(context);
    const RevisionGraph& graph = context.graph();
    if (!options.head) {
        require_head(context.database(), graph);
    } else {
        // The comparison is against the database: it must hold the schema the new revision starts from.
        auto parents = new_revision_parents(graph, options);
        auto heads = Migrator(context.database(), graph).current();
        if (!same_set(heads, parents)) {
            std::string at = parents.empty() ? std::string("base") : parents.front();
            throw MigrationError("the database is at " + (heads.empty() ? std::string("base") : heads.front()) +
                                 (heads.size() > 1 ? " and more" : "") + ", not at " + at +
                                 ", which --head names: autogenerate compares the database with the declared schema, "
                                 "so run `pangeo-forge db upgrade " + (parents.empty() ? "base" : at) + "` first");
        }
    }
    Autogenerated result{compare_database(context.database(), declared), std::nullopt};
    if (result.comparison.upgrade.empty() && !allow_empty) return result;
    result.revision = create_revision(graph, message, options, result.comparison.upgrade,
                                      result.comparison.downgrade, result.comparison.notes);
    return result;
}

Revision merge(Context& context, const std::vector<std::string>& revisions, const std::string& message) {
    refuse_installed_migrations(context);
    return create_merge(context.graph(), revisions, message);
}

Checked check(Context& context, const schema::Schema& declared) {
    Checked checked;
    Migrator migrator = migrator_of(context, checked.warnings, Context::Open::existing);
    checked.current = migrator.current();
    checked.heads = context.graph().heads();
    checked.differences = migrate::check(context.database(), context.graph(), declared);
    return checked;
}

schema::Schema reflect(Context& context) {
    auto lease = context.database(Context::Open::existing).acquire();
    return db::reflect(*lease, engine_tables());
}

LintReport lint(Context& context, const std::string& range, const std::optional<std::string>& dialect,
                const std::string& option) {
    if (range_needs_current(range)) {
        throw ConfigError("db lint reads no database, so its range cannot count from current ('" + range +
                          "'): name revisions, e.g. 3b96e7fb9cbd:head");
    }
    return migrate::lint(context.graph(), range,
                         dialect ? parse_dialect(*dialect, option) : db::Dialect(db::Backend::postgresql));
}

LintedRevision lint_written(Context& context, const Revision& revision) {
    return lint_revision(context.graph(), revision, db::Dialect(db::Backend::postgresql));
}

// --- --json ----------------------------------------------------------------------------

nlohmann::json revision_json(const RevisionGraph& graph, const std::string& id,
                             const std::optional<std::vector<std::string>>& current) {
    const Revision& revision = graph.get(id);
    auto children = graph.children(id);
    nlohmann::json out{{"revision", id},
                       {"down_revisions", revision.down_revisions},
                       {"branch_labels", revision.branch_labels},
                       {"depends_on", revision.depends_on},
                       {"message", revision.message},
                       {"create_date", revision.create_date},
                       {"path", revision.path.string()},
                       {"is_head", children.empty()},
                       {"is_base", revision.down_revisions.empty()},
                       {"is_branch_point", children.size() > 1},
                       {"is_merge_point", revision.down_revisions.size() > 1}};
    if (current) out["is_current"] = contains(*current, id);
    return out;
}

nlohmann::json moved_json(const Moved& moved) {
    nlohmann::json steps = nlohmann::json::array();
    for (const auto& step : moved.steps) {
        steps.push_back({{"direction", step.direction == StepReport::Direction::upgrade ? "upgrade" : "downgrade"},
                         {"revision", step.revision},
                         {"down_revisions", step.down_revisions},
                         {"from", step.heads_before},
                         {"to", step.heads_after},
                         {"message", step.message},
                         {"duration_ms", step.duration.count()}});
    }
    return {{"steps", steps}, {"current", moved.current}, {"warnings", moved.warnings}};
}

nlohmann::json current_json(const RevisionGraph& graph, const Current& current) {
    nlohmann::json revisions = nlohmann::json::array();
    for (const auto& id : current.heads) {
        // A revision the migrations do not know (another history's) has its id only.
        revisions.push_back(graph.contains(id) ? revision_json(graph, id, current.heads)
                                               : nlohmann::json{{"revision", id}});
    }
    return {{"heads", current.heads},
            {"revisions", revisions},
            {"at_head", same_set(current.heads, graph.heads())},
            {"migrated", current.migrated},
            {"warnings", current.warnings},
            {"partly_applied", current.partly_applied
                                   ? nlohmann::json{{"revision", current.partly_applied->revision},
                                                    {"direction", current.partly_applied->direction ==
                                                                          StepReport::Direction::upgrade
                                                                      ? "upgrade"
                                                                      : "downgrade"},
                                                    {"steps_done", current.partly_applied->steps_done}}
                                   : nlohmann::json(nullptr)}};
}

nlohmann::json listing_json(const RevisionGraph& graph, const Listing& listing) {
    nlohmann::json revisions = nlohmann::json::array();
    for (const auto& id : listing.revisions) revisions.push_back(revision_json(graph, id, listing.current));
    nlohmann::json out{{"revisions", revisions}};
    if (listing.current) out["warnings"] = listing.warnings;
    return out;
}

nlohmann::json shown_json(const RevisionGraph& graph, const Shown& shown) {
    nlohmann::json revisions = nlohmann::json::array();
    for (const auto& revision : shown.revisions) {
        auto out = revision_json(graph, revision.id);
        out["upgrade"] = nlohmann::json::array();
        for (const auto& operation : revision.upgrade) out["upgrade"].push_back(migrate::to_json(operation));
        out["downgrade"] = nlohmann::json::array();
        for (const auto& operation : revision.downgrade) out["downgrade"].push_back(migrate::to_json(operation));
        revisions.push_back(std::move(out));
    }
    return {{"revisions", revisions}};
}

nlohmann::json checked_json(const Checked& checked) {
    return {{"ok", checked.ok()},
            {"current", checked.current},
            {"heads", checked.heads},
            {"differences", checked.differences},
            {"warnings", checked.warnings}};
}

// --- verify and diff -------------------------------------------------------------------

namespace {

std::string origin_text(const Context& context) {
    auto origin = context.url_origin();
    return origin ? " (the URL came from " + to_string(*origin) + ")" : std::string();
}

// A database that `diff` reads, named `name` (URL_A, URL_B) in what goes wrong.
std::unique_ptr<db::Database> open_to_compare(const std::string& text, const std::string& name) {
    db::DatabaseUrl url;
    try {
        url = db::parse_database_url(text);
    } catch (const ConfigError& error) {
        throw ConfigError(name + " is unusable: " + error.what());
    }
    if (url.backend == db::Backend::sqlite && !url.is_sqlite_memory() && !std::filesystem::exists(url.database)) {
        throw UnreachableError(name + ": there is no SQLite database at " + url.database + ": check the path");
    }
    try {
        return std::make_unique<db::Database>(std::move(url), db::PoolOptions{1}.keeping_journal_mode());
    } catch (const ConfigError& error) {
        throw ConfigError(name + " is unusable: " + error.what());
    } catch (const DatabaseError& error) {
        throw UnreachableError(name + ": " + error.what());
    }
}

}  // namespace

VerifyRun verify(Context& context, const std::optional<schema::Schema>& declared, const VerifyProgress& progress) {
    const RevisionGraph& graph = context.graph();
    std::unique_ptr<ScratchDatabase> scratch;
    std::string beside;
    // From the URL alone for SQLite: the user's file is neither opened nor created.
    db::Backend backend = db::Backend::sqlite;
    if (auto url = context.database_url()) {
        try {
            backend = db::parse_database_url(*url).backend;
        } catch (const ConfigError& error) {
            throw ConfigError(error.what() + origin_text(context));
        }
    } else {
        backend = context.database().backend();
    }
    if (backend == db::Backend::sqlite) {
        scratch = ScratchDatabase::sqlite_file();
    } else {
        db::Database& server = context.database(Context::Open::existing);
        beside = " on " + db::redacted(server.url());
        try {
            scratch = ScratchDatabase::postgresql_schema(server);
        } catch (const UnreachableError&) {
            throw;
        } catch (const DatabaseError& error) {
            throw DatabaseError("could not create a scratch schema on " + db::redacted(server.url()) + ": " +
                                error.what() + ": verify needs a role that may CREATE SCHEMA in that database");
        }
    }
    // Built before `scratch` goes: the scratch database is removed on the way out.
    return {scratch->description() + beside, migrate::verify(scratch->database(), graph, declared, progress)};
}

nlohmann::json verify_run_json(const VerifyRun& run) {
    auto out = verified_json(run.verified);
    out["scratch"] = run.scratch;
    return out;
}

DatabaseDiff diff(const std::string& url_a, const std::string& url_b) {
    auto a = open_to_compare(url_a, "URL_A");
    auto b = open_to_compare(url_b, "URL_B");
    return migrate::diff(*a, *b);
}

}  // namespace command
}  // namespace pangeo_forge::migrate
