// A worker embedded in a C++ program: the bakery's queued runs, executed by a function of
// the program, against an in-process orchestrator over a SQLite file (DATABASE_URL, else
// ./embedded_worker.db). Against a server, drive the worker with a client::Client instead.

#include <pangeo_forge/pangeo_forge.hpp>
#include <pangeo_forge/worker/worker.hpp>

#include <iostream>
#include <stdexcept>

using namespace pangeo_forge;
using nlohmann::json;

int main() try {
    db::Database database(db::database_url_from_environment("sqlite:///embedded_worker.db"));
    auto migrations = migrate::load_migrations();
    migrate::Migrator(database, migrations).upgrade("head");
    orchestrator::Orchestrator forge(database, migrations);

    std::int64_t bakery = 0;
    for (const auto& existing : forge.bakeries()) {
        if (existing.name == "example-bakery") bakery = existing.id;
    }
    if (bakery == 0) {
        bakery = forge.create(model::decode<model::BakeryCreate>(
                                  json{{"region", "local"}, {"name", "example-bakery"}, {"description", "in-process"}}))
                     .id;
    }
    auto feedstock = forge.create(model::decode<model::FeedstockCreate>(json{{"spec", "pangeo-forge/gpcp-feedstock"}})).id;
    for (const char* recipe : {"gpcp", "gpcp-daily"}) {
        forge.create(model::decode<model::RecipeRunCreate>(
            json{{"recipe_id", recipe}, {"bakery_id", bakery}, {"feedstock_id", feedstock}, {"head_sha", "035ee3e8"},
                 {"version", "1.0"}, {"started_at", "2023-01-01T00:00:00Z"}}));
    }

    worker::WorkerOptions options;
    options.bakery = "example-bakery";
    options.once = true;  // return when nothing is queued
    options.concurrency = 2;
    options.storage.public_url_template = "https://data.example.org/{path}";
    options.log = [](const std::string& line) { std::cout << line << std::endl; };
    // Stands for the real work; it checks the token between steps and gives up when told.
    options.function = [](const worker::RunContext& context, const worker::StopToken& stop) {
        worker::ExecutorResult result;
        for (int step = 0; step < 3; ++step) {
            if (stop.wait_for(std::chrono::milliseconds(50))) {
                result.outcome = orchestrator::Outcome::released;
                return result;
            }
        }
        if (context.recipe_run().recipe_id == "gpcp-daily") throw std::runtime_error("no daily inputs in this example");
        return result;  // success, at context.dataset_url
    };
    auto summary = worker::Worker(forge, options).run();
    std::cout << summary.claimed << " claimed, " << summary.succeeded << " succeeded, " << summary.failed << " failed\n";
    return 0;
} catch (const std::exception& error) {
    std::cerr << "error: " << error.what() << "\n";
    return 1;
}
