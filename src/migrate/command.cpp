#include "pangeo_forge/migrate/command.hpp"

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

Context::Context(std::shared_ptr<const RevisionGraph> graph, db::Database* database)
    : graph_(std::move(graph)), database_(database) {}

Context::~Context() = default;

const RevisionGraph& Context::graph() {
    if (!graph_) graph_ = std::make_shared<const RevisionGraph>(load_migrations(config_ ? config_->migrations : ""));
    return *graph_;
}

db::Database& Context::database() {
    if (database_ != nullptr) return *database_;
    if (!config_) {
        throw ConfigError("there is no database to work on: these commands were given the migrations only; "
                          "give them a database as well");
    }
    try {
        // One connection: a command runs one statement at a time. A migration leaves the
        // SQLite file's journal mode as it found it.
        owned_ = std::make_unique<db::Database>(config_->database_url, db::PoolOptions{1}.keeping_journal_mode());
    } catch (const ConfigError& error) {
        throw ConfigError(std::string(error.what()) + " (the URL came from " + to_string(config_->url_origin) + ")");
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

bool range_needs_current(const std::string& range) { return range.find("current") != std::string::npos; }

Info info(Context& context) {
    db::Database& database = context.database();
    Info result;
    result.url = db::redacted(database.url());
    result.url_origin = context.url_origin();
    result.backend = std::string(db::to_string(database.backend()));
    result.server_version = database.acquire()->server_version();
    return result;
}


namespace {

// The migrator of a verb that changes or reads the version table, and the warnings about
// applied revision files that changed since.
Migrator migrator_of(Context& context, std::vector<std::string>& warnings) {
    Migrator migrator(context.database(), context.graph());
    warnings = migrator.changed_files();
    for (const auto& warning : warnings) context.warn(warning);
    return migrator;
}

Moved move(Context& context, StepReport::Direction direction, const std::string& target, const Progress& progress) {
    Moved moved;
    Migrator migrator = migrator_of(context, moved.warnings);
    moved.steps = direction == StepReport::Direction::upgrade ? migrator.upgrade(target, progress)
                                                               : migrator.downgrade(target, progress);
    moved.current = migrator.current();
    return moved;
}

Current current_of(Migrator& migrator, std::vector<std::string> warnings) {
    Current result;
    result.heads = migrator.current();
    result.lines = current_lines(migrator.graph(), result.heads);
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
               ? offline_upgrade_sql(context.graph(), range.from, range.to, dialect)
               : offline_downgrade_sql(context.graph(), range.from, range.to, dialect);
}

db::Dialect offline_dialect(Context& context, const std::optional<std::string>& name, const std::string& option) {
    if (name) return parse_dialect(*name, option);
    // From the URL alone: offline mode must not need the database, nor create a SQLite file.
    if (auto url = context.database_url()) return db::Dialect(db::parse_database_url(*url).backend);
    return context.has_database() ? context.database().dialect() : db::Dialect(db::Backend::sqlite);
}

Current current(Context& context) {
    std::vector<std::string> warnings;
    Migrator migrator = migrator_of(context, warnings);
    return current_of(migrator, std::move(warnings));
}

Current stamp(Context& context, const std::string& target, bool purge) {
    std::vector<std::string> warnings;
    Migrator migrator = migrator_of(context, warnings);
    migrator.stamp(target, purge);
    return current_of(migrator, std::move(warnings));
}

Listing history(Context& context, const std::string& range, bool verbose) {
    std::vector<std::string> current;
    if (range_needs_current(range)) current = Migrator(context.database(), context.graph()).current();
    const RevisionGraph& graph = context.graph();
    return {history_revisions(graph, range, current), migrate::history(graph, range, current, verbose)};
}

Listing heads(Context& context, bool verbose) {
    const RevisionGraph& graph = context.graph();
    return {graph.heads(), migrate::heads(graph, verbose)};
}

std::vector<std::string> branches(Context& context) { return migrate::branches(context.graph()); }

Shown show(Context& context, const std::string& revision) {
    const RevisionGraph& graph = context.graph();
    return {graph.get(graph.resolve_revision(revision)), migrate::show(graph, revision)};
}

Revision revision(Context& context, const std::string& message) { return create_revision(context.graph(), message); }

Autogenerated autogenerate_revision(Context& context, const schema::Schema& declared, const std::string& message,
                                    bool allow_empty) {
    return autogenerate(context.database(), context.graph(), declared, message, allow_empty);
}

Revision merge(Context& context, const std::vector<std::string>& revisions, const std::string& message) {
    return create_merge(context.graph(), revisions, message);
}

std::vector<std::string> check(Context& context, const schema::Schema& declared) {
    return migrate::check(context.database(), context.graph(), declared);
}

schema::Schema reflect(Context& context) {
    auto lease = context.database().acquire();
    return db::reflect(*lease, engine_tables());
}

}  // namespace command
}  // namespace pangeo_forge::migrate
