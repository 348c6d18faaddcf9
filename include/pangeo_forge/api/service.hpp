#pragma once
// The API over a database, wired once for every face that serves it (`pangeo-forge serve`,
// `pangeo-forge api`, the Python module): the database, the revision graph, the
// Orchestrator checked against that graph, and the Router over the Orchestrator, opened in
// that order and closed in reverse.
//
// Throws what its parts throw on opening: ConfigError (a bad URL), DatabaseError (cannot
// connect), MigrationError (the database is not at the head of the migrations).
// Thread safety: as the parts are; orchestrator() and router() may be used from several
// threads at once. Not copyable: the parts refer to each other.

#include <cstddef>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "pangeo_forge/api/router.hpp"
#include "pangeo_forge/db/database.hpp"
#include "pangeo_forge/migrate/graph.hpp"
#include "pangeo_forge/orchestrator/orchestrator.hpp"

namespace pangeo_forge::api {

struct ServiceOptions {
    std::string database_url = db::default_database_url;
    std::filesystem::path migrations;  // empty: the bundled migrations
    std::size_t connections = 1;       // the pool's size: as many as requests served at once
    std::optional<std::vector<std::string>> api_keys;  // none: PANGEO_FORGE_API_KEY
    Log log;                                           // the Router's log
    orchestrator::DispatchPolicy dispatch;             // the run queue's attempts and sweep
    Handler github_app;                                // the GitHub App's routes; none: they answer 503
};

class Service {
public:
    // Opens a database of its own at options.database_url.
    explicit Service(const ServiceOptions& options);
    // Over a database the caller owns, which must outlive the Service.
    Service(db::Database& database, migrate::RevisionGraph graph, ApiKeys keys = ApiKeys(), Log log = {},
            orchestrator::DispatchPolicy dispatch = {}, Handler github_app = {});
    ~Service();
    Service(const Service&) = delete;
    Service& operator=(const Service&) = delete;

    db::Database& database() { return database_; }
    const migrate::RevisionGraph& graph() const { return graph_; }
    orchestrator::Orchestrator& orchestrator() { return orchestrator_; }
    const Router& router() const { return router_; }

private:
    // One of `owned` and `borrowed`.
    Service(std::unique_ptr<db::Database> owned, db::Database* borrowed, migrate::RevisionGraph graph, ApiKeys keys,
            Log log, orchestrator::DispatchPolicy dispatch, Handler github_app);

    std::unique_ptr<db::Database> owned_;
    db::Database& database_;
    migrate::RevisionGraph graph_;
    orchestrator::Orchestrator orchestrator_;
    Router router_;
};

}  // namespace pangeo_forge::api
