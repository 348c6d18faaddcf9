#include "pangeo_forge/api/service.hpp"

#include "pangeo_forge/migrate/command.hpp"

namespace pangeo_forge::api {
namespace {

std::unique_ptr<db::Database> open_database(const ServiceOptions& options) {
    db::PoolOptions pool;
    pool.size = options.connections > 0 ? options.connections : 1;
    return std::make_unique<db::Database>(options.database_url, pool);
}

}  // namespace

Service::Service(const ServiceOptions& options)
    : Service(open_database(options), nullptr, migrate::load_migrations(options.migrations),
              options.api_keys ? ApiKeys(*options.api_keys) : ApiKeys::from_environment(), options.log,
              options.dispatch, options.github_app) {}

Service::Service(db::Database& database, migrate::RevisionGraph graph, ApiKeys keys, Log log,
                 orchestrator::DispatchPolicy dispatch, Handler github_app)
    : Service(nullptr, &database, std::move(graph), std::move(keys), std::move(log), dispatch, std::move(github_app)) {}

Service::Service(std::unique_ptr<db::Database> owned, db::Database* borrowed, migrate::RevisionGraph graph,
                 ApiKeys keys, Log log, orchestrator::DispatchPolicy dispatch, Handler github_app)
    : owned_(std::move(owned)),
      database_(owned_ ? *owned_ : *borrowed),
      graph_(std::move(graph)),
      orchestrator_(database_, graph_, dispatch),
      router_(orchestrator_, std::move(keys), std::move(log), std::move(github_app)) {}

Service::~Service() = default;

}  // namespace pangeo_forge::api
