// Database (a pool on one DATABASE_URL) and Migrations (the revision history and the
// commands that move a database along it), for Python.

#include <pybind11/functional.h>
#include <pybind11/stl.h>
#include <pybind11/stl/filesystem.h>

#include "bindings.hpp"
#include "conversions.hpp"
#include "pangeo_forge/db/reflect.hpp"
#include "pangeo_forge/error.hpp"
#include "pangeo_forge/migrate/autogenerate.hpp"
#include "pangeo_forge/migrate/command.hpp"
#include "pangeo_forge/migrate/migrator.hpp"
#include "pangeo_forge/model/schema.hpp"
#include "python_types.hpp"

namespace pangeo_forge::python {
namespace {

using release_gil = py::call_guard<py::gil_scoped_release>;

std::chrono::milliseconds milliseconds(double seconds, const char* name) {
    constexpr double a_year = 365.0 * 24 * 3600;
    if (!(seconds >= 0 && seconds <= a_year)) {
        throw py::value_error(std::string(name) + " must be a number of seconds from 0 to a year");
    }
    return std::chrono::milliseconds(static_cast<std::int64_t>(seconds * 1000));
}

std::unique_ptr<db::Database> open_database(const std::optional<std::string>& url, std::size_t pool_size,
                                            double acquire_timeout, double busy_timeout) {
    if (pool_size == 0) throw py::value_error("pool_size must be 1 or more");
    db::PoolOptions options{pool_size, milliseconds(acquire_timeout, "acquire_timeout"),
                            milliseconds(busy_timeout, "busy_timeout")};
    std::string chosen = url ? *url : db::database_url_from_environment(db::default_database_url);
    py::gil_scoped_release unlocked;  // connecting may wait on the network
    return std::make_unique<db::Database>(chosen, options);
}

namespace command = migrate::command;

// The SQL script of upgrade_sql() and downgrade_sql(). A bad dialect name is a ValueError,
// as a bad argument is in Python.
std::string offline_sql(const Migrations& m, migrate::StepReport::Direction direction, const std::string& start,
                        const std::string& target, const std::optional<std::string>& dialect) {
    auto context = m.context();
    std::optional<db::Dialect> chosen;
    try {
        chosen = command::offline_dialect(context, dialect, "dialect");
    } catch (const ConfigError& error) {
        throw py::value_error(error.what());
    }
    return command::offline_sql(context, direction, {start, target}, *chosen);
}

schema::Schema declared_schema(const py::object& schema) {
    if (schema.is_none()) return model::schema();
    return schema::schema_from_json(to_json_value(schema, "schema"));
}

std::vector<migrate::Revision> revisions(const migrate::RevisionGraph& graph, const std::vector<std::string>& ids) {
    std::vector<migrate::Revision> out;
    for (const auto& id : ids) out.push_back(graph.get(id));
    return out;
}

// The progress callback runs on the thread doing the migration, without the GIL: it takes
// the GIL for the Python call only.
// The keyword arguments of a run on a database in use, as `db upgrade` takes them; what is left
// out comes from the URL, then the environment (command::LiveSettings).
command::LiveSettings live_settings(std::optional<std::string> lock_timeout, std::optional<int> lock_retries,
                                    std::optional<std::string> statement_timeout, bool online) {
    command::LiveSettings settings;
    settings.lock_timeout = std::move(lock_timeout);
    if (lock_retries) settings.lock_retries = std::to_string(*lock_retries);
    settings.statement_timeout = std::move(statement_timeout);
    settings.online = online;
    settings.names = command::LiveSettings::Names::keywords;
    return settings;
}

const std::string live_arguments_doc =
    "lock_timeout ('2s', '500ms', '0' for none), lock_retries and statement_timeout bound how it waits for "
    "locks on a database in use; online=False runs every operation as written (README, 'Migrating a live database').";
const std::string upgrade_doc = "Applies revisions up to target (head, heads, +N, an id, label@head); each in its own "
                                "transaction. progress(step) is called after each. " + live_arguments_doc;
const std::string downgrade_doc = "Undoes revisions down to target (base, -N, an id). " + live_arguments_doc;

migrate::Progress progress_of(const std::optional<std::function<void(migrate::StepReport)>>& callback) {
    if (!callback) return {};
    return [callback](const migrate::StepReport& step) {
        py::gil_scoped_acquire locked;
        (*callback)(step);
    };
}

std::vector<std::string> operation_lines(const std::vector<migrate::Operation>& operations) {
    std::vector<std::string> lines;
    for (const auto& operation : operations) lines.push_back(migrate::describe(operation));
    return lines;
}

void bind_revision(py::module_& module) {
    using migrate::Revision;
    py::class_<Revision>(module, "Revision", "One revision of the migration history (a revision file).")
        .def_readonly("id", &Revision::id)
        .def_readonly("down_revisions", &Revision::down_revisions, "Empty for a base; two or more for a merge.")
        .def_readonly("branch_labels", &Revision::branch_labels)
        .def_readonly("depends_on", &Revision::depends_on)
        .def_readonly("message", &Revision::message)
        .def_readonly("create_date", &Revision::create_date)
        .def_readonly("notes", &Revision::notes, "Notes for the reviewer (autogenerate writes them).")
        .def_readonly("checksum", &Revision::checksum, "SHA-256 of the file, in hex.")
        .def_property_readonly(
            "path", [](const Revision& r) { return r.path.empty() ? py::none() : py::cast(r.path.string()); })
        .def_property_readonly(
            "upgrade", [](const Revision& r) { return operation_lines(r.upgrade); }, "Its upgrade operations, described.")
        .def_property_readonly(
            "downgrade", [](const Revision& r) { return operation_lines(r.downgrade); },
            "Its downgrade operations, described.")
        .def("to_dict", [](const Revision& r) { return from_json_value(nlohmann::json::parse(migrate::revision_file_text(r))); },
             "The revision file's content.")
        .def("__eq__", [](const Revision& a, const Revision& b) { return a == b; }, py::is_operator())
        .def("__repr__", [](const Revision& r) { return "Revision(id='" + r.id + "', message='" + r.message + "')"; });

    using migrate::StepReport;
    py::class_<StepReport>(module, "MigrationStep", "One revision applied or undone.")
        .def_property_readonly("direction",
                               [](const StepReport& s) {
                                   return s.direction == StepReport::Direction::upgrade ? "upgrade" : "downgrade";
                               })
        .def_readonly("revision", &StepReport::revision)
        .def_readonly("message", &StepReport::message)
        .def_readonly("heads_before", &StepReport::heads_before)
        .def_readonly("heads_after", &StepReport::heads_after)
        .def_property_readonly("duration_ms", [](const StepReport& s) { return s.duration.count(); })
        .def("__str__", [](const StepReport& s) { return migrate::describe(s); })
        .def("__repr__", [](const StepReport& s) { return "<MigrationStep " + migrate::describe(s) + ">"; });
}

}  // namespace

void bind_database(py::module_& module) {
    module.attr("DEFAULT_DATABASE_URL") = db::default_database_url;
    py::class_<db::Database>(module, "Database",
                             "A pool of connections to one database URL, shared by any number of threads.")
        .def(py::init(&open_database), py::arg("url") = py::none(), py::kw_only(), py::arg("pool_size") = 4,
             py::arg("acquire_timeout") = 30.0, py::arg("busy_timeout") = 5.0,
             "Connects at once. url: a DATABASE_URL (default: $DATABASE_URL, else DEFAULT_DATABASE_URL).")
        .def_property_readonly("url", [](const db::Database& d) { return db::redacted(d.url()); },
                               "The URL, password hidden.")
        .def_property_readonly("backend", [](const db::Database& d) { return std::string(db::to_string(d.backend())); })
        .def_property_readonly("pool_size", &db::Database::capacity)
        .def_property_readonly("open_connections", &db::Database::open_connections)
        .def(
            "server_version", [](db::Database& d) { return d.acquire()->server_version(); }, release_gil(),
            "'SQLite 3.40.1', 'PostgreSQL 15.8'.")
        .def(
            "execute", [](db::Database& d, const std::string& sql) { d.acquire()->execute(sql); }, py::arg("sql"),
            release_gil(), "Runs one statement that takes no parameters and returns no rows (DDL, PRAGMA).")
        .def(
            "tables",
            [](db::Database& d) { return db::table_names(*d.acquire(), migrate::engine_tables()); }, release_gil(),
            "The application's tables (the migration engine's own left out).")
        .def(
            "reflect",
            [](db::Database& d) {
                nlohmann::json schema;
                {
                    py::gil_scoped_release unlocked;
                    command::Context context(nullptr, &d);
                    schema = command::reflect(context);
                }
                return from_json_value(schema);
            },
            "The database's tables as schema JSON (what `pangeo-forge db reflect` prints).")
        .def("__repr__", [](const db::Database& d) { return "<Database " + db::redacted(d.url()) + ">"; });
}

void bind_migrations(py::module_& module) {
    bind_revision(module);
    module.def("bundled_migrations", [] { return migrate::bundled_migrations().string(); },
               "The folder of the migrations that ship with pangeo_forge.");
    module.def("declared_schema", [] { return from_json_value(model::schema()); },
               "The tables pangeo_forge declares (the schema at head), as schema JSON.");

    py::class_<Migrations>(module, "Migrations",
                           "The migration history (revision files) and the commands that move a database along it.")
        .def(py::init(&Migrations::open), py::arg("database") = py::none(), py::arg("folder") = py::none(),
             py::keep_alive<1, 2>(),
             "database: the Database to migrate (None: history only). folder: the revision files "
             "(default: the bundled migrations).")
        .def_property_readonly("folder", [](const Migrations& m) { return m.graph()->folder().string(); })
        .def_property_readonly("database", [](const Migrations& m) { return m.database; },
                               py::return_value_policy::reference)
        .def(
            "history",
            [](const Migrations& m, const std::string& range) {
                auto context = m.context();
                return revisions(context.graph(), command::history(context, range).revisions);
            },
            py::arg("range") = "", release_gil(),
            "The revisions, newest first; range 'START:END' as `db history -r` takes it.")
        .def("heads",
             [](const Migrations& m) {
                 auto context = m.context();
                 return revisions(context.graph(), command::heads(context).revisions);
             })
        .def("revision", [](const Migrations& m, const std::string& spec) {
                auto context = m.context();
                const migrate::RevisionGraph& graph = context.graph();
                return graph.get(graph.resolve_revision(spec));
            },
             py::arg("spec"), "One revision from an id, a unique id prefix or a branch label.")
        .def("current", [](const Migrations& m) {
                auto context = m.context();
                return command::current(context).heads;
            }, release_gil(),
             "The revisions the database is at (empty: never migrated).")
        .def("at_head", [](const Migrations& m) { return m.migrator().at_head(); }, release_gil())
        .def(
            "upgrade",
            [](const Migrations& m, const std::string& target,
               const std::optional<std::function<void(migrate::StepReport)>>& progress,
               std::optional<std::string> lock_timeout, std::optional<int> lock_retries,
               std::optional<std::string> statement_timeout, bool online) {
                auto report = progress_of(progress);
                py::gil_scoped_release unlocked;
                auto context = m.context();
                context.use_live_settings(live_settings(lock_timeout, lock_retries, statement_timeout, online));
                return command::upgrade(context, target, report).steps;
            },
            py::arg("target") = "head", py::arg("progress") = py::none(), py::kw_only(), py::arg("lock_timeout") = py::none(), py::arg("lock_retries") = py::none(),
            py::arg("statement_timeout") = py::none(), py::arg("online") = true,
            upgrade_doc.c_str())
        .def(
            "downgrade",
            [](const Migrations& m, const std::string& target,
               const std::optional<std::function<void(migrate::StepReport)>>& progress,
               std::optional<std::string> lock_timeout, std::optional<int> lock_retries,
               std::optional<std::string> statement_timeout, bool online) {
                auto report = progress_of(progress);
                py::gil_scoped_release unlocked;
                auto context = m.context();
                context.use_live_settings(live_settings(lock_timeout, lock_retries, statement_timeout, online));
                return command::downgrade(context, target, report).steps;
            },
            py::arg("target"), py::arg("progress") = py::none(), py::kw_only(), py::arg("lock_timeout") = py::none(), py::arg("lock_retries") = py::none(),
            py::arg("statement_timeout") = py::none(), py::arg("online") = true,
            downgrade_doc.c_str())
        .def("stamp", [](const Migrations& m, const std::string& target, bool purge) {
                auto context = m.context();
                command::stamp(context, target, purge);
            },
             py::arg("target"), py::arg("purge") = false, release_gil(),
             "Records target in the version table without migrating.")
        .def("applied",
             [](const Migrations& m) {
                 std::vector<py::dict> records;
                 for (const auto& record : m.migrator().applied()) {
                     records.push_back(py::dict(py::arg("revision") = record.revision, py::arg("checksum") = record.checksum,
                                                py::arg("applied_at") = record.applied_at,
                                                py::arg("duration_ms") = record.duration_ms));
                 }
                 return records;
             },
             "What the engine recorded of each applied revision: checksum, time, duration.")
        .def("changed_files", [](const Migrations& m) { return m.migrator().changed_files(); }, release_gil(),
             "One line per applied revision whose file changed since.")
        .def(
            "check",
            [](const Migrations& m, py::object schema) {
                auto declared = declared_schema(schema);
                py::gil_scoped_release unlocked;
                auto context = m.context();
                return command::check(context, declared).differences;
            },
            py::arg("schema") = py::none(),
            "What keeps the database from matching the declared schema (default: pangeo_forge's tables); "
            "empty when it matches.")
        .def(
            "create_revision",
            [](Migrations& m, const std::string& message, bool autogenerate, bool allow_empty, py::object schema,
               std::optional<std::string> head, bool splice, std::vector<std::string> branch_labels,
               std::vector<std::string> depends_on, std::optional<std::string> rev_id) -> std::optional<migrate::Revision> {
                std::optional<migrate::Revision> written;
                auto declared = declared_schema(schema);
                migrate::RevisionOptions options{std::move(head), splice, std::move(branch_labels),
                                                 std::move(depends_on), std::move(rev_id)};
                {
                    py::gil_scoped_release unlocked;
                    auto context = m.context();
                    written = autogenerate ? command::autogenerate_revision(context, declared, message, allow_empty,
                                                                            options)
                                                 .revision
                                           : command::revision(context, message, options);
                }
                m.reload();
                return written;
            },
            py::arg("message"), py::kw_only(), py::arg("autogenerate") = false, py::arg("allow_empty") = false,
            py::arg("schema") = py::none(), py::arg("head") = py::none(), py::arg("splice") = false,
            py::arg("branch_labels") = std::vector<std::string>{}, py::arg("depends_on") = std::vector<std::string>{},
            py::arg("rev_id") = py::none(),
            "Writes a revision file and returns it: on the single head, or on `head` (an id, prefix, branch label, "
            "label@head, 'head', or 'base' for a new base; a revision that is not a head needs splice=True), "
            "with branch_labels, depends_on and its id rev_id as Alembic's options. With autogenerate it holds "
            "what the database lacks of the declared schema, and None is returned (nothing written) when it "
            "lacks nothing, unless allow_empty.")
        .def(
            "merge",
            [](Migrations& m, const std::vector<std::string>& revisions, const std::string& message) {
                auto context = m.context();
                auto written = command::merge(context, revisions, message);
                m.reload();
                return written;
            },
            py::arg("revisions"), py::arg("message"), "Writes a revision that joins several heads.")
        .def(
            "upgrade_sql",
            [](const Migrations& m, const std::string& target, const std::string& start,
               const std::optional<std::string>& dialect) {
                return offline_sql(m, migrate::StepReport::Direction::upgrade, start, target, dialect);
            },
            py::arg("target") = "head", py::kw_only(), py::arg("start") = "base", py::arg("dialect") = py::none(),
            "Offline mode: the SQL script from start to target, without touching a database "
            "(dialect 'sqlite' or 'postgresql'; default: the database's, else sqlite).")
        .def(
            "downgrade_sql",
            [](const Migrations& m, const std::string& target, const std::string& start,
               const std::optional<std::string>& dialect) {
                return offline_sql(m, migrate::StepReport::Direction::downgrade, start, target, dialect);
            },
            py::arg("target") = "base", py::kw_only(), py::arg("start") = "heads", py::arg("dialect") = py::none(),
            "Offline mode: the SQL script that undoes revisions from start down to target.");
}

}  // namespace pangeo_forge::python
